"""Benchmark: the lifecycle projection (issue 5): trace of one pack, recall reach of a 100,000-pack lot,
and the projection's share of capture time.

1. **Load** ``--events`` events (default 200,000; the issue's figure is for 10,000,000) of a pharma supply
   chain through :meth:`Store.capture` with the lifecycle projector attached, in time order, in documents
   of ``--doc-events`` events: per lot (the first of ``--lot-packs`` = 100,000 packs) one commissioning
   ObjectEvent per pack with ILMD lot/expiry, packing 20 packs per case and 20 cases per pallet, the
   maker shipping pallets to 3 wholesalers (``owning_party`` source/destination, a ``po``), receiving and
   unpacking there, cases shipped to 50 pharmacies and received, 30% of the packs dispensed — each step
   captured by the party doing it. Prints events/s and the time spent inside the projector.
2. **Projection share**: ``--share-events`` events of the same kind (lots of ``--share-lot-packs`` packs,
   so that the sample holds whole flows: commissioning and packing, then the fan-out of pallet and case
   shipments) captured into fresh stores with and without the projector, alternating, best of
   ``--share-repeats`` each; share = (with - without) / with (goal <= 30%).
3. **Trace**: ``--traces`` random packs of the big lot traced (:func:`packtrail.lifecycle.trace`) as the
   administrator and as the maker (a party: visibility checked): p50/p99 (goal p99 <= 20 ms).
4. **Recall reach** of the big lot (counts by state, owner, location and the list of 100,000 packs as
   JSON): best and median of 5 (goal <= 1 s).

    .venv/bin/python bench/bench_lifecycle.py                                   # 200,000 events, SQLite
    .venv/bin/python bench/bench_lifecycle.py --postgres                        # the same on PostgreSQL
    .venv/bin/python bench/bench_lifecycle.py --events 10000000 --write bench/RESULTS.md
    # load the 10M store once, keep it, measure again later on it (--share-repeats 0: no share runs)
    .venv/bin/python bench/bench_lifecycle.py --events 10000000 --dir /data/lc --keep
    .venv/bin/python bench/bench_lifecycle.py --events 10000000 --dir /data/lc --keep --write bench/RESULTS.md

SQLite stores go to a temporary directory (``--dir`` to choose), PostgreSQL stores to fresh schemas of
the local server's ``postgres`` database (``--postgres-url``); both are removed afterwards unless
``--keep``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from packtrail.lifecycle import attach, recall, trace  # noqa: E402
from packtrail.lifecycle.projector import LifecycleProjector  # noqa: E402
from packtrail.store import Store, Viewer, open_store  # noqa: E402
from results_file import write_results  # noqa: E402 - a sibling in bench/

SECTION = "bench_lifecycle"
TITLE = "Lifecycle projection: trace, recall reach, share of capture (bench_lifecycle)"
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
GTIN = "04012345111118"
ITEM = "4012345.011111"
MAKER = ("4012345000009", "urn:epc:id:pgln:4012345.00000", "urn:epc:id:sgln:4012345.00000.0")
DAY_US = 86_400_000_000
T0_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
SEED = 20260105
PACKS_PER_CASE = 20
CASES_PER_PALLET = 20
DISPENSED = 0.3


def _gln(body12: str) -> str:
    from packtrail.gs1.checkdigit import gs1_check_digit

    return body12 + gs1_check_digit(body12)


WHOLESALERS = [
    (_gln(f"061414{i:06d}"), f"urn:epc:id:pgln:0614141.{i:05d}", f"urn:epc:id:sgln:0614141.{i:05d}.0")
    for i in range(1, 4)
]
PHARMACIES = [
    (_gln(f"095000{i:06d}"), f"urn:epc:id:pgln:0950000.{i:05d}", f"urn:epc:id:sgln:0950000.{i:05d}.0")
    for i in range(1, 51)
]


def _time(us: int) -> str:
    seconds, micro = divmod(us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micro // 1000:03d}Z"


def _event(kind: str, us: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "eventTime": _time(us), "eventTimeZoneOffset": "+00:00", **fields}


@dataclass
class Segment:
    """Events one party captures, in time order."""

    party: str
    events: list[dict[str, Any]]


def lot_segments(lot: int, packs: int, start_us: int, rng: random.Random) -> Iterator[Segment]:
    """The events of one lot, as the segments each party captures, in time order (see the docstring)."""
    serials = [f"urn:epc:id:sgtin:{ITEM}.L{lot}S{i}" for i in range(packs)]
    maker: list[dict[str, Any]] = []
    ilmd = {"cbvmda:lotNumber": f"LOT{lot}", "cbvmda:itemExpirationDate": "2029-12-31"}
    cases: list[tuple[str, list[str]]] = []
    pallets: list[tuple[str, list[str]]] = []
    us = start_us
    case_no = pallet_no = 0
    open_case: list[str] = []
    open_pallet: list[str] = []
    for epc in serials:
        us += 500_000
        maker.append(
            _event(
                "ObjectEvent",
                us,
                epcList=[epc],
                action="ADD",
                bizStep="commissioning",
                disposition="active",
                readPoint={"id": MAKER[2]},
                bizLocation={"id": MAKER[2]},
                ilmd=ilmd,
            )
        )
        open_case.append(epc)
        if len(open_case) == PACKS_PER_CASE or epc is serials[-1]:
            case_no += 1
            case = f"urn:epc:id:sscc:4012345.0{lot * 100_000 + case_no:09d}"
            us += 1000
            maker.append(
                _event(
                    "AggregationEvent",
                    us,
                    parentID=case,
                    childEPCs=open_case,
                    action="ADD",
                    bizStep="packing",
                    disposition="in_progress",
                    bizLocation={"id": MAKER[2]},
                )
            )
            cases.append((case, open_case))
            open_pallet.append(case)
            open_case = []
            if len(open_pallet) == CASES_PER_PALLET or epc is serials[-1]:
                pallet_no += 1
                pallet = f"urn:epc:id:sscc:4012345.9{lot * 100_000 + pallet_no:09d}"
                us += 1000
                maker.append(
                    _event(
                        "AggregationEvent",
                        us,
                        parentID=pallet,
                        childEPCs=open_pallet,
                        action="ADD",
                        bizStep="packing",
                        disposition="in_progress",
                        bizLocation={"id": MAKER[2]},
                    )
                )
                pallets.append((pallet, open_pallet))
                open_pallet = []
    ship_us = us + DAY_US
    routes = {pallet: WHOLESALERS[i % len(WHOLESALERS)] for i, (pallet, _) in enumerate(pallets)}
    for i, (pallet, _) in enumerate(pallets):
        w = routes[pallet]
        maker.append(
            _event(
                "ObjectEvent",
                ship_us + i * 1000,
                epcList=[pallet],
                action="OBSERVE",
                bizStep="shipping",
                disposition="in_transit",
                readPoint={"id": MAKER[2]},
                bizTransactionList=[
                    {"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{w[0]}:PO{lot}-{i}"}
                ],
                sourceList=[{"type": "owning_party", "source": MAKER[1]}],
                destinationList=[{"type": "owning_party", "destination": w[1]}],
            )
        )
    yield Segment(MAKER[0], maker)
    case_of_pallet = dict(pallets)
    pharmacy_cases: dict[tuple[str, ...], list[str]] = {}
    for w in WHOLESALERS:
        events: list[dict[str, Any]] = []
        mine = [pallet for pallet, _ in pallets if routes[pallet] == w]
        for i, pallet in enumerate(mine):
            events.append(
                _event(
                    "ObjectEvent",
                    ship_us + DAY_US + i * 1000,
                    epcList=[pallet],
                    action="OBSERVE",
                    bizStep="receiving",
                    disposition="in_progress",
                    bizLocation={"id": w[2]},
                )
            )
            events.append(
                _event(
                    "AggregationEvent",
                    ship_us + DAY_US + 3_600_000_000 + i * 1000,
                    parentID=pallet,
                    action="DELETE",
                    bizStep="unpacking",
                    disposition="in_progress",
                    bizLocation={"id": w[2]},
                )
            )
        j = 0
        for pallet in mine:
            for case in case_of_pallet[pallet]:
                p = PHARMACIES[rng.randrange(len(PHARMACIES))]
                events.append(
                    _event(
                        "ObjectEvent",
                        ship_us + 2 * DAY_US + j * 1000,
                        epcList=[case],
                        action="OBSERVE",
                        bizStep="shipping",
                        disposition="in_transit",
                        sourceList=[{"type": "owning_party", "source": w[1]}],
                        destinationList=[{"type": "owning_party", "destination": p[1]}],
                    )
                )
                pharmacy_cases.setdefault(p, []).append(case)
                j += 1
        events.sort(key=lambda e: e["eventTime"])
        yield Segment(w[0], events)
    packs_of = dict(cases)
    for p, its_cases in pharmacy_cases.items():
        events = []
        for i, case in enumerate(its_cases):
            events.append(
                _event(
                    "ObjectEvent",
                    ship_us + 3 * DAY_US + i * 1000,
                    epcList=[case],
                    action="OBSERVE",
                    bizStep="receiving",
                    disposition="in_progress",
                    bizLocation={"id": p[2]},
                )
            )
            for k, epc in enumerate(packs_of[case]):
                if rng.random() < DISPENSED:
                    events.append(
                        _event(
                            "ObjectEvent",
                            ship_us + (5 + rng.randrange(50)) * DAY_US + k,
                            epcList=[epc],
                            action="OBSERVE",
                            bizStep="dispensing",
                            disposition="dispensed",
                            bizLocation={"id": p[2]},
                        )
                    )
        events.sort(key=lambda e: e["eventTime"])
        yield Segment(p[0], events)


def documents(total: int, lot_packs: int, doc_events: int) -> Iterator[tuple[str, bytes, int]]:
    """``(party, JSON-LD document, events)`` until ``total`` events, lot after lot."""
    rng = random.Random(SEED)
    sent = 0
    lot = 0
    while sent < total:
        start = T0_US + lot * 2 * DAY_US
        for segment in lot_segments(lot, lot_packs, start, rng):
            events = segment.events
            for at in range(0, len(events), doc_events):
                part = events[at : at + doc_events][: total - sent]
                if not part:
                    return
                body = {
                    "@context": CONTEXT,
                    "type": "EPCISDocument",
                    "schemaVersion": "2.0",
                    "creationDate": "2026-01-01T00:00:00.000Z",
                    "epcisBody": {"eventList": part},
                }
                yield segment.party, orjson.dumps(body), len(part)
                sent += len(part)
                if sent >= total:
                    return
        lot += 1


class TimedProjector(LifecycleProjector):
    """The lifecycle projector, timing itself."""

    seconds = 0.0

    def project(self, connection: Any, events: Any) -> None:
        started = time.perf_counter()
        super().project(connection, events)
        TimedProjector.seconds += time.perf_counter() - started

    def flush(self, connection: Any) -> None:
        started = time.perf_counter()
        super().flush(connection)
        TimedProjector.seconds += time.perf_counter() - started


class Stores:
    """Fresh stores (SQLite files or PostgreSQL schemas), removed at the end unless kept."""

    def __init__(self, postgres: str | None, folder: Path, keep: bool) -> None:
        self.postgres, self.folder, self.keep = postgres, folder, keep
        self.schemas: list[str] = []
        self.events = 0
        """Events of the big store (dropped with the rest unless kept)."""

    def new(self, name: str) -> Store:
        if self.postgres is None:
            return open_store(f"sqlite:///{self.folder / (name + '.db')}")
        schema = f"bench_lifecycle_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)
        return self._open_schema(schema)

    def _open_schema(self, schema: str) -> Store:
        assert self.postgres is not None
        separator = "&" if "?" in self.postgres else "?"
        return open_store(f"{self.postgres}{separator}options=-csearch_path%3D{schema}")

    def big(self, events: int) -> tuple[Store, bool]:
        """The big store of ``events`` events, kept between runs: (store, True when it is already loaded).
        A partial one (an interrupted load) is started afresh."""
        loaded = self.folder / f"big-{events}.json"
        if self.postgres is None:
            path = self.folder / f"big-{events}.db"
            if not loaded.exists():
                for stale in self.folder.glob(f"big-{events}.db*"):
                    stale.unlink()
            return open_store(f"sqlite:///{path}"), loaded.exists()
        schema = f"bench_lifecycle_big_{events}"
        with psycopg.connect(self.postgres, autocommit=True) as conn:
            if not loaded.exists():
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        return self._open_schema(schema), loaded.exists()

    def drop_all(self) -> None:
        """Remove the stores made so far (the with/without runs' scratch stores)."""
        if self.postgres is not None:
            with psycopg.connect(self.postgres, autocommit=True) as conn:
                for schema in self.schemas:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            self.schemas = []
        else:
            for path in self.folder.glob("with*.db*"):
                path.unlink()

    def analyze(self, store: Store) -> None:
        with store.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")

    def close(self) -> None:
        if self.keep:
            print(
                f"kept: {self.folder if self.postgres is None else ', '.join(self.schemas)} and the big store"
            )
            return
        if self.postgres is not None:
            with psycopg.connect(self.postgres, autocommit=True) as conn:
                for schema in self.schemas:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                conn.execute(f'DROP SCHEMA IF EXISTS "bench_lifecycle_big_{self.events}" CASCADE')
        shutil.rmtree(self.folder, ignore_errors=True)


def load(store: Store, docs: Iterator[tuple[str, bytes, int]], label: str) -> tuple[int, float]:
    """Capture every document; returns (events, seconds)."""
    events = 0
    started = time.perf_counter()
    last = started
    for party, body, count in docs:
        result = store.capture(body, party=party)
        assert result.success and result.captured == count, result.errors[:3]
        events += count
        now = time.perf_counter()
        if now - last > 30:
            print(f"  {label}: {events:,} events, {events / (now - started):,.0f}/s", flush=True)
            last = now
    return events, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in the big store")
    parser.add_argument("--lot-packs", type=int, default=100_000, help="packs per lot (the recalled lot)")
    parser.add_argument("--doc-events", type=int, default=10_000, help="events per captured document")
    parser.add_argument("--share-events", type=int, default=100_000, help="events of the with/without runs")
    parser.add_argument("--share-repeats", type=int, default=3, help="with/without runs (the best of each)")
    parser.add_argument(
        "--share-lot-packs",
        type=int,
        default=10_000,
        help="packs per lot of the with/without runs (whole flows)",
    )
    parser.add_argument(
        "--share-only",
        action="store_true",
        help="measure only the projection's share (no big store); its own section with --write",
    )
    parser.add_argument("--traces", type=int, default=300, help="packs traced")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--dir", type=Path, default=None, help="folder of the SQLite stores")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the stores; the big one is then reused by the next run with the same --dir and --events",
    )
    parser.add_argument("--write", type=Path, default=None, help="write the section into this RESULTS.md")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-lifecycle-"))
    folder.mkdir(parents=True, exist_ok=True)
    stores = Stores(args.postgres_url if args.postgres else None, folder, args.keep)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    rows: list[tuple[str, str, str, str]] = []
    try:
        # 2. the share: with and without the projector, same documents, alternating, best of each
        share_events = min(args.share_events, args.events)
        if args.share_repeats == 0:
            share_events = 0
        docs = list(documents(share_events, args.share_lot_packs, args.doc_events))
        withouts, withs, insides = [], [], []
        for repeat in range(args.share_repeats):
            without = stores.new(f"without{repeat}")
            withouts.append(load(without, iter(docs), "without projector")[1])
            without.close()
            with_store = stores.new(f"with{repeat}")
            with_store.add_projector(TimedProjector())
            TimedProjector.seconds = 0.0
            withs.append(load(with_store, iter(docs), "with projector")[1])
            insides.append(TimedProjector.seconds / withs[-1])
            with_store.close()
            stores.drop_all()
        del docs
        if withs:
            t_with, t_without = min(withs), min(withouts)
            share = (t_with - t_without) / t_with
            print(
                f"{backend}: {share_events:,} events captured in {t_without:.1f} s without the projector, "
                f"{t_with:.1f} s with it (best of {args.share_repeats} each): share {share:.1%} "
                f"(time inside the projector: {min(insides):.1%} to {max(insides):.1%} of capture)"
            )
            rows.append(
                ("projection share of capture", f"{share:.1%}", "<= 30%", f"{0.30 / max(share, 1e-9):.2f}x")
            )

        if args.share_only:
            table = "| figure | measured | goal | ratio |\n|---|---|---|---|\n" + "\n".join(
                f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows
            )
            print(f"\n{backend}, {share_events:,} events with and without the projector\n{table}")
            if args.write is not None:
                command = "python bench/bench_lifecycle.py " + " ".join(sys.argv[1:])
                key = f"{SECTION}_share_{backend.lower()}"
                title = (
                    f"Lifecycle projection: share of capture only (bench_lifecycle --share-only), {backend}"
                )
                write_results(args.write, {key: (title, table)}, command)
            return

        # 1. the big store (kept for the next run with --keep; loaded once)
        stores.events = args.events
        store, loaded = stores.big(args.events)
        stats_file = folder / f"big-{args.events}.json"
        if loaded:
            stats = orjson.loads(stats_file.read_bytes())
            events, seconds, inside = stats["events"], stats["seconds"], stats["inside"]
            print(f"{backend}: reusing the store of {events:,} events loaded earlier")
        else:
            attach(store)
            TimedProjector.seconds = 0.0
            store._projectors = [TimedProjector()]  # the timed one instead
            events, seconds = load(store, documents(args.events, args.lot_packs, args.doc_events), "load")
            inside = TimedProjector.seconds
            stores.analyze(store)
            stats_file.write_bytes(orjson.dumps({"events": events, "seconds": seconds, "inside": inside}))
        print(
            f"{backend}: {events:,} events loaded in {seconds:.0f} s ({events / seconds:,.0f} events/s with the "
            f"projection; {inside / seconds:.1%} of it inside project())"
        )
        rows.append(("capture with projection", f"{events / seconds:,.0f} events/s", "-", "-"))

        # 3. trace
        rng = random.Random(SEED)
        lot_packs = min(args.lot_packs, events)
        picks = [
            f"urn:epc:id:sgtin:{ITEM}.L0S{rng.randrange(int(lot_packs * 0.9))}" for _ in range(args.traces)
        ]
        for label, viewer in (("administrator", Viewer.admin()), ("maker (party)", Viewer(MAKER[0]))):
            timings = []
            for epc in picks[:10]:
                trace(store, epc, viewer)  # warm up
            for epc in picks:
                started = time.perf_counter()
                found = trace(store, epc, viewer)
                timings.append((time.perf_counter() - started) * 1000)
                assert found.events
            p50, p99 = percentile(timings, 50), percentile(timings, 99)
            print(f"trace of one pack as {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({len(picks)} packs)")
            rows.append((f"trace p99 ({label})", f"{p99:.2f} ms", "<= 20 ms", f"{20 / p99:.2f}x"))

        # 4. recall reach
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            reach = recall(store, GTIN, "LOT0", Viewer.admin())
            body = orjson.dumps(reach.as_json())
            timings.append(time.perf_counter() - started)
        counts = reach.as_json(limit=0)
        print(
            f"recall reach of LOT0 ({counts['packs']:,} packs, {len(body) / 1e6:.1f} MB of JSON): best "
            f"{min(timings):.3f} s, median {statistics.median(timings):.3f} s; by state {counts['byState']}"
        )
        rows.append(
            (
                f"recall reach, {counts['packs']:,} packs",
                f"{statistics.median(timings):.3f} s",
                "<= 1 s",
                f"{1 / statistics.median(timings):.2f}x",
            )
        )
        store.close()
    finally:
        stores.close()
    table = "| figure | measured | goal | ratio |\n|---|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows
    )
    print(f"\n{backend}, {args.events:,} events\n{table}")
    if args.write is not None:
        command = "python bench/bench_lifecycle.py " + " ".join(sys.argv[1:])
        write_results(args.write, {f"{SECTION}_{backend.lower()}": (f"{TITLE}, {backend}", table)}, command)


if __name__ == "__main__":
    main()
