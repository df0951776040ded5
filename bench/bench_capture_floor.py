"""How fast capture could be on this schema: the storage floor beside the capture itself.

``python bench/bench_capture_floor.py [--backend sqlite|postgresql|both] [--events N] [--repeat K]``

The issue's capture goal is 20,000 events/s for the 100,000-event pharma document
(:func:`bench_epcis_repository.capture_document`) on this 2-core machine. This script answers where
that goal stands against what the store's schema costs, with no Python of packtrail's in the way:

1. **capture** — ``Store.capture`` of the document in process, as ``packtrail serve`` runs it (the
   lifecycle projection attached, the checking workers started ahead): seconds, and the CPU the whole
   machine spent meanwhile (``/proc/stat``, core-seconds: the checking workers, the projection, the
   database — PostgreSQL's server too).
2. **storage alone** — every row that capture wrote (``events``, ``event_keys``, each index table,
   ``event_visibility``, ``lifecycle_items`` and ``lifecycle_exceptions``) read back, then written into
   a fresh, empty store of the same backend by the writer capture uses (:class:`BulkWriter`: multi-row
   ``VALUES`` on SQLite, binary ``COPY`` on PostgreSQL; the keys through its deduplicating claim), in capture's chunks of
   :data:`~packtrail.store.capture.CHUNK_EVENTS` events, the lifecycle rows in key order at the end, one
   transaction, one commit: no parsing, no checking, no hashing, no projection. The time per table says
   which B-trees cost what. With ``--repeat``, the fastest capture and the fastest storage are kept
   (this machine's speed drifts between runs, the storage's most: see bench/RESULTS.md).
3. **the one writer's CPU** — for storage alone, the CPU seconds of the one process that does the
   database's work: on SQLite the writing thread (``time.thread_time``: SQLite's B-trees and the
   driver's binding of every value), on PostgreSQL the server process serving the transaction (its
   ``/proc/<pid>/stat``; PostgreSQL never runs a statement that writes in parallel, so one transaction's
   work is one process's). During the capture, PostgreSQL's server processes' CPU too (all, and the
   busiest: the capture's own).
4. **no secondary index** — the same rows into a store whose indexes beyond the primary keys and unique
   constraints were dropped: what storing the rows costs before any index a query needs.

What the figures mean: ``events / storage seconds`` is the most any capture could reach on this schema
with a single writer (SQLite has one; a PostgreSQL transaction is one server process), however fast the
rest; ``events / the one writer's CPU seconds`` is the same bound counted in CPU, free of the waits;
``events / (machine core-seconds / cores)`` is the most this capture could reach were its work
spread perfectly over every core. The goal needs all of them above it.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa

import bench_epcis_repository as repository
from cpu_clock import machine_busy, process_cpu
from packtrail.lifecycle import attach
from packtrail.lifecycle import tables as lifecycle_tables
from packtrail.store import capture_workers, open_store, schema
from packtrail.store.bulk import BulkWriter
from packtrail.store.capture import CHUNK_EVENTS
from packtrail.store.engine import CAPTURE_CACHE_KIB
from packtrail.store.partitions import PartitionManager
from results_file import write_results

GOAL = 20_000
"""The issue's capture goal, events per second."""

EVENT_TABLES: tuple[sa.Table, ...] = (
    schema.events,
    schema.event_keys,
    *schema.INDEX_TABLES,
    schema.event_visibility,
)
"""Written chunk by chunk, as capture writes them (each row belongs to one event)."""
LIFECYCLE_TABLES: tuple[sa.Table, ...] = (
    lifecycle_tables.lifecycle_items,
    lifecycle_tables.lifecycle_exceptions,
)
"""Written once at the end, as the projection writes them."""


class Place:
    """Where a backend's scratch stores live."""

    def __init__(self, backend: str, folder: Path, postgres: str) -> None:
        self.backend = backend
        self.repository_backend: repository.Backend = (
            repository.SQLiteBackend(folder) if backend == "sqlite" else repository.PostgresBackend(postgres)
        )

    def fresh(self) -> tuple[str, str]:
        label = f"floor_{uuid.uuid4().hex[:10]}"
        return label, self.repository_backend.fresh(label)

    def drop(self, label: str) -> None:
        self.repository_backend.drop(label)


