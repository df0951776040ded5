"""Group commit of single-pack transactions (packtrail.fmd.groupcommit), on SQLite and PostgreSQL.

Requests that arrive together share one store transaction; inside it each sees the ones before it
(a replayed clientTrxId gets the first answer, a reused one ``NMVS_TE_TX_01``), the audit chain is
linked in arrival order, and a request that fails makes only itself fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import fresh_schema
from packtrail.fmd import audit
from packtrail.fmd.answers import Answer
from packtrail.fmd.codes import TransactionCode
from packtrail.fmd.model import Client, PackRequest, Role
from packtrail.fmd.national import NationalSystem
from packtrail.fmd.storage import Storage
from test_fmd_support import GTIN, seeded_national_storage

PHARMACY = Client("apo-1", Role.PHARMACY, "LOC-1", "apo-1")


@pytest.fixture
def storage(store_url: str) -> Iterator[Storage]:
    opened = seeded_national_storage(store_url, ("S1", "S2", "S3"))
    yield opened
    opened.close()


@pytest.fixture
def postgres_storage(postgres_url: str) -> Iterator[Storage]:
    """A seeded store on PostgreSQL only (what SQLite cannot show: another writer between a group's
    read and its commit, a lost server connection)."""
    with fresh_schema(postgres_url) as url:
        opened = seeded_national_storage(url, ("S1", "S2", "S3"))
        yield opened
        opened.close()


def request(serial: str, trx: str) -> PackRequest:
    return PackRequest.create(
        product_code=GTIN, serial=serial, batch="B1", expiry="301231", client_trx_id=trx
    )


def together(system: NationalSystem, calls: Any) -> list[Any]:
    """Run ``calls`` (one coroutine gathering the requests) and stop the system's group worker."""

    async def run() -> list[Any]:
        try:
            return list(await calls)
        finally:
            await system.group.stop()

    return asyncio.run(run())


def test_one_group_sees_its_own_writes_and_chains_in_order(storage: Storage) -> None:
    system = NationalSystem(storage)
    dispense = TransactionCode.G120

    async def calls() -> list[Any]:
        return list(
            await asyncio.gather(
                system.single(dispense, request("S1", "t-1"), PHARMACY, forward=False),
                system.single(dispense, request("S1", "t-1"), PHARMACY, forward=False),
                system.single(dispense, request("S2", "t-1"), PHARMACY, forward=False),
                system.single(TransactionCode.G110, request("S1", "t-2"), PHARMACY, forward=False),
            )
        )

    first, replay, reused, verify = together(system, calls())
    assert isinstance(first, Answer) and first.body["returnCode"] == "NMVS_SUCCESS"
    assert replay == first  # the same request inside the same group: the first answer, nothing applied
    assert reused.status == 409 and reused.body["returnCode"] == "NMVS_TE_TX_01"
    assert verify.body["pack"]["state"] == "INACTIVE"  # the verify saw the dispense before it
    assert system.group.groups == 1 and system.group.requests == 4
    with storage.read() as conn:
        check = audit.verify(conn)
        actions = [(e["serialNumber"], e["returnCode"]) for e in audit.entries(conn)]
    assert check.ok and check.checked == 3
    assert actions == [("S1", "NMVS_SUCCESS"), ("S2", "NMVS_TE_TX_01"), ("S1", "NMVS_SUCCESS")]


def test_a_failing_request_fails_alone(storage: Storage) -> None:
    system = NationalSystem(storage)

    def broken(_: Any) -> None:
        raise ValueError("broken on purpose")

    async def calls() -> list[Any]:
        return list(
            await asyncio.gather(
                system.single(TransactionCode.G110, request("S1", "a"), PHARMACY, forward=False),
                system.group.run(broken),
                system.single(TransactionCode.G110, request("S2", "b"), PHARMACY, forward=False),
                return_exceptions=True,
            )
        )

    one, failed, two = together(system, calls())
    assert isinstance(failed, ValueError)
    assert one.body["returnCode"] == two.body["returnCode"] == "NMVS_SUCCESS"
    with storage.read() as conn:
        check = audit.verify(conn)
    assert check.ok and check.checked == 2


