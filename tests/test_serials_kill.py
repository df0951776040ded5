"""kill -9 during allocation never duplicates a serial, never loses a reported one, never half-allocates.

A child process allocates serials in a loop and reports each allocation (after its commit) on
standard output; the parent SIGKILLs it while an allocation is in flight, several times, then checks
the database: every serial ever reported is stored exactly once under its allocation, every stored
allocation has all its serials (a killed one has none), and no (gtin, serial) appears twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from typing import IO, Any

import sqlalchemy as sa

from packtrail.serials.tables import serial_allocations, serials
from packtrail.store import open_store

GTIN = "04012345111118"
ROUNDS = 4
PER_ALLOCATION = 20_000

CHILD = """
import json, sys
from packtrail.serials import SerialService
from packtrail.store import open_store

store = open_store(sys.argv[1])
service = SerialService(store)
n = 0
while True:
    print(json.dumps({"start": n}), flush=True)
    allocation = service.allocate(sys.argv[2], int(sys.argv[3]), to_gln="4012345000016")
    print(json.dumps({"id": allocation.id, "serials": allocation.serials}), flush=True)
    n += 1
"""


def _parse(line: bytes) -> dict[str, Any] | None:
    """A complete JSON line, or None (the last line of a killed child may be cut off)."""
    if not line.endswith(b"\n"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _run_and_kill(url: str, rng: random.Random, reported: dict[int, list[str]]) -> int:
    """One child: let it finish 0-2 allocations, kill it during the next; returns allocations started."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, GTIN, str(PER_ALLOCATION)],
        stdout=subprocess.PIPE,
        env=environment,
    )
    stdout: IO[bytes] = child.stdout  # type: ignore[assignment]
    started = finished = 0
    finished_wanted = rng.randint(0, 2)
    try:
        while True:
            message = _parse(stdout.readline())
            if message is None:
                raise AssertionError(f"the child stopped early (exit status {child.poll()})")
            if "start" in message:
                started += 1
                if finished >= finished_wanted:
                    time.sleep(rng.uniform(0, 0.04))  # somewhere inside the allocation (or its report)
                    break
            else:
                reported[message["id"]] = message["serials"]
                finished += 1
    finally:
        os.kill(child.pid, signal.SIGKILL)
        rest = stdout.read()
        child.wait()
    for line in rest.splitlines(keepends=True):
        message = _parse(line)
        if message is not None and "id" in message:
            reported[message["id"]] = message["serials"]
    assert child.returncode == -signal.SIGKILL
    return started


def test_kill_9_during_allocation(store_url: str) -> None:
    with open_store(store_url):
        pass  # migrate once, before the children race to
    rng = random.Random(9)
    reported: dict[int, list[str]] = {}
    started = sum(_run_and_kill(store_url, rng, reported) for _ in range(ROUNDS))

    with open_store(store_url) as store, store.engine.connect() as connection:
        counts: dict[int, int] = dict(
            connection.execute(
                sa.select(serials.c.allocation_id, sa.func.count())
                .where(serials.c.gtin == GTIN)
                .group_by(serials.c.allocation_id)
            ).all()
        )
        allocations = dict(
            connection.execute(sa.select(serial_allocations.c.id, serial_allocations.c.count)).all()
        )
        repeated = connection.execute(
            sa.select(serials.c.gtin, serials.c.serial)
            .group_by(serials.c.gtin, serials.c.serial)
            .having(sa.func.count() > 1)
        ).all()
        stored_reported = {
            allocation_id: connection.execute(
                sa.select(serials.c.serial).where(
                    serials.c.gtin == GTIN, serials.c.allocation_id == allocation_id
                )
            )
            .scalars()
            .all()
            for allocation_id in reported
        }

    assert repeated == []
    assert counts == allocations  # every committed allocation has all its rows; a killed one has none
    assert all(count == PER_ALLOCATION for count in allocations.values())
    assert len(allocations) < started  # at least one kill landed before a commit
    for allocation_id, issued in reported.items():  # everything reported is stored, exactly once
        assert len(issued) == len(set(issued)) == PER_ALLOCATION
        assert sorted(stored_reported[allocation_id]) == sorted(issued)
    every = [serial for issued in reported.values() for serial in issued]
    assert len(every) == len(set(every))
