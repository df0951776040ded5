"""The plans of the slow shapes of issue 4, on SQLite and PostgreSQL: the statement starts where it should.

The query is the benchmark's class query (``bench/bench_epcis_repository.py``): one product's EPC pattern
(``MATCH_epc=urn:epc:idpat:sgtin:CP.ITEM.*``), one week of eventTime, ``EQ_bizStep=commissioning``, asked
by a trading party (visibility checked on every row). It was slow because SQLite started from the pattern
(every event of the product) and both databases walked an index in ``event_pk`` order from far before the
week. The tests read ``EXPLAIN QUERY PLAN`` (SQLite) and ``EXPLAIN`` (PostgreSQL, after ``ANALYZE``) of
the statement :func:`~packtrail.store.query_sql.page_select` builds, with and without planner statistics
on SQLite, and check that the answers are those of a plain Python reading of the same events.
No timings: which index a plan starts from is what is checked.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from packtrail.store import Store, Viewer, open_store
from packtrail.store.query_params import parse_query_params
from packtrail.store.query_sql import MasterData, page_select, plan_of

PARTY_A = "4012345000009"  # a manufacturer: urn:epc:id:pgln:4012345.00000
PARTY_B = "0614141000005"  # another manufacturer
PRODUCTS = {PARTY_A: ("4012345", ("011111", "022222", "033333")), PARTY_B: ("0614141", ("107346",))}
STEPS = ("commissioning", "packing", "shipping", "dispensing")
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 150  # five monthly partitions on PostgreSQL
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]

WEEK = [("GE_eventTime", "2024-04-08T00:00:00Z"), ("LT_eventTime", "2024-04-15T00:00:00Z")]
YEAR = [("GE_eventTime", "2024-01-01T00:00:00Z"), ("LT_eventTime", "2025-01-01T00:00:00Z")]
PATTERN = ("MATCH_epc", "urn:epc:idpat:sgtin:4012345.022222.*")
CLASS_QUERY = [PATTERN, *WEEK, ("EQ_bizStep", "commissioning")]


@dataclass(frozen=True)
class Stored:
    """What the Python reading needs of one captured event."""

    n: int
    party: str
    step: str
    time: datetime
    epcs: tuple[str, ...]


def _events() -> list[Stored]:
    """A few thousand events of two manufacturers over five months, in eventTime order (as captured)."""
    rng = random.Random(4)
    out: list[Stored] = []
    serial = 0
    for hour in range(0, DAYS * 24, 3):
        for party, (cp, items) in PRODUCTS.items():
            step = STEPS[rng.randrange(len(STEPS))]
            item = items[rng.randrange(len(items))]
            count = 4 if step in ("commissioning", "packing") else 1
            epcs = tuple(f"urn:epc:id:sgtin:{cp}.{item}.{serial + i}" for i in range(count))
            serial += count
            moment = START + timedelta(hours=hour, minutes=rng.randrange(60))
            out.append(Stored(len(out), party, step, moment, epcs))
    return out


EVENTS = _events()


def _document(events: list[Stored]) -> bytes:
    body = [
        {
            "type": "ObjectEvent",
            "eventTime": e.time.isoformat().replace("+00:00", "Z"),
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD" if e.step == "commissioning" else "OBSERVE",
            "bizStep": e.step,
            "epcList": list(e.epcs),
            "eventID": f"ni:///sha-256;{e.n:064x}?ver=CBV2.0",
        }
        for e in events
    ]
    document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0"}
    return orjson.dumps(
        {**document, "creationDate": "2024-06-01T00:00:00Z", "epcisBody": {"eventList": body}}
    )


def _fill(store: Store) -> None:
    store.add_party(PARTY_A, "A")
    store.add_party(PARTY_B, "B")
    for party in PRODUCTS:
        mine = [e for e in EVENTS if e.party == party]
        result = store.capture(_document(mine), party=party)
        assert result.success and result.captured == len(mine), result.errors


def _analyze(store: Store) -> None:
    """Gather the planner's statistics, as the benchmark does (SQLite: ``analysis_limit=1000``)."""
    with store.engine.begin() as connection:
        if store.dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The same events in a SQLite store of its own (the plans only SQLite has), statistics not yet
    gathered."""
    with open_store(f"sqlite:///{tmp_path_factory.mktemp('plans-sqlite') / 'packtrail.db'}") as opened:
        _fill(opened)
        yield opened


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The events captured once per backend (each manufacturer its own), statistics not yet gathered."""
    if request.param == "sqlite":
        with open_store(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'packtrail.db'}") as opened:
            _fill(opened)
            yield opened
        return
    import psycopg

    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in base else "?"
        with open_store(f"{base}{separator}options=-csearch_path%3D{schema}") as opened:
            _fill(opened)
            yield opened
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _statement(store: Store, params: list[tuple[str, str]]) -> str:
    query = parse_query_params(params, namespaces={})
    statement = page_select(query, Viewer(PARTY_A), MasterData(), upper_pk=10**9, after=None, limit=31)
    return str(
        statement.compile(store.engine, compile_kwargs={"literal_binds": True, "render_postcompile": True})
    )


