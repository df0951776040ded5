"""Real FMD nodes for the node tests: a hub and national systems as subprocesses on free ports.

``start_federation(tmp_path)`` starts ``python -m packtrail.fmd.cli hub …`` and one
``… national --market M …`` per market, each with its own store, all with the test clock
(``--clock-control``) and a federation key, and waits until every national system has
registered with the hub. Clients are created in the stores beforehand with the same code the
``clients add`` command runs. Tests talk to the nodes over HTTP with httpx.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from packtrail.fmd.storage import open_storage
from packtrail.gs1.checkdigit import gs1_check_digit

FEDERATION_KEY = "test-federation-key"
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_gtins = itertools.count(1)


def new_gtin() -> str:
    """A fresh, valid GTIN-14 (one product per test keeps tests independent on shared nodes)."""
    body = f"0950600{os.getpid() % 1000:03d}{next(_gtins):03d}"
    return body + gs1_check_digit(body)


@dataclass
class Node:
    """One node process: its command line, URL, store and log."""

    name: str
    args: list[str]
    url: str
    store: str
    log: Path
    ready_path: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "packtrail.fmd.cli", *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def wait_ready(self, check: Any = None) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            try:
                response = httpx.get(self.url + self.ready_path, timeout=1.0)
                if response.status_code == 200 and (check is None or check(response.json())):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"{self.name} not ready after {STARTUP_SECONDS} s:\n{self.log.read_text()[-3000:]}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """Stop the node abruptly (as a crash would)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@dataclass
class Federation:
    """A running hub and national systems, with an API key per client."""

    hub: Node
    nationals: dict[str, Node]
    keys: dict[str, str] = field(default_factory=dict)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def node(self, name: str) -> Node:
        return self.hub if name == "hub" else self.nationals[name]

    def post(self, node: str, path: str, body: Any = None, *, key: str | None = None) -> httpx.Response:
        headers = {} if key is None else {"authorization": f"Bearer {self.keys[key]}"}
        return self.http.post(self.node(node).url + path, json=body, headers=headers)

    def get(self, node: str, path: str, *, key: str | None = None, **params: Any) -> httpx.Response:
        headers = {} if key is None else {"authorization": f"Bearer {self.keys[key]}"}
        return self.http.get(self.node(node).url + path, headers=headers, params=params)

    def set_clock(self, iso: str) -> None:
        for name in ["hub", *self.nationals]:
            assert self.post(name, "/admin/clock", {"now": iso}).status_code == 200

    def restart(self, market: str) -> None:
        node = self.nationals[market]
        node.start()
        node.wait_ready(lambda body: body["registered"])

    def stop(self) -> None:
        for node in [*self.nationals.values(), self.hub]:
            node.stop()
        self.http.close()


def add_client(store: str, key_name: str, keys: dict[str, str], **fields: Any) -> None:
    storage = open_storage(store, role=None)
    try:
        _, key = storage.add_client(**fields)
    finally:
        storage.close()
    keys[key_name] = key


def start_federation(
    tmp: Path,
    markets: Sequence[str] = ("DE", "FR"),
    *,
    stores: dict[str, str] | None = None,
    clients: Sequence[tuple[str, str, dict[str, Any]]] = (),
) -> Federation:
    """Start a hub and one national system per market; ``clients`` are ``(node, key name, fields)``."""
    stores = dict(stores or {})
    for name in ["hub", *markets]:
        stores.setdefault(name, f"sqlite:///{tmp / (name.lower() + '.db')}")
    keys: dict[str, str] = {}
    for node_name, key_name, fields in clients:
        add_client(stores[node_name], key_name, keys, **fields)
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    common = ["--clock-control", "--federation-key", FEDERATION_KEY]
    hub = Node(
        "hub",
        ["hub", "--store", stores["hub"], "--port", str(hub_port), *common],
        hub_url,
        stores["hub"],
        tmp / "hub.log",
        "/hub/v1/nodes",
    )
    nationals: dict[str, Node] = {}
    for market in markets:
        port = free_port()
        nationals[market] = Node(
            market,
            [
                "national",
                "--market",
                market,
                "--store",
                stores[market],
                "--hub",
                hub_url,
                "--port",
                str(port),
                *common,
            ],
            f"http://127.0.0.1:{port}",
            stores[market],
            tmp / f"{market.lower()}.log",
            "/fmd/v1/health",
        )
    federation = Federation(hub, nationals, keys)
    try:
        hub.start()
        for node in nationals.values():
            node.start()
        hub.wait_ready()
        for node in nationals.values():
            node.wait_ready(lambda body: body["registered"])
    except BaseException:
        federation.stop()
        raise
    return federation