def test_a_group_whose_writes_fail_at_commit_is_answered_one_by_one(postgres_storage: Storage) -> None:
    """The stored answers and audit entries of a group travel with its COMMIT (on PostgreSQL in one
    pipeline): when they fail there — here another writer stored the same clientTrxId after the group
    read — nothing of the group stays, and each request runs again alone and sees what is stored.
    (PostgreSQL: on SQLite the group holds the one write lock from its read to its commit.)"""
    storage = postgres_storage
    system = NationalSystem(storage)
    stored = []

    def other_writer(conn: Any) -> None:
        if not stored:  # only the first time: the retry must find the row, not write it again
            stored.append(True)
            with storage.write() as other:
                other.exec_driver_sql(
                    "INSERT INTO fmd_transactions (client_id, client_trx_id, fingerprint, status, answer, "
                    "trx_id, at_us) VALUES ('apo-1', 'dup', 'another request', 200, '{}', 'T-other', 1)"
                )

    async def calls() -> list[Any]:
        return list(
            await asyncio.gather(
                system.single(TransactionCode.G110, request("S1", "dup"), PHARMACY, forward=False),
                system.group.run(other_writer),
                system.single(TransactionCode.G120, request("S2", "fine"), PHARMACY, forward=False),
                return_exceptions=True,
            )
        )

    clash, _, fine = together(system, calls())
    assert clash.status == 409 and clash.body["returnCode"] == "NMVS_TE_TX_01"
    assert fine.body["returnCode"] == "NMVS_SUCCESS" and fine.body["pack"]["state"] == "INACTIVE"
    with storage.read() as conn:
        check = audit.verify(conn)
        entries = [(e["serialNumber"], e["returnCode"]) for e in audit.entries(conn)]
        (state,) = conn.exec_driver_sql("SELECT state FROM fmd_packs WHERE serial = 'S2'").one()
    assert check.ok
    assert entries == [("S1", "NMVS_TE_TX_01"), ("S2", "NMVS_SUCCESS")]  # the failed group left none
    assert state == "INACTIVE"


def test_the_group_connection_is_replaced_when_it_is_lost(postgres_storage: Storage) -> None:
    """PostgreSQL: the group worker keeps one connection; when the server ends it, the request that
    finds it dead runs again on a new one (and the ones after it do not notice)."""
    storage = postgres_storage
    system = NationalSystem(storage)
    lost: list[int] = []

    async def calls() -> list[Any]:
        first = await system.single(TransactionCode.G110, request("S1", "c-1"), PHARMACY, forward=False)
        with storage.group_write() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            lost.append(pid)
        with storage.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            admin.commit()
        second = await system.single(TransactionCode.G110, request("S2", "c-2"), PHARMACY, forward=False)
        third = await system.single(TransactionCode.G120, request("S3", "c-3"), PHARMACY, forward=False)
        return [first, second, third]

    answers = together(system, calls())
    assert [a.body["returnCode"] for a in answers] == ["NMVS_SUCCESS"] * 3
    with storage.group_write() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() not in lost
    with storage.read() as conn:
        assert audit.verify(conn).checked == 3


def test_verifies_commit_on_the_event_loop(postgres_storage: Storage) -> None:
    """PostgreSQL: a group of verifies (and replays) needs no statement of its own, so it is read and
    committed on the event loop's connection — with the same answers, stored answers and audit chain
    as the worker thread gives."""
    storage = postgres_storage
    system = NationalSystem(storage)
    verify = TransactionCode.G110

    async def calls() -> list[Any]:
        # The product and batch reach the node's memory with a first request (the worker reads them).
        await system.single(verify, request("S1", "warm"), PHARMACY, forward=False)
        loop_groups = system.group.on_loop
        answers = list(
            await asyncio.gather(
                system.single(verify, request("S1", "v-1"), PHARMACY, forward=False),
                system.single(verify, request("S2", "v-2"), PHARMACY, forward=False),
                system.single(verify, request("S1", "v-1"), PHARMACY, forward=False),
            )
        )
        assert system.group.on_loop == loop_groups + 1
        replayed = await system.single(verify, request("S2", "v-2"), PHARMACY, forward=False)
        # An unknown serial raises an alert (statements of its own): the worker thread runs that one.
        unknown = await system.single(verify, request("S9", "v-3"), PHARMACY, forward=False)
        assert system.group.on_loop == loop_groups + 2
        return [*answers, replayed, unknown]

    one, two, replay, replayed, unknown = together(system, calls())
    assert one.body["returnCode"] == two.body["returnCode"] == "NMVS_SUCCESS"
    assert replay == one and replayed == two  # within the group and after it: the first answer
    assert unknown.body["returnCode"] != "NMVS_SUCCESS" and unknown.body.get("alertId")
    with storage.read() as conn:
        check = audit.verify(conn)
        stored = conn.exec_driver_sql("SELECT count(*) FROM fmd_transactions").scalar_one()
        alerts = conn.exec_driver_sql("SELECT count(*) FROM fmd_alerts").scalar_one()
    assert check.ok and check.checked == stored == 4  # warm, v-1, v-2, v-3: replays add nothing
    assert alerts == 1


