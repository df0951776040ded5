"""SerialService on both backends: pools, the guess bound, uniqueness per GTIN forever, returns, reports."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from fractions import Fraction

import pytest
import sqlalchemy as sa

from packtrail.serials import (
    GuessProbabilityError,
    NoSuchAllocationError,
    SerialGenerationError,
    SerialPolicyError,
    SerialReturnError,
    SerialService,
)
from packtrail.serials.tables import SerialStatus, serial_allocations, serial_pools, serials
from packtrail.store import Store, open_store
from packtrail.store.engine import create_store_engine

GTIN = "04012345111118"
OTHER_GTIN = "04012345222227"
LINE_1 = "4012345000016"
CMO = "0614141000005"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def replay(seed: int) -> Callable[[int], bytes]:
    """A byte source that plays the same stream for every service made with the same seed."""
    return random.Random(seed).randbytes


def rows(store: Store, gtin: str = GTIN) -> list[tuple[str, int, int]]:
    with store.engine.connect() as connection:
        result = connection.execute(
            sa.select(serials.c.serial, serials.c.status, serials.c.allocation_id).where(
                serials.c.gtin == gtin
            )
        )
        return [(r.serial, r.status, r.allocation_id) for r in result]


# -- pools and policies ----------------------------------------------------------------------------------


def test_pools_are_one_per_gtin_and_policy(store: Store) -> None:
    service = SerialService(store)
    first = service.create_pool(GTIN, "alphanumeric", 10)
    again = service.create_pool(
        "4012345111118", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210", "10"
    )  # GTIN-13, same
    other = service.create_pool(GTIN, "numeric", 12)
    assert first == again
    assert other.id != first.id
    assert [p.id for p in service.pools(GTIN)] == [first.id, other.id]
    assert first.policy.alphabet == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert service.pools(OTHER_GTIN) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gtin": "04012345111119"}, "gtin"),
        ({"gtin": "12345"}, "gtin"),
        ({"alphabet": "AB#"}, "alphabet"),
        ({"length": 21}, "length"),
        ({"length": 4}, "length"),  # 10,000 numeric serials: a single one is guessable with p = 1/10,000
        ({"count": 0}, "count"),
        ({"count": 10_000_001}, "count"),
        ({"count": True}, "count"),
        ({"to": "4012345000017"}, "to"),
        ({"to": "GLN"}, "to"),
    ],
)
def test_invalid_requests_name_the_field(store: Store, kwargs: dict[str, object], field: str) -> None:
    service = SerialService(store)
    request: dict[str, object] = {"gtin": GTIN, "count": 5, "to": None, **kwargs}
    gtin, count, to = request.pop("gtin"), request.pop("count"), request.pop("to")
    with pytest.raises(SerialPolicyError) as caught:
        service.allocate(gtin, count, to, **request)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert rows(store) == [] and service.pools(GTIN) == []


def test_allocation_without_a_pool_creates_the_default_pool(store: Store) -> None:
    service = SerialService(store)
    allocation = service.allocate(GTIN, 10)
    assert (allocation.policy.alphabet, allocation.policy.length) == ("0123456789", 12)
    assert allocation.to_gln is None
    assert [p.id for p in service.pools(GTIN)] == [allocation.pool_id]
    newest = service.create_pool(GTIN, "cset32", 9)
    assert service.allocate(GTIN, 3).pool_id == newest.id  # the newest pool serves by default
    assert service.allocate(GTIN, 3, pool_id=allocation.pool_id).pool_id == allocation.pool_id
    with pytest.raises(SerialPolicyError, match="pool: no pool"):
        service.allocate(OTHER_GTIN, 3, pool_id=allocation.pool_id)


# -- the guess bound -------------------------------------------------------------------------------------


def test_allocations_are_refused_at_exactly_one_in_ten_thousand(store: Store) -> None:
    service = SerialService(store)
    service.create_pool(GTIN, "numeric", 5)  # 100,000 serials: at most 9 issued
    with pytest.raises(GuessProbabilityError) as caught:
        service.allocate(GTIN, 10)
    assert caught.value.probability == Fraction(10, 100_000)
    first = service.allocate(GTIN, 9, LINE_1)
    assert first.guess_probability == Fraction(9, 100_000)
    with pytest.raises(GuessProbabilityError) as caught:
        service.allocate(GTIN, 1)
    error = caught.value
    assert (error.gtin, error.issued, error.requested, error.number_space) == (GTIN, 9, 1, 100_000)
    assert error.probability == Fraction(1, 10_000) and error.bound == Fraction(1, 10_000)
    assert "10/100,000 = 1.000e-04" in str(error)
    assert len(rows(store)) == 9  # the refusals wrote nothing


def test_the_bound_counts_every_serial_of_the_gtin_across_pools_and_returns(store: Store) -> None:
    service = SerialService(store)
    small = service.create_pool(GTIN, "numeric", 5)
    first = service.allocate(GTIN, 5, pool_id=small.id)
    service.return_unused(first.id, first.serials)  # returned serials stay issued (burned)
    with pytest.raises(GuessProbabilityError) as caught:
        service.allocate(GTIN, 5, pool_id=small.id)
    assert (caught.value.issued, caught.value.probability) == (5, Fraction(10, 100_000))
    service.allocate(GTIN, 94, alphabet="numeric", length=6)  # (5 + 94) / 10^6 = 9.9e-5
    with pytest.raises(GuessProbabilityError) as caught:
        service.allocate(GTIN, 1, alphabet="numeric", length=6)
    assert (caught.value.issued, caught.value.number_space) == (99, 10**6)
    assert caught.value.probability == Fraction(1, 10_000)
    assert service.allocate(OTHER_GTIN, 9, alphabet="numeric", length=5).count == 9  # per GTIN


def test_a_pool_the_gtin_has_outgrown_is_refused_and_a_refused_allocation_leaves_no_pool(
    store: Store,
) -> None:
    service = SerialService(store)
    service.allocate(GTIN, 9, alphabet="numeric", length=5)
    with pytest.raises(GuessProbabilityError) as caught:
        service.create_pool(GTIN, "01", 16)  # 65,536: (9 + 1) / 65,536 > 1/10,000
    assert caught.value.probability == Fraction(10, 65_536)
    with pytest.raises(GuessProbabilityError):
        service.allocate(GTIN, 100, alphabet="numeric", length=6)  # (9 + 100) / 10^6
    assert [(p.policy.length) for p in service.pools(GTIN)] == [5]  # the length-6 pool was rolled back


def test_a_stricter_bound(store: Store) -> None:
    service = SerialService(store, bound=Fraction(1, 1_000_000))
    with pytest.raises(GuessProbabilityError) as caught:
        service.allocate(GTIN, 10, alphabet="numeric", length=7)
    assert caught.value.probability == Fraction(10, 10**7)
    with pytest.raises(SerialPolicyError, match="bound"):
        SerialService(store, bound=Fraction(1, 1000))


# -- uniqueness per GTIN forever -------------------------------------------------------------------------


def test_serials_are_unique_across_pools_allocations_and_restarts(store_url: str) -> None:
    issued: list[str] = []
    with open_store(store_url) as store:
        service = SerialService(store)
        for alphabet, length in (("numeric", 9), ("0123456789", 9), ("numeric", 10), ("cset32", 7)):
            issued += service.allocate(GTIN, 3_000, LINE_1, alphabet=alphabet, length=length).serials
    engine = create_store_engine(store_url)  # a service over a bare engine (migrated on creation)
    try:
        service = SerialService(engine)
        issued += service.allocate(GTIN, 3_000, CMO).serials
        issued += service.allocate(OTHER_GTIN, 3_000).serials
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        assert len(issued) == 18_000
        stored = rows(store)
        assert len(stored) == 15_000
        assert {s for s, _, _ in stored} == set(issued[:15_000])
        assert len(set(issued[:15_000])) == 15_000


def test_candidates_the_gtin_has_already_are_replaced(store: Store) -> None:
    """A second service replays the first one's random stream: every first candidate exists already,
    is skipped, and the allocation is topped up with new serials."""
    first = SerialService(store, random_bytes=replay(7)).allocate(GTIN, 2_000, alphabet="numeric", length=9)
    second = SerialService(store, random_bytes=replay(7)).allocate(GTIN, 2_000, alphabet="numeric", length=9)
    assert len(set(first.serials)) == len(set(second.serials)) == 2_000
    assert not set(first.serials) & set(second.serials)
    stored = rows(store)
    assert len(stored) == 4_000
    by_allocation = {a: {s for s, _, x in stored if x == a} for a in (first.id, second.id)}
    assert by_allocation == {first.id: set(first.serials), second.id: set(second.serials)}


def test_returned_serials_are_never_issued_again(store: Store) -> None:
    first = SerialService(store, random_bytes=replay(11)).allocate(
        GTIN, 500, LINE_1, alphabet="numeric", length=9
    )
    result = SerialService(store).return_unused(first.id, first.serials)
    assert (result.returned, result.already_returned) == (500, 0)
    second = SerialService(store, random_bytes=replay(11)).allocate(GTIN, 500, alphabet="numeric", length=9)
    assert not set(first.serials) & set(second.serials)
    statuses = {s: status for s, status, _ in rows(store)}
    assert all(statuses[s] == SerialStatus.RETURNED for s in first.serials)
    assert all(statuses[s] == SerialStatus.ALLOCATED for s in second.serials)


def test_values_drawn_twice_in_one_round_are_replaced(store: Store) -> None:
    """A source whose second serial repeats its first: both copies are dropped, and topped up."""
    stream = random.Random(5)
    calls = 0

    def source(n: int) -> bytes:
        nonlocal calls
        calls += 1
        data = bytearray(b % 250 for b in stream.randbytes(n))  # all accepted by rejection sampling
        if calls == 1:
            data[9:18] = data[0:9]  # numeric length 9: serial 2 == serial 1
        return bytes(data)

    service = SerialService(store, random_bytes=source)
    allocation = service.allocate(GTIN, 1_000, alphabet="numeric", length=9)
    assert len(set(allocation.serials)) == 1_000
    assert calls >= 2
    assert len(rows(store)) == 1_000


def test_a_source_that_repeats_itself_fails_and_writes_nothing(store: Store) -> None:
    service = SerialService(store, random_bytes=lambda n: bytes(n))  # every serial "000000000000"
    with pytest.raises(SerialGenerationError, match="not random"):
        service.allocate(GTIN, 2)
    assert rows(store) == []
    with store.engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(serial_allocations)).scalar_one() == 0
        )
        assert connection.execute(sa.select(sa.func.count()).select_from(serial_pools)).scalar_one() == 0


def test_concurrent_allocations_never_pass_the_bound(store: Store) -> None:
    """Two threads allocate from a pool with room for 99 serials: together they never get more."""
    service = SerialService(store)
    service.create_pool(GTIN, "numeric", 6)
    got: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def work(slot: int) -> None:
        try:
            while True:
                got[slot] += service.allocate(GTIN, 7).serials
        except GuessProbabilityError:
            return
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    issued = got[0] + got[1]
    assert len(issued) == 98 == len(set(issued))  # 14 allocations of 7; a 15th would make 105 > 99
    assert len(rows(store)) == 98


# -- returns ---------------------------------------------------------------------------------------------


def test_return_unused(store: Store) -> None:
    service = SerialService(store)
    allocation = service.allocate(GTIN, 100, LINE_1)
    other = service.allocate(GTIN, 10, CMO)
    result = service.return_unused(allocation.id, allocation.serials[:30] + allocation.serials[:5])
    assert (result.allocation_id, result.returned, result.already_returned) == (allocation.id, 30, 0)
    again = service.return_unused(allocation.id, allocation.serials[20:40])
    assert (again.returned, again.already_returned) == (10, 10)
    with pytest.raises(SerialReturnError) as caught:
        service.return_unused(allocation.id, allocation.serials[50:60] + other.serials[:3] + ["NOPE"])
    assert caught.value.foreign == [*other.serials[:3], "NOPE"]
    assert "4 of the returned serials were not issued in allocation" in str(caught.value)
    looked_up = service.allocation(allocation.id)
    assert looked_up is not None and looked_up.returned_count == 40  # the refused return changed nothing
    with pytest.raises(NoSuchAllocationError):
        service.return_unused(allocation.id, allocation.serials[:1], recipient=CMO)
    with pytest.raises(NoSuchAllocationError):
        service.return_unused(999_999, ["1"])
    assert service.return_unused(allocation.id, []).returned == 0


def test_allocation_lookup_gives_the_serials_back(store: Store) -> None:
    service = SerialService(store)
    allocation = service.allocate(GTIN, 250, LINE_1, alphabet="cset82", length=20)
    service.allocate(GTIN, 50, CMO)
    found = service.allocation(allocation.id, with_serials=True)
    assert found is not None
    assert found.serials == sorted(allocation.serials)
    assert (found.gtin, found.to_gln, found.count, found.policy) == (GTIN, LINE_1, 250, allocation.policy)
    assert service.allocation(allocation.id) is not None and service.allocation(12_345) is None


# -- reports ---------------------------------------------------------------------------------------------


def test_report_counts_by_status_and_recipient(store: Store) -> None:
    service = SerialService(store)
    line = [service.allocate(GTIN, 40, LINE_1), service.allocate(GTIN, 60, LINE_1)]
    cmo = service.allocate(GTIN, 25, CMO)
    own = service.allocate(GTIN, 5)
    service.allocate(OTHER_GTIN, 7, CMO)
    service.return_unused(line[1].id, line[1].serials[:12])
    service.return_unused(cmo.id, cmo.serials[:25])
    report = service.report(GTIN)
    assert (report.issued, report.allocated, report.returned, report.allocations) == (130, 93, 37, 4)
    assert [(r.to_gln, r.allocations, r.issued, r.allocated, r.returned) for r in report.recipients] == [
        (CMO, 1, 25, 0, 25),
        (LINE_1, 2, 100, 88, 12),
        (None, 1, 5, 5, 0),
    ]
    assert report.guess_probability == Fraction(130, 10**12)
    assert [p.id for p in report.pools] == [own.pool_id]
    # the counters agree with the serials themselves
    statuses = [status for _, status, _ in rows(store)]
    assert statuses.count(SerialStatus.ALLOCATED) == 93 and statuses.count(SerialStatus.RETURNED) == 37
    body = report.as_json()
    assert body["byStatus"] == {"allocated": 93, "returned": 37}
    assert body["pools"][0]["numberSpace"] == "1000000000000"

    restricted = service.report("4012345111118", recipient=CMO)
    assert (restricted.issued, restricted.allocated, restricted.returned) == (25, 0, 25)
    assert restricted.pools == [] and restricted.guess_probability is None
    assert "pools" not in restricted.as_json()
    empty = service.report("04012345333336")
    assert (empty.issued, empty.recipients, empty.guess_probability) == (0, [], None)