def server_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL server process on this machine, by pid (empty elsewhere)."""
    spent: dict[int, float] = {}
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return spent
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm", encoding="ascii") as comm:
                if not comm.read().startswith("postgres"):
                    continue
        except OSError:
            continue
        cpu = process_cpu(pid)
        if cpu is not None:
            spent[pid] = cpu
    return spent


def server_spent(before: dict[int, float], after: dict[int, float]) -> tuple[float, float] | None:
    """(all server processes, the busiest one): CPU seconds spent between two :func:`server_cpu`
    readings, or None when there were none to read."""
    spent = sorted((cpu - before.get(pid, 0.0) for pid, cpu in after.items()), reverse=True)
    return (sum(spent), spent[0]) if spent else None


def capture(url: str, document: bytes) -> tuple[float, float | None]:
    """Capture ``document`` in process as a node does; (seconds, machine core-seconds)."""
    seconds, busy, _ = capture_measured(url, document)
    return seconds, busy


def capture_measured(url: str, document: bytes) -> tuple[float, float | None, tuple[float, float] | None]:
    """:func:`capture`, and the CPU seconds PostgreSQL's server processes spent meanwhile (all of them,
    and the busiest: the one serving the capture's transaction); None on SQLite."""
    store = open_store(url)
    postgres = store.engine.dialect.name == "postgresql"
    try:
        attach(store)
        capture_workers.prepare()
        time.sleep(1.0)  # the workers' imports settle
        server = server_cpu() if postgres else {}
        busy = machine_busy()
        start = time.perf_counter()
        result = store.capture(document, party=repository.MANUFACTURERS[0].party.gln)
        seconds = time.perf_counter() - start
        after = machine_busy()
        spent = server_spent(server, server_cpu()) if postgres else None
        if not result.success or result.captured == 0:
            raise SystemExit(f"capture failed: {result.errors[:3]}")
    finally:
        store.engine.dispose()
    return seconds, (after - busy) if busy is not None and after is not None else None, spent


def read_rows(url: str) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """Every row of the tables capture writes: table name -> (columns, rows)."""
    store = open_store(url)
    out: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {}
    try:
        with store.engine.connect() as connection:
            for table in (*EVENT_TABLES, *LIFECYCLE_TABLES):
                columns = tuple(c.name for c in table.columns)
                rows = [tuple(row) for row in connection.execute(sa.select(*table.columns))]
                out[table.name] = (columns, rows)
    finally:
        store.engine.dispose()
    return out


def replay(
    url: str, rows: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]], writer_cpu: dict[str, float]
) -> dict[str, float]:
    """Write ``rows`` into the empty store at ``url`` in capture's chunks; seconds per table and for
    the commit. ``writer_cpu`` gets the CPU seconds of the one process that does the database's work —
    the writing thread here on SQLite, the server process of the transaction on PostgreSQL (None where
    ``/proc`` does not show it) — for the event tables (``events``), the lifecycle rows
    (``lifecycle``) and the commit (``commit``)."""
    store = open_store(url)
    seconds: dict[str, float] = {}
    try:
        event_times = [row[1] for row in rows["events"][1]]
        if store.engine.dialect.name == "postgresql":  # the months' partitions, made ahead
            PartitionManager(store.engine).ensure(event_times)
        by_event: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]], list[int]]] = {}
        for table in EVENT_TABLES:
            columns, table_rows = rows[table.name]
            at = columns.index("event_pk")
            ordered = sorted(table_rows, key=itemgetter(at))
            by_event[table.name] = (columns, ordered, [row[at] for row in ordered])
        pks = by_event["events"][2]
        with store.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                driver: Any = connection.connection.driver_connection
                driver.execute(f"PRAGMA cache_size={CAPTURE_CACHE_KIB}")
                driver.execute("PRAGMA wal_autocheckpoint=0")
                cpu: Callable[[], float | None] = time.thread_time
            else:
                pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
                connection.commit()
                cpu = functools.partial(process_cpu, pid)
            marks = [cpu()]
            transaction = connection.begin()
            writer = BulkWriter(connection)
            for start in range(0, len(pks), CHUNK_EVENTS):
                low, high = pks[start], pks[min(start + CHUNK_EVENTS, len(pks)) - 1]
                for table in EVENT_TABLES:
                    columns, ordered, keys = by_event[table.name]
                    part = ordered[bisect_left(keys, low) : bisect_right(keys, high)]
                    began = time.perf_counter()
                    if table is schema.event_keys:  # as capture takes them: the deduplicating claim
                        if not writer.claim(part):
                            raise SystemExit("storage alone: a key was claimed twice")
                    else:
                        writer.insert(table, columns, part)
                    seconds[table.name] = seconds.get(table.name, 0.0) + time.perf_counter() - began
            marks.append(cpu())
            for table in LIFECYCLE_TABLES:
                columns, table_rows = rows[table.name]
                began = time.perf_counter()
                writer.insert(table, columns, sorted(table_rows, key=itemgetter(0)))
                seconds[table.name] = time.perf_counter() - began
            marks.append(cpu())
            began = time.perf_counter()
            transaction.commit()
            seconds["commit"] = time.perf_counter() - began
            marks.append(cpu())
    finally:
        store.engine.dispose()
    for name, first, last in zip(("events", "lifecycle", "commit"), marks[:-1], marks[1:], strict=True):
        if first is not None and last is not None:
            writer_cpu[name] = last - first
    return seconds


