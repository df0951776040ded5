"""CPU clocks the benchmarks read off Linux's ``/proc``: a process's, the whole machine's.

A benchmark on a shared two-core machine reports CPU beside wall time: the wall time drifts with the
host, and a server's cost per request or per event is its CPU, not its latency. Each function returns
None where ``/proc`` does not answer (another system, a process gone), and the caller says so.
"""

from __future__ import annotations

import os


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds process ``pid`` has spent (``/proc/<pid>/stat``), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float | None:
    """Core-seconds the whole machine has spent busy since boot (``/proc/stat``), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            ticks = [int(x) for x in stat.readline().split()[1:]]
    except OSError:
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