def _plan(store: Store, params: list[tuple[str, str]]) -> str:
    sql = _statement(store, params)
    with store.engine.connect() as connection:
        if store.dialect == "sqlite":
            return "\n".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        return "\n".join(str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))


# -- the plan is decided from the parameters -----------------------------------------------------------


def _followed(params: list[tuple[str, str]]) -> tuple[set[str], bool, bool]:
    """The plan of a query as (the values of the patterns followed per event, narrow, likely_times)."""
    query = parse_query_params(params, namespaces={})
    plan = plan_of(query)
    values = {v for i in plan.followers for v in getattr(query.conditions[i], "values", ())}
    return values, plan.narrow, plan.likely_times


def test_plan_of_the_class_query_starts_from_the_class_within_a_narrow_window() -> None:
    assert _followed(CLASS_QUERY) == (set(), True, False)


OTHER_SCHEME = "urn:epc:idpat:usdod:2S194.*"  # no class key for this scheme: only event_epcs answers it


COMPANY = "urn:epc:idpat:sgtin:4012345.*.*"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([PATTERN], (set(), False, False)),  # nothing else to start from
        ([PATTERN, ("EQ_bizStep", "commissioning")], (set(), False, False)),
        ([PATTERN, ("MATCH_anyEPC", "urn:epc:id:sgtin:4012345.011111.7")], ({PATTERN[1]}, False, False)),
        ([PATTERN, ("MATCH_parentID", COMPANY)], ({COMPANY}, False, False)),  # one of two patterns leads
        ([PATTERN, *YEAR, ("EQ_bizStep", "commissioning")], (set(), False, True)),
        ([PATTERN, YEAR[0], ("EQ_bizStep", "commissioning")], (set(), False, True)),
        ([*YEAR, ("EQ_disposition", "active")], (set(), False, False)),
        (
            [("GE_recordTime", "2024-04-08T00:00:00Z"), ("LT_recordTime", "2024-04-09T00:00:00Z")],
            (set(), True, False),
        ),
        ([("EQ_eventID", "ni:///sha-256;00?ver=CBV2.0"), PATTERN], ({PATTERN[1]}, False, False)),
        ([("MATCH_epc", COMPANY), *WEEK], (set(), True, False)),  # a company's classes in a week
        ([("MATCH_epc", OTHER_SCHEME), *WEEK], ({OTHER_SCHEME}, True, False)),
    ],
)
def test_plan_of_other_shapes(params: list[tuple[str, str]], expected: tuple[set[str], bool, bool]) -> None:
    assert _followed(params) == expected


# -- the statements and their plans --------------------------------------------------------------------


def test_each_database_gets_the_form_it_plans_well(store: Store) -> None:
    sql = _statement(store, CLASS_QUERY)
    # the page's events chosen from event_epc_classes alone (the class, its bizStep and the week in
    # its index; visibility tested on them in page order until the page is full), then read from
    # events: only the page's
    assert "events.event_pk IN (SELECT candidates.event_pk" in sql, sql
    assert "(SELECT DISTINCT event_epc_classes.event_pk" in sql, sql
    assert "ORDER BY event_epc_classes.event_pk ASC) AS candidates" in sql, sql
    assert "event_visibility.event_pk = candidates.event_pk)) IS" in sql, sql
    assert "ORDER BY candidates.event_pk ASC" in sql and sql.count("LIMIT 31") == 2, sql
    assert "event_epc_classes.epc_class = 'urn:epc:id:sgtin:4012345.022222.'" in sql, sql
    assert "event_epc_classes.event_time_us >= 1712534400000000" in sql, sql
    assert "event_epc_classes.biz_step = 'commissioning'" in sql, sql
    assert "event_epcs" not in sql, sql
    assert "ORDER BY (events.event_pk + 0)" in sql, sql  # sorted afterwards: no walk in event_pk order