_SECONDARY_INDEXES: Final = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    "postgresql": (
        "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = current_schema() "
        "AND NOT i.relispartition AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
    ),
}
"""The indexes a store has beyond its primary keys and unique constraints (on PostgreSQL, a partitioned
table's index once: dropping it drops its partitions')."""


def drop_secondary_indexes(url: str) -> int:
    """Drop every index of the store at ``url`` but those of its primary keys and unique constraints
    (the event keys' claim keeps working); how many were dropped."""
    store = open_store(url)
    try:
        with store.engine.begin() as connection:
            names = list(connection.execute(sa.text(_SECONDARY_INDEXES[connection.dialect.name])).scalars())
            for name in names:
                connection.execute(sa.text(f'DROP INDEX "{name}"'))
    finally:
        store.engine.dispose()
    return len(names)


def measure(place: Place, document: bytes, events: int) -> dict[str, Any]:
    captured_label, captured_url = place.fresh()
    replay_label, replay_url = place.fresh()
    bare_label, bare_url = place.fresh()
    try:
        capture_seconds, busy, server = capture_measured(captured_url, document)
        rows = read_rows(captured_url)
        writer_cpu: dict[str, float] = {}
        tables = replay(replay_url, rows, writer_cpu)
        dropped = drop_secondary_indexes(bare_url)
        bare_cpu: dict[str, float] = {}
        bare_tables = replay(bare_url, rows, bare_cpu)
    finally:
        place.drop(captured_label)
        place.drop(replay_label)
        place.drop(bare_label)
    storage = sum(tables.values())
    cores = os.cpu_count() or 1
    return {
        "backend": place.backend,
        "events": events,
        "capture_seconds": capture_seconds,
        "capture_events_per_s": events / capture_seconds,
        "machine_core_seconds": busy,
        "parallel_ceiling_events_per_s": events / (busy / cores) if busy else None,
        "storage_seconds": storage,
        "storage_ceiling_events_per_s": events / storage,
        "storage_share": storage / capture_seconds,
        "server_cpu_seconds": server[0] if server else None,
        "server_busiest_cpu_seconds": server[1] if server else None,
        "writer_cpu": writer_cpu,
        "bare_indexes_dropped": dropped,
        "bare_storage_seconds": sum(bare_tables.values()),
        "bare_writer_cpu": bare_cpu,
        "rows": {name: len(table_rows) for name, (_, table_rows) in rows.items()},
        "tables": tables,
    }


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ({value / GOAL:.2f}x)"


def _writer_total(run: dict[str, Any], key: str = "writer_cpu") -> float | None:
    cpu = run[key]
    return sum(cpu.values()) if len(cpu) == 3 else None


