"""``packtrail serve | capture | query | parties``, and the node surviving ``kill -9``.

The commands run in process (typer's runner) against a local store or a real server; the last test
starts ``packtrail serve`` as a subprocess on a free port, captures and queries it over HTTP, kills it
with SIGKILL while a large capture is being stored, restarts it, and checks that every acknowledged
capture is complete and no partial document is visible.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from packtrail.cli import app
from test_api_support import PARTY_A, PARTY_B, document, object_event, sgtin

runner = CliRunner()

KILL_TEST_EVENTS = int(os.environ.get("PACKTRAIL_TEST_KILL_EVENTS", "20000"))
"""Events in the capture the server is killed during (the issue's figure is 100,000; set
``PACKTRAIL_TEST_KILL_EVENTS=100000`` to run it so)."""


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(document(events))
    return path


def _big_document(path: Path, count: int, item: str) -> Path:
    events = [
        object_event(sgtin("4012345", item, i), event_time="2024-03-01T10:00:00.000+01:00")
        for i in range(count)
    ]
    return _write(path, events)


# -- local store -----------------------------------------------------------------------------------


def test_parties_add_and_list(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/p.db"
    code, out, err = run("parties", "add", PARTY_A, "--name", "Alpha Pharma", "--db", db)
    assert code == 0, err
    key = out.strip()
    assert len(key) >= 40 and "not shown again" in err
    code, out, _ = run("parties", "add", PARTY_B, "--name", "Beta Wholesale", "--db", db, "--json")
    assert code == 0 and json.loads(out)["gln"] == PARTY_B
    code, out, _ = run("parties", "list", "--db", db, "--json")
    assert code == 0
    assert sorted(p["gln"] for p in json.loads(out)) == [PARTY_A, PARTY_B]
    code, out, _ = run("parties", "list", "--db", db)
    assert "Alpha Pharma" in out
    code, _, err = run("parties", "add", "4012345000001", "--name", "Bad", "--db", db)
    assert code == 2 and "error:" in err


def test_parties_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/p.db"
    code, out, _ = run("parties", "add", PARTY_A, "--name", "Alpha Pharma", "--db", db)
    key = out.strip()
    from packtrail.store import open_store

    with open_store(db) as store:
        assert store.party_for_api_key(key) is not None
    code, out, err = run("parties", "revoke", key, "--db", db)
    assert code == 0 and out.strip() == "revoked", err
    with open_store(db) as store:
        assert store.party_for_api_key(key) is None
    code, out, err = run("parties", "revoke", key, "--db", db, "--json")
    assert code == 2 and json.loads(out) == {"revoked": False} and "revoked already" in err


def test_api_keys_never_read_as_options() -> None:
    """A key is a command-line argument of ``parties revoke``: none starts with '-' (1 in 64 would)."""
    from packtrail.store.parties import new_key

    assert not any(new_key().startswith("-") for _ in range(2000))


def test_capture_and_query_a_local_store(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/p.db"
    file = _write(tmp_path / "doc.jsonld", [object_event(sgtin("4012345", "011111", i)) for i in range(3)])
    code, out, err = run("capture", str(file), "--db", db, "--json")
    assert code == 0, err
    job = json.loads(out)
    assert (job["captured"], job["success"]) == (3, True)
    code, out, _ = run("capture", str(file), "--db", db)
    assert code == 0 and "3 duplicates" in out
    code, out, _ = run("query", "--db", db, "--epc", sgtin("4012345", "011111", 1), "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["type"] == "EPCISQueryDocument"
    assert [e["epcList"] for e in answer["epcisBody"]["queryResults"]["resultsBody"]["eventList"]] == [
        [sgtin("4012345", "011111", 1)]
    ]
    code, out, _ = run("query", "--db", db, "--bizStep", "shipping", "--limit", "2")
    assert code == 0 and "2 events" in out
    code, out, _ = run("query", "--db", db, "--param", "EQ_bizStep=receiving", "--json")
    assert code == 0 and json.loads(out)["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    code, _, err = run("query", "--db", db, "--param", "GE_eventTime=soon")
    assert code == 2 and "GE_eventTime" in err
    code, _, err = run("query", "--db", db, "--param", "no-equals-sign")
    assert code == 2 and "NAME=VALUE" in err


def test_capture_refusals(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/p.db"
    bad = object_event(sgtin("4012345", "011111", 1))
    bad["action"] = "SOMETIMES"
    file = _write(tmp_path / "bad.jsonld", [bad])
    code, out, _ = run("capture", str(file), "--db", db)
    assert code == 1 and "1 errors" in out
    assert run("capture", str(tmp_path / "missing.jsonld"), "--db", db)[0] == 2
    assert run("capture", str(file))[0] == 2  # neither --to nor --db
    assert run("capture", str(file), "--db", db, "--behaviour", "maybe")[0] == 2
    garbage = tmp_path / "garbage.jsonld"
    garbage.write_bytes(b"{not json")
    code, _, err = run("capture", str(garbage), "--db", db)
    assert code == 2 and "error:" in err


# -- a real server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``packtrail serve`` in a subprocess."""

    def __init__(self, db: str, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable,
            "-c",
            "from packtrail.cli import main; main()",
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.options(f"{self.url}/epcis/", timeout=1).status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                self.kill()
                raise AssertionError(f"packtrail serve did not start: {stderr}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(db URL, party A's key, a folder) for a server the test starts itself."""
    db = f"sqlite:///{tmp_path}/node.db"
    code, out, _ = run("parties", "add", PARTY_A, "--name", "Alpha Pharma", "--db", db)
    assert code == 0
    yield db, out.strip(), tmp_path


def _events_of(url: str, key: str, item: str) -> list[dict[str, Any]]:
    code, out, err = run(
        "query",
        "--url",
        url,
        "--key",
        key,
        "--param",
        f"MATCH_epc=urn:epc:idpat:sgtin:4012345.{item}.*",
        "--json",
    )
    assert code == 0, err
    events: list[dict[str, Any]] = json.loads(out)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return events


def test_serve_capture_query_and_survive_kill_9(served: tuple[str, str, Path]) -> None:
    db, key, folder = served
    server = Server(db, _free_port())
    try:
        small = _write(
            folder / "small.jsonld", [object_event(sgtin("4012345", "011111", i)) for i in range(5)]
        )
        code, out, err = run(
            "capture", str(small), "--to", server.url, "--json", env={"PACKTRAIL_API_KEY": key}
        )
        assert code == 0, err
        assert json.loads(out)["captured"] == 5
        code, _, err = run("capture", str(small), "--to", server.url, "--key", "wrong")
        assert code == 2 and "401" in err
        code, out, err = run(
            "query", "--url", server.url, "--key", key, "--epc", sgtin("4012345", "011111", 3), "--json"
        )
        assert code == 0, err
        assert len(json.loads(out)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1
        code, out, _ = run(
            "query", "--url", server.url, "--key", key, "--bizStep", "shipping", "--limit", "4"
        )
        assert code == 0 and "4 events" in out

        big = _big_document(folder / "big.jsonld", KILL_TEST_EVENTS, "044444")
        outcome: dict[str, Any] = {}

        def capture_big() -> None:
            try:
                response = httpx.post(
                    f"{server.url}/epcis/capture",
                    content=big.read_bytes(),
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/ld+json"},
                    timeout=600,
                )
                outcome["status"] = response.status_code
            except httpx.HTTPError as error:
                outcome["error"] = repr(error)

        sender = threading.Thread(target=capture_big)
        sender.start()
        saw_running = False
        while sender.is_alive() and not saw_running:
            try:
                jobs = httpx.get(
                    f"{server.url}/epcis/capture", headers={"Authorization": f"Bearer {key}"}, timeout=5
                )
                saw_running = any(job["running"] for job in jobs.json())
            except httpx.HTTPError:
                pass
        server.kill()  # SIGKILL: no shutdown, no flush, mid-capture when saw_running
        sender.join()
    finally:
        server.kill()

    restarted = Server(db, _free_port())
    try:
        assert len(_events_of(restarted.url, key, "011111")) == 5  # acknowledged earlier: all there
        stored = len(_events_of(restarted.url, key, "044444"))
        acknowledged = outcome.get("status") == 202
        assert stored == (KILL_TEST_EVENTS if acknowledged else stored)
        assert stored in (0, KILL_TEST_EVENTS), f"a partial document is visible: {stored} events"
        if saw_running and not acknowledged:
            assert "error" in outcome
    finally:
        restarted.kill()
