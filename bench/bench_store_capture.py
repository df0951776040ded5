"""Capture speed of the EPCIS repository: one big JSON-LD document into SQLite and into PostgreSQL.

``python bench/bench_store_capture.py [--events N] [--postgres URL] [--profile]``

Times ``Store.capture(bytes)`` end to end (parse, validate, hash, deduplicate, index rows, every insert,
commit) into a fresh store per backend, and prints events/s and the bytes stored per event (SQLite: the
database file after a WAL checkpoint; PostgreSQL: ``pg_total_relation_size`` of every table, indexes
included). The events are ``bench_epcis_validate.make_events`` (valid ObjectEvents with an SGTIN,
bizStep, disposition, readPoint and bizLocation), every third one shipped to an owning party.
Goal: >= 20,000 events/s for 100,000 events on both backends.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg

import bench_epcis_validate
from packtrail.epcis.document import EPCISDocument
from packtrail.epcis.jsonld import write_jsonld
from packtrail.store import open_store

DEFAULT_POSTGRES = os.environ.get(
    "PACKTRAIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def make_document(n: int) -> bytes:
    """``n`` valid events as one EPCIS 2.0 JSON-LD document."""
    events = bench_epcis_validate.make_events(n)
    for i, event in enumerate(events):
        if i % 3 == 0:
            event["destinationList"] = [
                {"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00000"}
            ]
    doc = EPCISDocument(creation_date="2024-04-01T08:45:16Z", events=events)
    return write_jsonld(doc)


def _timed(url: str, data: bytes, profile: bool) -> tuple[float, Any]:
    with open_store(url) as store:
        gc.collect()
        profiler = cProfile.Profile() if profile else None
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        result = store.capture(data, party="4012345000009")
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - start
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    if not result.success or result.captured == 0:
        raise SystemExit(f"capture failed: {result.errors[:3]}")
    return elapsed, result


def sqlite_run(data: bytes, n: int, profile: bool) -> dict[str, float]:
    """Capture into a fresh SQLite file; events/s and bytes per event."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        elapsed, result = _timed(f"sqlite:///{path}", data, profile)
        import sqlite3

        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = path.stat().st_size
    return {"events_per_s": result.captured / elapsed, "seconds": elapsed, "bytes_per_event": size / n}


def postgres_run(base: str, data: bytes, n: int, profile: bool) -> dict[str, float]:
    """Capture into a fresh schema of the PostgreSQL database at ``base``."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{schema}"
    try:
        elapsed, result = _timed(url, data, profile)
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute("CHECKPOINT")
            size = connection.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                (schema,),
            ).fetchone()
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    total = int(size[0]) if size else 0
    return {"events_per_s": result.captured / elapsed, "seconds": elapsed, "bytes_per_event": total / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events in the document (100,000)")
    parser.add_argument(
        "--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL (a scratch schema is used)"
    )
    parser.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each capture")
    args = parser.parse_args()
    data = make_document(args.events)
    print(f"document: {args.events:,} events, {len(data) / 1e6:.1f} MB JSON-LD")
    if args.backend in ("both", "sqlite"):
        figures = sqlite_run(data, args.events, args.profile)
        print(
            f"sqlite:     {figures['events_per_s']:>9,.0f} events/s ({figures['seconds']:.2f} s),"
            f" {figures['bytes_per_event']:,.0f} bytes/event"
        )
    if args.backend in ("both", "postgresql"):
        figures = postgres_run(args.postgres, data, args.events, args.profile)
        print(
            f"postgresql: {figures['events_per_s']:>9,.0f} events/s ({figures['seconds']:.2f} s),"
            f" {figures['bytes_per_event']:,.0f} bytes/event"
        )


if __name__ == "__main__":
    main()
