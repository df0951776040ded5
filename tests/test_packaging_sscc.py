"""The SSCC register: valid SSCCs, never one issued twice (threads, restarts, refused requests), both backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packtrail.gs1 import SSCC, SSCCURI
from packtrail.packaging import PackagingError, SSCCCapacityError, SSCCService
from packtrail.store import Store, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One SQLite store for the tests of refused requests (refused before any SQL runs)."""
    with open_store(f"sqlite:///{tmp_path_factory.mktemp('sscc')}/sscc.db") as opened:
        yield opened


def test_allocations_are_valid_consecutive_and_never_overlap(store: Store) -> None:
    register = SSCCService(store)
    first = register.allocate("4012345", 5, to_gln="4012345000009")
    second = register.allocate("4012345", 3)
    assert first.first_reference == 1 and second.first_reference == 6
    assert (first.to_gln, second.to_gln) == ("4012345000009", None)
    ssccs = first.ssccs() + second.ssccs()
    assert len(set(ssccs)) == 8
    for sscc, uri in zip(ssccs, first.uris() + second.uris(), strict=True):
        assert SSCC.parse(sscc).extension_digit == "0"
        assert SSCCURI.from_ai_pairs([("00", sscc)]).uri == uri
        assert sscc[1:8] == "4012345"
    assert register.allocation(first.id) == first
    assert register.allocation(10_000) is None
    assert [a.id for a in register.allocations("4012345")] == [first.id, second.id]


def test_prefixes_and_extension_digits_count_separately(store: Store) -> None:
    register = SSCCService(store)
    a = register.allocate("4012345", 2)
    b = register.allocate("4012345", 2, extension_digit="7")
    c = register.allocate("061414112", 2)
    assert a.first_reference == b.first_reference == c.first_reference == 1
    assert b.first_sscc[0] == "7" and c.first_sscc[1:10] == "061414112"
    assert len({*a.ssccs(), *b.ssccs(), *c.ssccs()}) == 6


def test_the_counter_survives_a_restart(store_url: str) -> None:
    with open_store(store_url) as first_store:
        before = SSCCService(first_store).allocate("4012345", 10).ssccs()
    with open_store(store_url) as second_store:
        after = SSCCService(second_store).allocate("4012345", 10).ssccs()
    assert not set(before) & set(after)


def test_running_out_issues_nothing(store: Store) -> None:
    register = SSCCService(store)  # a 12-digit prefix leaves 4 digits: references 1-9999
    register.allocate("401234567890", 9_990)
    with pytest.raises(SSCCCapacityError) as caught:
        register.allocate("401234567890", 20)
    assert caught.value.left == 9 and caught.value.field == "count"
    last = register.allocate("401234567890", 9)
    assert (last.first_reference, last.count) == (9_991, 9)
    assert last.last_sscc[13:17] == "9999"
    with pytest.raises(SSCCCapacityError):
        register.allocate("401234567890", 1)


def test_concurrent_allocations_never_share_an_sscc(store: Store) -> None:
    register = SSCCService(store)
    issued: list[list[str]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                issued.append(register.allocate("4012345", 7).ssccs())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    everything = [sscc for batch in issued for sscc in batch]
    assert len(everything) == len(set(everything)) == 280


@pytest.mark.parametrize(
    ("prefix", "count", "digit", "to", "field"),
    [
        ("401234", 0, "0", None, "count"),
        ("40123", 1, "0", None, "company_prefix"),
        ("4012345678901", 1, "0", None, "company_prefix"),
        ("40123x5", 1, "0", None, "company_prefix"),
        ("4012345", 1, "10", None, "extension_digit"),
        ("4012345", 1, "a", None, "extension_digit"),
        ("4012345", 10_000_001, "0", None, "count"),
        ("4012345", True, "0", None, "count"),
        ("4012345", 1, "0", "4012345000008", "to"),
    ],
)
def test_bad_requests_name_the_field(
    sqlite_store: Store, prefix: str, count: int, digit: str, to: str | None, field: str
) -> None:
    with pytest.raises(PackagingError) as caught:
        SSCCService(sqlite_store).allocate(prefix, count, extension_digit=digit, to_gln=to)
    assert caught.value.field == field


@settings(max_examples=60)
@given(
    st.one_of(st.text(max_size=14), st.from_regex(r"[0-9]{6,12}", fullmatch=True)),
    st.integers(min_value=-5, max_value=50),
    st.one_of(st.text(max_size=2), st.sampled_from("0123456789")),
)
def test_any_request_is_issued_or_refused_with_a_packaging_error(
    sqlite_store: Store, prefix: str, count: int, digit: str
) -> None:
    try:
        allocation = SSCCService(sqlite_store).allocate(prefix, count, extension_digit=digit)
    except PackagingError:
        return
    assert allocation.count == count
    assert all(SSCC.parse(sscc).value[1 : 1 + len(prefix)] == prefix for sscc in allocation.ssccs())


def test_migrated_tables_match_the_tables_module(store: Store) -> None:
    """The frozen revision v0003 and packaging/tables.py describe the same columns and keys."""
    import sqlalchemy as sa

    from packtrail.packaging.tables import metadata

    with store.engine.connect() as connection:
        inspector = sa.inspect(connection)
        for table in metadata.tables.values():
            columns = {column["name"] for column in inspector.get_columns(table.name)}
            assert columns == {column.name for column in table.columns}, table.name
            key = inspector.get_pk_constraint(table.name)["constrained_columns"]
            assert key == [column.name for column in table.primary_key.columns], table.name