def render(runs: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| backend | capture events/s | machine core-s | ceiling, work spread over every core | "
        "storage alone s | ceiling, storage alone | storage / capture |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        busy = run["machine_core_seconds"]
        lines.append(
            f"| {run['backend']} | {_rate(run['capture_events_per_s'])} | "
            f"{'–' if busy is None else f'{busy:.1f}'} | {_rate(run['parallel_ceiling_events_per_s'])} | "
            f"{run['storage_seconds']:.2f} | {_rate(run['storage_ceiling_events_per_s'])} | "
            f"{run['storage_share']:.0%} |"
        )
    lines += [
        "",
        "The one writer's CPU, storage alone (SQLite: the writing thread, packtrail's binding included; "
        "PostgreSQL: the server process of the transaction), seconds:",
        "",
        "| backend | event tables | lifecycle rows | commit | all | ceiling, one writer's CPU | "
        "event tables alone: ceiling | during the capture: server processes, all / busiest |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        server = (
            f"{run['server_cpu_seconds']:.2f} / {run['server_busiest_cpu_seconds']:.2f}"
            if run.get("server_cpu_seconds") is not None
            else "–"
        )
        for key, label, during in (
            ("writer_cpu", run["backend"], server),
            (
                "bare_writer_cpu",
                f"{run['backend']}, no secondary index ({run['bare_indexes_dropped']} dropped)",
                "",
            ),
        ):
            cpu, total = run[key], _writer_total(run, key)
            if total is None:
                lines.append(f"| {label} | – | – | – | – | – | – | {during or '–'} |")
                continue
            lines.append(
                f"| {label} | {cpu['events']:.2f} | {cpu['lifecycle']:.2f} | {cpu['commit']:.2f} | "
                f"{total:.2f} | {_rate(run['events'] / total)} | {_rate(run['events'] / cpu['events'])} | "
                f"{during} |"
            )
    lines += ["", "Storage alone, seconds per table (rows per event):", ""]
    names = list(runs[0]["tables"])
    lines.append("| table | " + " | ".join(run["backend"] for run in runs) + " |")
    lines.append("|---|" + "---:|" * len(runs))
    for name in names:
        if name != "commit" and not any(run["rows"].get(name) for run in runs):
            continue  # a table this document gives no rows (sensor reports, error declarations...)
        cells = []
        for run in runs:
            count = run["rows"].get(name)
            share = f" ({count / run['events']:.2f})" if count is not None else ""
            cells.append(f"{run['tables'].get(name, 0.0):.3f}{share}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Goal {GOAL:,} events/s; ratios are against it. The capture is the {runs[0]['events']:,}-event "
        "pharma document "
        "of bench_epcis_repository, in process (no HTTP), the lifecycle projection attached; "
        "'storage alone' writes the same rows with capture's writer into an empty store, no checking.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per backend (the fastest capture and storage are kept)"
    )
    parser.add_argument("--postgres", default=repository.DEFAULT_POSTGRES)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    document = repository.capture_document(args.events)
    folder = Path(tempfile.mkdtemp(prefix="packtrail-floor-", dir=os.environ.get("TMPDIR", "/var/tmp")))
    runs: list[dict[str, Any]] = []
    try:
        for backend in backends:
            place = Place(backend, folder, args.postgres)
            tries = [measure(place, document, args.events) for _ in range(args.repeat)]
            for run in tries:
                total = _writer_total(run)
                print(
                    f"{backend}: capture {run['capture_events_per_s']:,.0f} events/s, "
                    f"storage alone {run['storage_seconds']:.2f} s, "
                    f"the writer's CPU {'–' if total is None else f'{total:.2f} s'}",
                    flush=True,
                )
            best = dict(min(tries, key=lambda run: run["capture_seconds"]))
            floor = min(tries, key=lambda run: run["storage_seconds"])  # a floor: the best of the runs
            for key in ("storage_seconds", "storage_ceiling_events_per_s", "tables"):
                best[key] = floor[key]
            timed = [run for run in tries if _writer_total(run) is not None]
            if timed:  # the writer's CPU: the least of the runs, as for the storage's seconds
                best["writer_cpu"] = min(timed, key=lambda run: _writer_total(run) or 0.0)["writer_cpu"]
            bare = [run for run in tries if _writer_total(run, "bare_writer_cpu") is not None]
            if bare:
                best["bare_writer_cpu"] = min(
                    bare, key=lambda run: _writer_total(run, "bare_writer_cpu") or 0.0
                )["bare_writer_cpu"]
            best["storage_share"] = best["storage_seconds"] / best["capture_seconds"]
            runs.append(best)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    text = render(runs)
    print(text)
    if args.json:
        print(json.dumps(runs, indent=2))
    if not args.no_write:
        command = "python bench/bench_capture_floor.py " + " ".join(sys.argv[1:])
        write_results(
            Path(__file__).resolve().parent / "RESULTS.md",
            {"bench_capture_floor": ("EPCIS capture against its storage floor (bench_capture_floor)", text)},
            command.strip(),
        )


if __name__ == "__main__":
    main()
