"""The cheaper single-pack path of a national system keeps its behaviour exactly (issue 6).

The verify path was made cheaper by: SQLite write transactions begun and ended on the driver (not
through SQLAlchemy's transaction object), pack rows read into enum members by table lookup, audit
entries staged as column values, retention dates memoised per upload time and expiry, and an answer's
time text reused while the time is the same object. Each test states what must not have changed: what
is committed and what is rolled back, the records read back, the audit chain, an answer's time, and
that a recall reaches the very next verify.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from packtrail.fmd import audit
from packtrail.fmd import schema as t
from packtrail.fmd.codes import ReturnCode, TransactionCode
from packtrail.fmd.model import Client, PackRequest, Role, TransactionOutcome
from packtrail.fmd.national import NationalSystem
from packtrail.fmd.states import PackState, Reason
from packtrail.fmd.storage import PACK_COLUMNS, Storage, open_storage, pack_from_row
from packtrail.fmd.wire import answer_body, batch_json
from test_fmd_support import GTIN, UPLOADED_US, seeded_national_storage

PHARMACY = Client("apo-1", Role.PHARMACY, "LOC-1", "anna")


@pytest.fixture
def storage(store_url: str) -> Iterator[Storage]:
    opened = seeded_national_storage(store_url, ("S1", "S2"))
    yield opened
    opened.close()


def _node_keys(storage: Storage) -> list[str]:
    with storage.read() as conn:
        return [row[0] for row in conn.execute(sa.select(t.node.c.key).order_by(t.node.c.key))]


def test_a_write_commits_statements_run_on_the_driver_and_through_sqlalchemy(storage: Storage) -> None:
    with storage.write() as conn:
        conn.exec_driver_sql("INSERT INTO fmd_node (key, value) VALUES ('driver', '1')")
        conn.execute(sa.insert(t.node).values(key="sqlalchemy", value="1"))
    with storage.write() as conn:  # the writer is out of its transaction: a new one begins
        conn.execute(sa.insert(t.node).values(key="again", value="1"))
    assert {"driver", "sqlalchemy", "again"} <= set(_node_keys(storage))


@pytest.mark.parametrize("through_sqlalchemy", [False, True])
def test_a_write_that_raises_keeps_nothing_and_leaves_the_writer_usable(
    storage: Storage, through_sqlalchemy: bool
) -> None:
    with pytest.raises(RuntimeError, match="boom"), storage.write() as conn:
        conn.exec_driver_sql("INSERT INTO fmd_node (key, value) VALUES ('lost-1', '1')")
        if through_sqlalchemy:
            conn.execute(sa.insert(t.node).values(key="lost-2", value="1"))
        raise RuntimeError("boom")
    # A failing statement: the transaction is rolled back too.
    with pytest.raises(IntegrityError), storage.write() as conn:
        conn.execute(sa.insert(t.node).values(key="lost-3", value="1"))
        conn.execute(sa.insert(t.node).values(key="lost-3", value="2"))
    with storage.write() as conn:
        conn.exec_driver_sql("INSERT INTO fmd_node (key, value) VALUES ('kept', '1')")
    keys = _node_keys(storage)
    assert "kept" in keys
    assert not {"lost-1", "lost-2", "lost-3"} & set(keys)


def test_a_pack_row_reads_back_every_state_reason_and_transaction() -> None:
    at_us = UPLOADED_US + 5_000_000
    for code in TransactionCode:
        for reason in (None, Reason.SUPPLIED, Reason.LOCKED):
            state = PackState.ACTIVE if reason is None else PackState.INACTIVE
            row = (GTIN, "S1", "B1", state.value, None if reason is None else reason.value, UPLOADED_US,
                   code.value, None if reason is None else reason.value, "LOC-1", "anna", "apo-1", at_us, "t-1")  # fmt: skip
            pack = pack_from_row(row)
            assert pack.state is state and pack.reason is reason
            assert pack.last_change is not None
            assert pack.last_change.transaction is code and pack.last_change.reason is reason
            assert pack.last_change.at == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=at_us)
    assert len(PACK_COLUMNS.split(",")) == len(row)
    with pytest.raises(ValueError, match="'GONE'"):  # a value no enum knows still names itself
        pack_from_row((GTIN, "S1", "B1", "GONE", None, UPLOADED_US, *(None,) * 7))


def test_retention_is_the_same_whatever_the_zone_of_the_upload_time() -> None:
    uploaded = datetime(2024, 2, 29, 23, 30, tzinfo=UTC)
    same_moment = uploaded.astimezone(timezone(timedelta(hours=2)))
    first = audit.retain_until(uploaded, None, uploaded)
    again = audit.retain_until(uploaded, None, same_moment)
    assert first == again == datetime(2029, 2, 28, 23, 30, tzinfo=UTC)
    assert again.tzinfo is UTC
    late_expiry = audit.retain_until(uploaded, date(2029, 6, 30), same_moment)
    assert late_expiry == datetime(2030, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)


def test_entries_given_as_columns_chain_like_entries(store_url: str) -> None:
    at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    entries = [
        audit.AuditEntry(at=at, actor="apo-1", action="G110", serial="S1", detail={"state": "ACTIVE"}),
        audit.AuditEntry(at=at + timedelta(seconds=1), actor="apo-1", action="G120", serial="S1"),
    ]
    assert [tuple(entry.row().values()) for entry in entries] == [entry.columns() for entry in entries]
    heads = []
    for way in ("entries", "columns"):
        storage = open_storage(store_url, role=None)
        with storage.write() as conn:
            conn.execute(sa.delete(t.audit))
            conn.execute(sa.update(t.audit_head).values(seq=0, hash=audit.GENESIS))
        for entry in entries:  # one at a time: PostgreSQL links a lone entry in SQL
            with storage.write() as conn:
                if way == "entries":
                    audit.append(conn, [entry])
                else:
                    audit.append_rows(conn, [entry.columns()])
        with storage.write() as conn:  # two at once: linked here
            if way == "entries":
                audit.append(conn, entries)
            else:
                audit.append_rows(conn, [entry.columns() for entry in entries])
        with storage.read() as conn:
            assert audit.verify(conn).ok
            heads.append(conn.execute(sa.select(t.audit_head.c.seq, t.audit_head.c.hash)).one())
        storage.close()
    assert heads[0] == heads[1] and heads[0][0] == 4


def test_a_recall_reaches_the_next_verify(storage: Storage) -> None:
    system = NationalSystem(storage)
    body = {"productCode": GTIN, "serialNumber": "S1", "batch": "B1", "expiry": "301231"}

    async def verify(trx: str) -> str:
        answer = await system.transact(TransactionCode.G110.value, {**body, "clientTrxId": trx}, PHARMACY)
        assert answer.status == 200, answer.body
        return str(answer.body["returnCode"])

    async def scenario() -> list[str]:
        try:
            codes = [await verify("t-1")]  # products and batches are now in the node's memory
            with storage.read() as conn:
                batch = storage.get_batch(conn, GTIN, "B1")
            assert batch is not None
            recalled = {**batch_json(batch), "recalledAt": "2026-03-01T10:00:00+00:00"}
            delivered = system.deliver_in(
                {"deliveryId": "d-1", "kind": "recall", "data": {"batch": recalled}}
            )
            assert delivered.status == 200, delivered.body
            codes.append(await verify("t-2"))
            return codes
        finally:
            await system.group.stop()

    assert asyncio.run(scenario()) == ["NMVS_SUCCESS", "NMVS_FE_LOT_01"]


def test_an_answer_shows_its_own_time_whatever_was_rendered_before() -> None:
    request = PackRequest.create(
        product_code=GTIN, serial="S1", batch="B1", expiry="301231", client_trx_id="t-1"
    )
    utc = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    berlin = utc.astimezone(timezone(timedelta(hours=1)))  # the same moment, another text
    texts = [
        answer_body(
            TransactionOutcome(TransactionCode.G110, ReturnCode.NMVS_SUCCESS, request, moment),
            trx_id="DE-1",
            market="DE",
        )["timestamp"]
        for moment in (utc, utc, berlin, berlin, utc)
    ]
    assert texts == [utc.isoformat()] * 2 + [berlin.isoformat()] * 2 + [utc.isoformat()]
    assert texts[0] == "2026-03-01T09:00:00+00:00" and texts[2] == "2026-03-01T10:00:00+01:00"