def test_a_state_change_runs_in_the_worker(
    postgres_storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group with a state change (it writes the pack) is not tried on the event loop's connection
    half-way: it runs in the worker thread, on what the loop read (not read twice), and every answer is
    as one by one."""
    storage = postgres_storage
    system = NationalSystem(storage)
    reads: list[int] = []
    statement = storage.lookup_statement

    def counted(keys: Any) -> Any:
        reads.append(len(keys))
        return statement(keys)

    async def calls() -> list[Any]:
        await system.single(TransactionCode.G110, request("S3", "warm"), PHARMACY, forward=False)
        loop_groups = system.group.on_loop
        monkeypatch.setattr(storage, "lookup_statement", counted)
        answers = list(
            await asyncio.gather(
                system.single(TransactionCode.G110, request("S1", "a"), PHARMACY, forward=False),
                system.single(TransactionCode.G120, request("S2", "b"), PHARMACY, forward=False),
                system.single(TransactionCode.G110, request("S2", "c"), PHARMACY, forward=False),
            )
        )
        assert system.group.on_loop == loop_groups  # the worker ran that group
        assert reads == [3]  # read once, on the loop
        return answers

    verify, dispense, after = together(system, calls())
    assert verify.body["returnCode"] == dispense.body["returnCode"] == "NMVS_SUCCESS"
    assert after.body["pack"]["state"] == "INACTIVE"  # the verify after the dispense saw it
    with storage.read() as conn:
        check = audit.verify(conn)
        (state,) = conn.exec_driver_sql("SELECT state FROM fmd_packs WHERE serial = 'S2'").one()
    assert check.ok and check.checked == 4 and state == "INACTIVE"


def test_a_failed_commit_on_the_event_loop_leaves_nothing(
    postgres_storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the event loop's commit fails — here another writer stores the group's clientTrxId after
    the group read — nothing of it stays, and the worker thread answers as the store then says."""
    storage = postgres_storage
    system = NationalSystem(storage)
    read = storage.lookup_rows
    raced: list[bool] = []

    def read_then_race(rows: Any) -> Any:
        found = list(read(rows))
        if any(key[1] == "dup" for key, _ in found) and not raced:
            raced.append(True)
            with storage.write() as other:
                other.exec_driver_sql(
                    "INSERT INTO fmd_transactions (client_id, client_trx_id, fingerprint, status, answer, "
                    "trx_id, at_us) VALUES ('apo-1', 'dup', 'another request', 200, '{}', 'T-other', 1)"
                )
        return iter(found)

    async def calls() -> list[Any]:
        await system.single(TransactionCode.G110, request("S3", "warm"), PHARMACY, forward=False)
        monkeypatch.setattr(storage, "lookup_rows", read_then_race)
        return list(
            await asyncio.gather(
                system.single(TransactionCode.G110, request("S1", "dup"), PHARMACY, forward=False),
                system.single(TransactionCode.G110, request("S2", "fine"), PHARMACY, forward=False),
            )
        )

    clash, fine = together(system, calls())
    assert raced
    assert clash.status == 409 and clash.body["returnCode"] == "NMVS_TE_TX_01"
    assert fine.body["returnCode"] == "NMVS_SUCCESS"
    with storage.read() as conn:
        check = audit.verify(conn)
        entries = [(e["serialNumber"], e["returnCode"]) for e in audit.entries(conn)]
    assert check.ok
    assert entries == [("S3", "NMVS_SUCCESS"), ("S1", "NMVS_TE_TX_01"), ("S2", "NMVS_SUCCESS")]


def test_the_event_loop_connection_is_replaced_when_it_is_lost(postgres_storage: Storage) -> None:
    """When the server ends the event loop's connection, the group it was reading for runs in the
    worker thread and the next group on the loop opens a new connection."""
    storage = postgres_storage
    system = NationalSystem(storage)
    verify = TransactionCode.G110

    async def calls() -> list[Any]:
        answers = [await system.single(verify, request("S1", "l-1"), PHARMACY, forward=False)]
        answers.append(await system.single(verify, request("S2", "l-2"), PHARMACY, forward=False))
        assert system.group.on_loop == 1
        pid = system.group._async[1].info.backend_pid if system.group._async else None
        assert pid is not None
        with storage.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            admin.commit()
        answers.append(await system.single(verify, request("S3", "l-3"), PHARMACY, forward=False))
        answers.append(await system.single(verify, request("S1", "l-4"), PHARMACY, forward=False))
        assert system.group.on_loop == 2  # l-3 by the worker, l-4 on a new connection
        return answers

    answers = together(system, calls())
    assert [a.body["returnCode"] for a in answers] == ["NMVS_SUCCESS"] * 4
    with storage.read() as conn:
        assert audit.verify(conn).checked == 4