CLASS_RANGE_SQLITE = (
    "ix_event_epc_classes_step (epc_class=? AND biz_step=? AND event_time_us>? AND event_time_us<?)"
)


def test_class_query_starts_from_the_class_and_week_without_statistics_on_sqlite(
    sqlite_store: Store,
) -> None:
    """SQLite gets the plan from the statement's shape alone (PostgreSQL plans from its statistics,
    which the store gathers itself as it grows: :mod:`packtrail.store.statistics`)."""
    plan = _plan(sqlite_store, CLASS_QUERY)
    assert CLASS_RANGE_SQLITE in plan, plan
    assert "ix_event_epcs_value" not in plan and "SCAN events" not in plan, plan


def test_class_query_starts_from_the_class_and_week(store: Store) -> None:
    _analyze(store)
    plan = _plan(store, CLASS_QUERY)
    assert "ix_event_epcs_value" not in plan, plan  # never from the product's every EPC
    if store.dialect == "sqlite":
        assert CLASS_RANGE_SQLITE in plan, plan
        assert "SCAN events" not in plan, plan
    else:
        assert "ix_event_epc_classes_step" in plan, plan
        assert "Index Cond: ((epc_class = 'urn:epc:id:sgtin:4012345.022222.'::text)" in plan, plan
        assert "(biz_step = 'commissioning'::text" in plan, plan
        assert "(event_time_us >= '1712534400000000'::bigint)" in plan, plan  # the week in the index
        assert "events_y2024m03" not in plan and "events_y2024m05" not in plan, plan  # only April's partition
        # visibility probed per event found, in page order (a SubPlan under the LIMIT), never joined
        # with the whole week's events first
        assert "Filter: ((SubPlan 1) IS TRUE)" in plan, plan
        assert "Join" not in plan, plan


def test_a_wide_window_walks_the_bizstep_in_capture_order_on_sqlite(sqlite_store: Store) -> None:
    _analyze(sqlite_store)  # PostgreSQL picks the walk from its statistics by itself
    plan = _plan(sqlite_store, [*YEAR, ("EQ_bizStep", "dispensing")])
    assert "ix_events_biz_step (biz_step=?" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # stops after a page: no sort of the year's dispensings
    sql = _statement(sqlite_store, [*YEAR, ("EQ_bizStep", "dispensing")])
    # the hint as SQLite reads it: a term of its own (``likelihood(…) = 1`` is a comparison, no hint)
    assert "likelihood(events.event_time_us >= " in sql and ", 0.9) = 1" not in sql, sql


def test_patterns_followed_per_event_are_terms_as_written_on_sqlite(sqlite_store: Store) -> None:
    params = [
        ("MATCH_epc", "urn:epc:idpat:sgtin:4012345.011111.*"),
        ("MATCH_parentID", "urn:epc:idpat:sscc:4012345.*"),
    ]
    sql = _statement(sqlite_store, params)
    assert sql.count("EXISTS (SELECT") == 2 and ")) = 1" not in sql, sql


def test_one_epc_still_starts_from_the_epc(store: Store) -> None:
    epc = next(e for e in EVENTS if e.party == PARTY_A and e.step == "packing").epcs[0]
    plan = _plan(store, [("MATCH_anyEPC", epc), *WEEK, ("EQ_bizStep", "packing")])
    assert "ix_event_epcs_value" in plan, plan


def test_any_epc_is_answered_from_the_value_index_alone(store: Store) -> None:
    """``MATCH_anyEPC`` asks for every role: no role is tested, so the ``(epc, event_pk)`` index answers
    the match without reading each matching row (SQLite: a covering index; PostgreSQL: no role filter)."""
    epc = next(e for e in EVENTS if e.party == PARTY_A and e.step == "packing").epcs[0]
    plan = _plan(store, [("MATCH_anyEPC", epc)])
    assert "ix_event_epcs_value" in plan, plan
    assert "role" not in plan, plan
    if store.dialect == "sqlite":
        assert "COVERING INDEX ix_event_epcs_value" in plan, plan
    one_role = _plan(store, [("MATCH_epc", epc)])
    assert "role" in one_role or store.dialect == "sqlite", one_role  # one role is still tested