@contextlib.contextmanager
def federation_running(tmp: Path, **kwargs: Any) -> Iterator[Federation]:
    federation = start_federation(tmp, **kwargs)
    try:
        yield federation
    finally:
        federation.stop()


STANDARD_CLIENTS: list[tuple[str, str, dict[str, Any]]] = [
    ("hub", "mah", {"role": "manufacturer", "name": "Examplin Pharma", "client_id": "mah-1"}),
    ("hub", "mah2", {"role": "manufacturer", "name": "Other Pharma", "client_id": "mah-2"}),
    ("DE", "apo1", {"role": "pharmacy", "name": "Apotheke am Markt", "client_id": "apo-1", "location": "L1"}),
    ("DE", "apo2", {"role": "pharmacy", "name": "Stern-Apotheke", "client_id": "apo-2", "location": "L2"}),
    ("DE", "gh", {"role": "wholesaler", "name": "Grosshandel Nord", "client_id": "gh-1", "location": "W1"}),
    ("DE", "nca", {"role": "authority", "name": "BfArM", "client_id": "bfarm", "location": "BONN"}),
    ("DE", "mah_de", {"role": "manufacturer", "name": "Examplin Pharma", "client_id": "mah-1"}),
    ("DE", "mah2_de", {"role": "manufacturer", "name": "Other Pharma", "client_id": "mah-2"}),
    (
        "FR",
        "pharma_fr",
        {"role": "pharmacy", "name": "Pharmacie du Centre", "client_id": "ph-1", "location": "P1"},
    ),
]
"""The clients most node tests use: manufacturers on the hub, end users and the authority in DE and FR."""


def upload(
    federation: Federation,
    serials: Sequence[str],
    *,
    gtin: str,
    batch: str = "B1",
    expiry: str = "281231",
    markets: Sequence[str] = ("DE",),
    key: str = "mah",
) -> None:
    """Upload master data (if new) and a batch through the hub; every market must have taken it."""
    product = federation.post(
        "hub",
        "/hub/v1/products",
        {"productCode": gtin, "name": "Examplin 10 mg", "markets": list(markets)},
        key=key,
    )
    assert product.status_code in (200, 201), product.text
    answer = federation.post(
        "hub",
        "/hub/v1/batches",
        {"productCode": gtin, "batch": batch, "expiry": expiry, "serials": list(serials)},
        key=key,
    )
    assert answer.status_code == 201, answer.text
    assert set(answer.json()["markets"].values()) == {"delivered"}


def pack(gtin: str, serial: str, trx: str, *, batch: str = "B1", expiry: str = "281231") -> dict[str, str]:
    return {"productCode": gtin, "serialNumber": serial, "batch": batch, "expiry": expiry, "clientTrxId": trx}


_trx = itertools.count(1)


def trx() -> str:
    return f"trx-{os.getpid()}-{next(_trx)}"


_T = TypeVar("_T")


def eventually(read: Callable[[], _T], done: Callable[[_T], bool]) -> _T:
    """Read until ``done`` holds (about 5 s at most): alerts reach the hub through an outbox, after the
    answer."""
    for _ in range(250):
        value = read()
        if done(value):
            return value
        time.sleep(0.02)
    return value


def fields(gtin: str, serial: str, **kw: str) -> dict[str, str]:
    """A pack's fields for a bulk list (no clientTrxId: the job gives each pack its own)."""
    return {k: v for k, v in pack(gtin, serial, "", **kw).items() if k != "clientTrxId"}


def submit(fed: Federation, packs: list[dict[str, Any]], key: str = "apo1", trx_id: str = "") -> Any:
    """Submit a mixed bulk (G195) to DE; its 202 answer."""
    response = fed.post("DE", "/fmd/v1/packs/G195", {"clientTrxId": trx_id or trx(), "packs": packs}, key=key)
    assert response.status_code == 202, response.text
    return response.json()


def fetch(fed: Federation, bulk_id: str, key: str = "apo1", code: str = "G196") -> Any:
    """Fetch a bulk's results from DE (G196 unless ``code`` says otherwise)."""
    return fed.post("DE", f"/fmd/v1/packs/{code}", {"bulkId": bulk_id}, key=key)


def wait_done(fed: Federation, bulk_id: str, key: str = "apo1") -> dict[str, Any]:
    """Fetch until the bulk is done (NMVS_FI_BAT_01 meanwhile); its results."""
    for _ in range(400):
        body: dict[str, Any] = fetch(fed, bulk_id, key).json()
        if body["status"] == "done":
            return body
        assert body["returnCode"] == "NMVS_FI_BAT_01", body
        time.sleep(0.025)
    raise AssertionError(f"bulk {bulk_id} not done: {body}")
