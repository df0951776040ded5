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