def test_an_epcs_events_are_read_from_their_own_partitions(store: Store) -> None:
    """PostgreSQL fetches the events found for an EPC by ``(event_pk, event_time_us)``: each from the
    partition of its month, the others pruned while the query runs (never every month's primary key)."""
    _analyze(store)
    epc = next(e for e in EVENTS if e.party == PARTY_A and e.step == "packing").epcs[0]
    sql = _statement(store, [("MATCH_anyEPC", epc)])
    if store.dialect == "sqlite":  # no partitions: each event found looked up by its event_pk
        assert "events.event_pk IN (SELECT event_epcs.event_pk" in sql, sql
        plan = _plan(store, [("MATCH_anyEPC", epc)])
        assert "SEARCH events USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan  # not a walk (rowid<?)
        assert ") = 1" not in sql, sql  # the term as written, not compared with 1
        return
    assert "(events.event_pk, events.event_time_us) IN" in sql, sql
    with store.engine.connect() as connection:
        plan = "\n".join(
            str(row[0])
            for row in connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}"
            )
        )
    scans = [line for line in plan.splitlines() if " on events_y" in line]
    assert len(scans) > 1, plan  # the store has several months
    read = [line for line in scans if "never executed" not in line]
    months = {(e.time.year, e.time.month) for e in EVENTS if epc in e.epcs}
    assert 1 <= len(read) <= len(months), plan


# -- the answers ---------------------------------------------------------------------------------------


def _expected(params: list[tuple[str, str]]) -> list[int]:
    """The ``n`` of the events party A sees that match, in capture order (the Python reading)."""
    low = datetime.fromisoformat(dict(params).get("GE_eventTime", "2000-01-01T00:00:00Z"))
    high = datetime.fromisoformat(dict(params).get("LT_eventTime", "2100-01-01T00:00:00Z"))
    step = dict(params).get("EQ_bizStep")
    values = dict(params)["MATCH_epc"].split(",")
    prefixes = tuple(v.replace(":idpat:", ":id:").split("*")[0] for v in values if "*" in v)
    exact = {v for v in values if "*" not in v}
    mine = sorted((e for e in EVENTS if e.party == PARTY_A), key=lambda e: e.n)
    if dict(params).get("orderDirection") == "DESC":
        mine.reverse()
    return [
        e.n
        for e in mine
        if low <= e.time < high
        and (step is None or e.step == step)
        and any(x.startswith(prefixes) or x in exact for x in e.epcs)
    ]


ONE_PACK = next(
    e.epcs[0]
    for e in EVENTS
    if e.party == PARTY_A and "011111" in e.epcs[0] and e.time >= START + timedelta(days=98, hours=12)
)
"""A pack of another product, commissioned or seen within the week: matched beside the pattern."""


def _n(event: dict[str, Any]) -> int:
    return int(str(event["eventID"]).removeprefix("ni:///sha-256;").removesuffix("?ver=CBV2.0"), 16)


@pytest.mark.parametrize(
    "params",
    [
        CLASS_QUERY,
        [PATTERN, *YEAR, ("EQ_bizStep", "commissioning")],
        [PATTERN, WEEK[0], ("EQ_bizStep", "packing")],
        [PATTERN, *WEEK],
        [("MATCH_epc", "urn:epc:idpat:sgtin:4012345.*.*"), *WEEK, ("EQ_bizStep", "dispensing")],
        [("MATCH_epc", f"{PATTERN[1]},{ONE_PACK}"), *WEEK],
        [*CLASS_QUERY, ("orderDirection", "DESC")],
        [("MATCH_epc", "urn:epc:idpat:sgtin:*.*.*"), ("GE_eventTime", "2024-04-08T12:00:00Z"), WEEK[1]],
    ],
    ids=[
        "class-week",
        "class-year",
        "class-since",
        "class-week-any-step",
        "company-week-dispensing",
        "class-or-one-pack",
        "class-week-descending",
        "scheme-days",
    ],
)
def test_answers_are_the_events_the_party_sees(store: Store, params: list[tuple[str, str]]) -> None:
    query = parse_query_params(params, namespaces={})
    got: list[int] = []
    token: str | None = None
    while True:
        page = store.query_events(query, Viewer(PARTY_A), per_page=7, page_token=token)
        got += [_n(e) for e in page.events]
        token = page.next_page_token
        if token is None:
            break
    expected = _expected(params)
    assert expected, "the fixture should have matches for this query"
    assert got == expected


def test_another_party_sees_none_of_the_class_page(store: Store) -> None:
    """The class-led page is chosen from event_epc_classes with visibility checked there: party B, who
    sees none of A's events, gets an empty answer, not A's commissioning."""
    query = parse_query_params(CLASS_QUERY, namespaces={})
    assert _expected(CLASS_QUERY)  # A sees some
    assert store.query_events(query, Viewer(PARTY_B), per_page=7).events == []
