"""The compiled twins (packtrail.native) against the Python sources they are compiled from, side by side.

``python bench/bench_native.py [--backend sqlite|postgresql|both] [--events N] [--pairs P] [--no-write]``

Each figure is measured in a fresh process, once with the compiled modules and once with
``PACKTRAIL_PURE_PYTHON=1`` (the same code, run by the interpreter), in pairs whose order alternates
(compiled first, then Python first, …): this machine's speed drifts by a fifth from one minute to the
next (bench/RESULTS.md), so only runs made side by side compare. Reported: the median of each side and
the median of the per-pair ratios.

- **worker slice** — :func:`~packtrail.store.capture_workers.check_slice` over the pharma document in
  2,048-event slices, the collector set as in a worker (frozen heap, its thresholds): µs an event.
- **lifecycle** — :func:`~packtrail.lifecycle.facts.facts_of` for every event, then
  :meth:`~packtrail.lifecycle.replay.Replayer.apply` in eventTime order: µs an event each.
- **capture** — ``Store.capture`` of the document in process, as ``packtrail serve`` runs it (lifecycle
  attached, workers started ahead; :func:`bench_capture_floor.capture`): seconds and the machine's
  core-seconds, per backend.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results_file import write_results

PURE = "PACKTRAIL_PURE_PYTHON"


def _child_slice(events: int) -> dict[str, float]:
    import orjson

    import bench_epcis_repository as repository
    from packtrail.store import capture_workers

    listed = orjson.loads(repository.capture_document(events))["epcisBody"]["eventList"]
    gc.collect()
    gc.freeze()
    gc.set_threshold(*capture_workers.GC_THRESHOLDS)
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        for at in range(0, len(listed), 2048):
            payload = orjson.dumps(listed[at : at + 2048])
            capture_workers.check_slice(payload, {}, frozenset(), "/epcisBody/eventList", at)
        best = min(best, time.perf_counter() - start)
    return {"slice_us": best / len(listed) * 1e6}


def _child_lifecycle(events: int) -> dict[str, float]:
    import orjson

    import bench_epcis_repository as repository
    from packtrail.lifecycle.facts import facts_of
    from packtrail.lifecycle.replay import Replayer
    from packtrail.store.index_rows import event_rows

    listed = orjson.loads(repository.capture_document(events))["epcisBody"]["eventList"]
    rows = [event_rows(event, {}) for event in listed]
    del listed
    gc.collect()
    gc.freeze()
    gc.disable()  # as capture runs
    start = time.perf_counter()
    facts = [facts_of(pk, row, f"e{pk}", "0614141000005") for pk, row in enumerate(rows, 1)]
    facts_seconds = time.perf_counter() - start
    facts.sort(key=lambda f: (f.time_us, f.pk))
    replay = Replayer()
    start = time.perf_counter()
    for one in facts:
        replay.apply(one)
    apply_seconds = time.perf_counter() - start
    return {"facts_us": facts_seconds / len(rows) * 1e6, "apply_us": apply_seconds / len(rows) * 1e6}


def _child_capture(events: int, backend: str, postgres: str) -> dict[str, float]:
    import bench_capture_floor as floor
    import bench_epcis_repository as repository

    document = repository.capture_document(events)
    folder = Path(tempfile.mkdtemp(prefix="packtrail-native-", dir=os.environ.get("TMPDIR", "/var/tmp")))
    try:
        place = floor.Place(backend, folder, postgres)
        label, url = place.fresh()
        try:
            seconds, busy = floor.capture(url, document)
        finally:
            place.drop(label)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": seconds, "core_s": busy if busy is not None else float("nan")}


def _run_child(kind: str, compiled: bool, args: argparse.Namespace, backend: str = "") -> dict[str, float]:
    env = {key: value for key, value in os.environ.items() if key != PURE}
    if not compiled:
        env[PURE] = "1"
    command = [sys.executable, __file__, "--child", kind, "--events", str(args.events)]
    command += ["--backend", backend or "sqlite", "--postgres", args.postgres]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} ({'compiled' if compiled else 'python'}) failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _pairs(kind: str, args: argparse.Namespace, backend: str = "") -> dict[str, list[dict[str, float]]]:
    sides: dict[str, list[dict[str, float]]] = {"compiled": [], "python": []}
    for pair in range(args.pairs):
        order = (True, False) if pair % 2 == 0 else (False, True)
        for compiled in order:
            figures = _run_child(kind, compiled, args, backend)
            sides["compiled" if compiled else "python"].append(figures)
            label = f"{kind}{' ' + backend if backend else ''}"
            shown = ", ".join(f"{k} {v:.2f}" for k, v in figures.items())
            print(f"{label} pair {pair + 1} {'compiled' if compiled else 'python'}: {shown}", flush=True)
    return sides


def _row(name: str, sides: dict[str, list[dict[str, float]]], key: str, unit: str) -> str:
    compiled = [run[key] for run in sides["compiled"]]
    python = [run[key] for run in sides["python"]]
    ratios = [c / p for c, p in zip(compiled, python, strict=True)]
    shape = "{:,.0f}" if unit == "events/s" else "{:.2f}"
    return (
        f"| {name} | {shape.format(statistics.median(compiled))} {unit} | "
        f"{shape.format(statistics.median(python))} {unit} | "
        f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=5, help="side-by-side pairs per figure (5)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/packtrail_bench")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    parser.add_argument("--child", choices=("slice", "lifecycle", "capture"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "slice":
            figures = _child_slice(args.events)
        elif args.child == "lifecycle":
            figures = _child_lifecycle(args.events)
        else:
            figures = _child_capture(args.events, args.backend, args.postgres)
        print(json.dumps(figures))
        return

    from packtrail import native

    state = native.status()
    if not state.native:
        raise SystemExit(f"the compiled twins do not run here ({state.reason}): nothing to compare")
    rows = [
        "| figure | compiled (median) | Python sources (median) | compiled / Python, median of pairs (range) |",
        "|---|---:|---:|---:|",
    ]
    sides = _pairs("slice", args)
    rows.append(_row("worker slice: check_slice, µs an event", sides, "slice_us", "µs"))
    sides = _pairs("lifecycle", args)
    rows.append(_row("lifecycle facts_of, µs an event", sides, "facts_us", "µs"))
    rows.append(_row("lifecycle Replayer.apply, µs an event", sides, "apply_us", "µs"))
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        sides = _pairs("capture", args, backend)
        rows.append(_row(f"capture in process, {backend}: seconds", sides, "seconds", "s"))
        rows.append(_row(f"capture in process, {backend}: machine core-s", sides, "core_s", "core-s"))
        events_per_s = {
            side: [{"rate": args.events / run["seconds"]} for run in runs] for side, runs in sides.items()
        }
        rows.append(_row(f"capture in process, {backend}: events/s", events_per_s, "rate", "events/s"))
    text = "\n".join(
        [
            *rows,
            "",
            f"{args.pairs} pairs per figure, each run a fresh process, the order alternating within pairs; "
            f"the {args.events:,}-event pharma document of bench_epcis_repository. Compiled: "
            f"{', '.join(native.COMPILED)} (mypyc). A ratio below 1 (above 1 for events/s) is the compiled side's gain.",
        ]
    )
    print(text)
    if not args.no_write:
        command = "python bench/bench_native.py " + " ".join(sys.argv[1:])
        write_results(
            Path(__file__).resolve().parent / "RESULTS.md",
            {"bench_native": ("Compiled twins against the Python sources (bench_native)", text)},
            command.strip(),
        )


if __name__ == "__main__":
    main()
