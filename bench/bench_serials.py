"""Serial allocation speed: 1,000,000 random serials of one GTIN in one call, on SQLite and PostgreSQL.

``python bench/bench_serials.py [--count N] [--postgres URL] [--no-postgres] [--repeat R] [--profile]``

Times ``SerialService.allocate(gtin, N)`` end to end (guess-bound check, CSPRNG draw, sort, bulk insert
with conflict handling, commit) into a fresh store per backend: a temporary SQLite file, and a fresh
schema of the PostgreSQL database (dropped afterwards). A second allocation of the same size into the
same GTIN shows the cost when the table already holds a million serials. Prints seconds and serials/s.
Goal: <= 5 s for 1,000,000 serials on this machine.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from packtrail.serials import SerialService
from packtrail.store import open_store

DEFAULT_POSTGRES = os.environ.get(
    "PACKTRAIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
GTIN = "04012345111118"


def run(url: str, count: int, repeat: int, profile: bool) -> list[float]:
    """Allocate ``count`` serials ``repeat`` times into one fresh store; seconds per allocation."""
    times: list[float] = []
    with open_store(url) as store:
        service = SerialService(store)
        service.create_pool(GTIN, "numeric", 12)
        for _ in range(repeat):
            gc.collect()
            profiler = cProfile.Profile() if profile else None
            start = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            allocation = service.allocate(GTIN, count, to_gln="4012345000016")
            if profiler is not None:
                profiler.disable()
            times.append(time.perf_counter() - start)
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)
            if len(set(allocation.serials)) != count:
                raise SystemExit("allocation returned repeated serials")
    return times


def _print(backend: str, count: int, times: list[float]) -> None:
    for i, seconds in enumerate(times, 1):
        print(f"{backend:10} allocation {i}: {count:,} serials in {seconds:.2f} s ({count / seconds:,.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _print(
            "sqlite",
            args.count,
            run(f"sqlite:///{Path(folder) / 'bench.db'}", args.count, args.repeat, args.profile),
        )
    if args.no_postgres:
        return
    schema = f"bench_serials_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.postgres, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in args.postgres else "?"
        url = f"{args.postgres}{separator}options=-csearch_path%3D{schema}"
        _print("postgresql", args.count, run(url, args.count, args.repeat, args.profile))
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
