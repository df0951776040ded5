"""EU-18 on one node's store: the audit chain detects edits and removals, the purge respects retention,
the ``packtrail fmd`` commands (``clients add``, ``audit verify``, ``audit purge``) work on a store,
and what other nodes and clients send a national system never crashes it.

These run a :class:`~packtrail.fmd.national.NationalSystem` in-process on a SQLite file (the same code a
node process runs) and the command line as a subprocess.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from packtrail.fmd import audit
from packtrail.fmd import schema as t
from packtrail.fmd.clock import Clock, to_us
from packtrail.fmd.model import Client, Role
from packtrail.fmd.national import NationalSystem
from packtrail.fmd.storage import open_storage
from packtrail.fmd.upload import BatchUpload, ProductUpload, accept_batch, accept_product
from packtrail.fmd.wire import batch_json, product_json

GTIN = "09506000134352"
LONG_LIVED = "04012345000016"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MAH = Client("mah-1", Role.MANUFACTURER, "M1", "ops")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "packtrail.fmd.cli", *args], capture_output=True, text=True, timeout=60
    )


def deliver(system: NationalSystem, product_code: str, batch: str, expiry: str, serials: list[str]) -> None:
    """What the hub delivers: master data, then the batch with its serials."""
    now = system.clock.now()
    upload = ProductUpload.from_json({"productCode": product_code, "name": "Examplin", "markets": ["DE"]})
    product = accept_product(upload, None, MAH, now)
    accepted = accept_batch(
        BatchUpload.from_json(
            {"productCode": product_code, "batch": batch, "expiry": expiry, "serials": serials}
        ),
        product,
        None,
        set(),
        MAH,
        now,
    )
    for n, (kind, data) in enumerate(
        [
            ("product", {"product": product_json(product)}),
            ("batch", {"batch": batch_json(accepted.batch), "serials": serials}),
        ]
    ):
        answer = system.deliver_in({"deliveryId": f"{product_code}-{n}", "kind": kind, "data": data})
        assert answer.status == 200, answer.body


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[NationalSystem, Client]]:
    storage = open_storage(f"sqlite:///{tmp_path / 'de.db'}", role="national", market="DE")
    client, _ = storage.add_client(role="pharmacy", name="Apotheke", client_id="apo-1", location="L1")
    clock = Clock()
    clock.set(T0)
    system = NationalSystem(storage, clock=clock)
    try:
        yield system, client
    finally:
        storage.close()


def transact(system: NationalSystem, client: Client, code: str, serial: str, trx: str, **kw: str) -> Any:
    body = {
        "productCode": GTIN,
        "serialNumber": serial,
        "batch": "B1",
        "expiry": "270131",
        "clientTrxId": trx,
        **kw,
    }
    return asyncio.run(system.transact(code, body, client)).body


def test_audit_verify_names_the_first_edited_or_removed_entry(node: tuple[NationalSystem, Client]) -> None:
    system, apo = node
    deliver(system, GTIN, "B1", "270131", ["S1", "S2", "S3"])
    for n, (code, serial) in enumerate([("G110", "S1"), ("G120", "S1"), ("G110", "X"), ("G120", "S2")]):
        transact(system, apo, code, serial, f"t{n}")
    store = system.storage.url
    with system.storage.read() as conn:
        assert audit.verify(conn).ok and audit.verify(conn).checked == 6
    intact = cli("audit", "verify", "--store", store)
    assert intact.returncode == 0 and "intact: 6 entries" in intact.stdout

    engine = system.storage.engine
    with engine.begin() as conn:
        conn.execute(sa.update(t.audit).where(t.audit.c.seq == 4).values(actor="mallory"))
    edited = cli("audit", "verify", "--store", store)
    assert edited.returncode == 1 and "entry 4" in edited.stdout and "edited" in edited.stdout
    with engine.begin() as conn:
        conn.execute(sa.update(t.audit).where(t.audit.c.seq == 4).values(actor="apo-1"))
        assert audit.verify(conn).ok
    with engine.begin() as conn:
        conn.execute(sa.update(t.audit).where(t.audit.c.seq == 5).values(return_code="NMVS_SUCCESS"))
        assert (audit.verify(conn).bad_seq, "edited" in str(audit.verify(conn).problem)) == (5, True)
        conn.rollback()

    with engine.begin() as conn:
        removed = conn.execute(sa.select(t.audit).where(t.audit.c.seq == 3)).mappings().one()
        conn.execute(sa.delete(t.audit).where(t.audit.c.seq == 3))
    gap = cli("audit", "verify", "--store", store)
    assert gap.returncode == 1 and "entry 3 is missing" in gap.stdout
    with engine.begin() as conn:
        conn.execute(sa.insert(t.audit).values(**removed))
        conn.execute(sa.delete(t.audit).where(t.audit.c.seq == 6))  # cut the newest entry
        result = audit.verify(conn)
        assert (result.bad_seq, "head" in str(result.problem)) == (6, True)
        conn.rollback()
    with engine.begin() as conn:  # rewrite an entry and its hash: the next entry no longer follows
        row = dict(conn.execute(sa.select(t.audit).where(t.audit.c.seq == 2)).mappings().one())
        row["actor"] = "mallory"
        row["digest"] = audit.digest_of(audit.content_of(row))
        conn.execute(
            sa.update(t.audit).where(t.audit.c.seq == 2).values(digest=row["digest"], actor="mallory")
        )
        result = audit.verify(conn)
        assert (result.bad_seq, "hash chain" in str(result.problem)) == (2, True)
        conn.rollback()


def test_purge_keeps_every_entry_until_expiry_plus_1_year_and_upload_plus_5_years(
    node: tuple[NationalSystem, Client],
) -> None:
    """Entries on a pack expiring 2027-01-31, uploaded 2026-03-01, are kept until 2031-03-01 (upload + 5 y
    is later); entries on a pack expiring 2040-12-31 until 2041-12-31. A purge empties an entry's content
    but the chain still verifies; a purged entry younger than its retention is caught."""
    system, apo = node
    deliver(system, GTIN, "B1", "270131", ["S1"])
    deliver(system, LONG_LIVED, "L1", "401231", ["S9"])
    transact(system, apo, "G120", "S1", "a")
    transact(system, apo, "G110", "S9", "b", productCode=LONG_LIVED, batch="L1", expiry="401231")
    engine = system.storage.engine

    def alive() -> set[tuple[str | None, str | None]]:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.audit.c.action, t.audit.c.product_code).where(t.audit.c.purged_us.is_(None))
            )
            return {(r.action, r.product_code) for r in rows}

    before = alive()
    with system.storage.write() as conn:
        assert audit.purge(conn, datetime(2031, 2, 28, tzinfo=UTC)) == 0
    assert alive() == before
    purged = cli("audit", "purge", "--store", system.storage.url, "--now", "2031-03-02T00:00:00+00:00")
    # Master-data entries (no pack, no expiry) are kept five years; the long-lived pack's entries stay.
    assert purged.returncode == 0 and "purged 4 entries" in purged.stdout
    assert alive() == {("UPLOAD_BATCH", LONG_LIVED), ("G110", LONG_LIVED)}
    with engine.connect() as conn:
        assert audit.verify(conn).ok and audit.verify(conn).purged == 4
        young = conn.execute(sa.select(t.audit.c.seq).where(t.audit.c.action == "G110")).scalar_one()
    with engine.begin() as conn:
        conn.execute(sa.update(t.audit).where(t.audit.c.seq == young).values(purged_us=to_us(T0), actor=None))
        result = audit.verify(conn)
        assert (result.bad_seq, "before its retention" in str(result.problem)) == (young, True)
        conn.rollback()
    assert audit.retain_until(T0, None, None) == T0.replace(year=2031)
    assert audit.retain_until(T0, datetime(2040, 12, 31).date(), T0) > datetime(2041, 12, 31, 23, tzinfo=UTC)
    assert audit.retain_until(T0, datetime(2040, 12, 31).date(), T0) < datetime(2042, 1, 1, tzinfo=UTC)
    assert timedelta(0) < audit.retain_until(T0, None, T0) - T0


def test_clients_add_prints_a_key_the_node_accepts(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'hub.db'}"
    made = cli("clients", "add", "--store", store, "--role", "manufacturer", "--name", "Examplin Pharma")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    storage = open_storage(store, role="hub")
    try:
        client = storage.client_for_key(key)
        assert client == Client("examplin-pharma", Role.MANUFACTURER, "examplin-pharma", "examplin-pharma")
        assert storage.client_for_key(key + "x") is None
    finally:
        storage.close()
    twice = cli("clients", "add", "--store", store, "--role", "manufacturer", "--name", "Examplin Pharma")
    assert twice.returncode == 2 and "exists already" in twice.stderr
    wrong = cli("clients", "add", "--store", store, "--role", "pharmacist", "--name", "X")
    assert wrong.returncode == 2 and "role" in wrong.stderr
    assert cli("national", "--market", "DE", "--store", store).returncode == 2  # a hub store is not DE's


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FIELDS = ["productCode", "serialNumber", "batch", "expiry", "clientTrxId", "scan", "packs", "bulkId"]
BODIES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), JSON, max_size=6)
NODE_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "deliveryId": JSON,
        "kind": st.sampled_from(["product", "batch", "recall", "withdraw", "other"]) | JSON,
        "data": st.fixed_dictionaries({}, optional={"product": JSON, "batch": JSON, "serials": JSON}) | JSON,
        "origin": JSON,
        "client": st.fixed_dictionaries({}, optional={"clientId": JSON, "role": JSON, "location": JSON})
        | JSON,
        "request": BODIES,
        "expected": JSON,
        "new": JSON,
    },
)


def test_what_clients_and_nodes_send_never_crashes_a_national_system(tmp_path: Path) -> None:
    """Random request bodies for every entry point answer with a status and an NMVS code; nothing raises."""
    storage = open_storage(f"sqlite:///{tmp_path / 'fuzz.db'}", role="national", market="DE")
    client, _ = storage.add_client(role="pharmacy", name="Apotheke", client_id="apo-1")
    system = NationalSystem(storage)
    codes = st.sampled_from(["G110", "G120", "G125", "G171", "G188", "G999", "", "g110"])

    @settings(max_examples=150)
    @given(code=codes, body=BODIES, node_body=NODE_BODIES)
    def check(code: str, body: dict[str, Any], node_body: dict[str, Any]) -> None:
        answers = [
            asyncio.run(system.transact(code, body, client)),
            asyncio.run(system.intermarket_in(code, node_body)),
            system.deliver_in(node_body),
            system.sync_in(node_body, prepare=True),
            system.sync_in(node_body, prepare=False),
            system.move_alert(client, "AL-none", body),
            system.set_clock({k: v for k, v in body.items() if k != "now"} | {"now": body.get("scan")}),
        ]
        for answer in answers:
            assert 200 <= answer.status < 500
            if answer.status >= 400:
                assert answer.body["returnCode"].startswith("NMVS_")

    try:
        check()
    finally:
        storage.close()
