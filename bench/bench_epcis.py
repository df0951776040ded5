"""Benchmark: EPCIS documents, the issue's figures in one run.

1. Parse + validate 100,000 events of JSON-LD and of EPCIS 2.0 XML (``bench_epcis_validate.run``;
   goals >= 50,000 events/s JSON-LD, >= 20,000 events/s XML, one core).
2. The EPCIS Event Hash ID against the reference implementation (``bench_epcis_hash.run``; goal
   >= 50x). The reference runs in its own interpreter: ``PACKTRAIL_EPCIS_HASH_REF_PYTHON``, or
   ``/tmp/refhash-venv/bin/python`` when that exists (``python3 -m venv /tmp/refhash-venv &&
   /tmp/refhash-venv/bin/pip install epcis-event-hash-generator``).
3. Streaming conversion of a 1,000,000-event document with :func:`packtrail.epcis.convert.convert`,
   JSON-LD -> EPCIS 2.0 XML, then that XML -> JSON-LD, each in a child process that reports its
   own peak resident memory (``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` where there is no
   /proc, which on Linux also counts the parent's peak at the fork; goal <= 200 MB) and events/s. The document is pharma traffic (the hash benchmark's generator: commissioning with
   ``cbvmda:`` ILMD, packing, shipping with ``gs1ushc:`` extensions, ...) with an SBDH and master
   data (EPCClass and Location vocabularies) in its header; it is written to a temporary file
   by the streaming JSON-LD writer, so the parent never holds it either.

    .venv/bin/python bench/bench_epcis.py --write bench/RESULTS.md
    .venv/bin/python bench/bench_epcis.py -n 100000 --convert-n 200000 --json   # smaller

``run()`` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import bench_epcis_hash  # noqa: E402
import bench_epcis_validate  # noqa: E402
from packtrail.epcis.document import EPCISDocument  # noqa: E402
from packtrail.epcis.jsonld import write_jsonld_stream  # noqa: E402
from results_file import write_results  # noqa: E402 - a sibling in bench/

DEFAULT_REFERENCE_PYTHON = Path("/tmp/refhash-venv/bin/python")
SECTION = "bench_epcis"
TITLE = "EPCIS documents (bench_epcis)"

_CHILD = r"""
import json, resource, sys, time
from packtrail.epcis.convert import convert
source, target, to = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
cpu = time.process_time()
summary = convert(source, target, to=to)
seconds = time.perf_counter() - start
cpu = time.process_time() - cpu
peak_kb = None
try:  # VmHWM: this process's own peak (ru_maxrss keeps the parent's peak across fork + exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
except OSError:
    pass
if peak_kb is None:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
json.dump({"events": summary.events, "seconds": seconds, "cpu_seconds": cpu, "peak_kb": peak_kb,
           "passes": summary.passes, "warnings": summary.warnings}, sys.stdout)
"""


def _header() -> EPCISDocument:
    """A DSCSA-style header: SBDH (sender, receiver GLNs), EPCClass and Location master data."""
    sbdh = {
        "sbdh:HeaderVersion": "1.0",
        "sbdh:Sender": {"sbdh:Identifier": {"Authority": "GS1", "#text": "0312345000008"}},
        "sbdh:Receiver": {"sbdh:Identifier": {"Authority": "GS1", "#text": "4012345000009"}},
        "sbdh:DocumentIdentification": {
            "sbdh:Standard": "EPCglobal",
            "sbdh:TypeVersion": "1.0",
            "sbdh:InstanceIdentifier": "bench-1",
            "sbdh:Type": "Events",
            "sbdh:CreationDateAndTime": "2024-06-01T00:00:00.000Z",
        },
    }
    master = {
        "vocabularyList": [
            {
                "type": "urn:epcglobal:epcis:vtype:EPCClass",
                "vocabularyElementList": [
                    {
                        "id": "urn:epc:idpat:sgtin:0312345.012345.*",
                        "attributes": [
                            {"id": "urn:epcglobal:cbv:mda#regulatedProductName", "attribute": "Examplamab"},
                            {"id": "urn:epcglobal:cbv:mda#dosageFormType", "attribute": "Injection"},
                        ],
                    }
                ],
            },
            {
                "type": "urn:epcglobal:epcis:vtype:Location",
                "vocabularyElementList": [
                    {
                        "id": "urn:epc:id:sgln:0312345.00001.0",
                        "attributes": [{"id": "urn:epcglobal:cbv:mda#name", "attribute": "Plant 1"}],
                    }
                ],
            },
        ]
    }
    namespaces = {
        "sbdh": "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader",
        **{k: v for entry in bench_epcis_hash.CONTEXT if isinstance(entry, dict) for k, v in entry.items()},
    }
    return EPCISDocument(
        creation_date="2024-06-01T00:00:00.000Z",
        namespaces=namespaces,
        context=list(bench_epcis_hash.CONTEXT),
        header={"sbdh:StandardBusinessDocumentHeader": sbdh, "epcisMasterData": master},
    )


def _events(n: int) -> Iterator[dict[str, Any]]:
    maker = bench_epcis_hash._Maker(bench_epcis_hash.SEED)
    for _ in range(n):
        yield maker.event()


def _convert_in_child(source: Path, target: Path, to: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(source), str(target), to],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def conversion(n: int = 1_000_000) -> dict[str, Any]:
    """Peak memory and speed of convert() on an ``n``-event document, JSON-LD -> XML -> JSON-LD."""
    with tempfile.TemporaryDirectory(prefix="packtrail-bench-epcis-") as folder:
        jsonld, xml, back = Path(folder) / "in.jsonld", Path(folder) / "out.xml", Path(folder) / "back.jsonld"
        start = time.perf_counter()
        with jsonld.open("wb") as file:
            write_jsonld_stream(_header(), _events(n), file, context="keep")
        generated = time.perf_counter() - start
        to_xml = _convert_in_child(jsonld, xml, "xml")
        to_jsonld = _convert_in_child(xml, back, "jsonld")
        sizes = {path.name: path.stat().st_size for path in (jsonld, xml, back)}
    out: dict[str, Any] = {"events": n, "generate_seconds": round(generated, 1)}
    for name, figures, size in (
        ("jsonld_to_xml", to_xml, sizes["in.jsonld"]),
        ("xml_to_jsonld", to_jsonld, sizes["out.xml"]),
    ):
        assert figures["events"] == n, figures
        out[name] = {
            "source_mb": round(size / 1e6, 1),
            "seconds": round(figures["seconds"], 1),
            "events_per_s": round(n / figures["seconds"]),
            "peak_rss_mb": round(figures["peak_kb"] / 1024, 1),
            "passes": figures["passes"],
            "warnings": figures["warnings"],
        }
    out["goal_peak_200mb"] = all(
        out[name]["peak_rss_mb"] <= 200 for name in ("jsonld_to_xml", "xml_to_jsonld")
    )
    return out


def run(
    n: int = 100_000, convert_n: int = 1_000_000, hash_n: int = 10_000, repeat: int = 3
) -> dict[str, Any]:
    """All figures: parse + validate, event hash vs the reference, streaming conversion."""
    if bench_epcis_hash.REFERENCE_ENV not in os.environ and DEFAULT_REFERENCE_PYTHON.exists():
        os.environ[bench_epcis_hash.REFERENCE_ENV] = str(DEFAULT_REFERENCE_PYTHON)
    return {
        "parse_validate": bench_epcis_validate.run(n, repeat),
        "event_hash": bench_epcis_hash.run(hash_n, repeat),
        "convert": conversion(convert_n),
    }


def render(figures: dict[str, Any]) -> str:
    v = figures["parse_validate"]
    h = figures["event_hash"]
    c = figures["convert"]
    lines = [
        "| figure | value | goal |",
        "|---|---:|---|",
        f"| parse + validate JSON-LD, {v['n']:,} events ({v['jsonld_mb']} MB) | "
        f"{v['jsonld_parse_validate_events_per_s']:,} events/s | >= 50,000 "
        f"{'met' if v['goal_jsonld_50k'] else 'NOT met'} |",
        f"| parse + validate EPCIS 2.0 XML, {v['n']:,} events ({v['xml_mb']} MB) | "
        f"{v['xml_parse_validate_events_per_s']:,} events/s | >= 20,000 "
        f"{'met' if v['goal_xml_20k'] else 'NOT met'} |",
    ]
    if "ratio" in h:
        lines.append(
            f"| event hash (read + hash), {h['events']:,} events | {h['packtrail_events_per_s']:,} events/s; "
            f"reference {h['reference_events_per_s']:,} events/s: **{h['ratio']}x** | >= 50x "
            f"{'met' if h['ratio'] >= 50 else 'NOT met'}; identical hashes {h['hashes_identical']:,} "
            f"of {h['events']:,} |"
        )
    else:
        lines.append(
            f"| event hash (read + hash), {h['events']:,} events | {h['packtrail_events_per_s']:,} events/s "
            "(reference not installed) | >= 50x: not measured |"
        )
    for name, label in (("jsonld_to_xml", "JSON-LD -> XML 2.0"), ("xml_to_jsonld", "XML 2.0 -> JSON-LD")):
        f = c[name]
        lines.append(
            f"| convert() {label}, {c['events']:,} events ({f['source_mb']:,} MB in) | "
            f"{f['events_per_s']:,} events/s ({f['seconds']} s), peak RSS **{f['peak_rss_mb']} MB** | "
            f"<= 200 MB {'met' if f['peak_rss_mb'] <= 200 else 'NOT met'} |"
        )
    lines += [
        "",
        "Parse + validate: `bench_epcis_validate.run` (read the whole document, all validation layers; "
        f"official JSON Schema alone: {v['official_schema_fastjsonschema_events_per_s']:,} events/s). "
        f"Event hash: `bench_epcis_hash.run`, CPU time, reference = epcis-event-hash-generator "
        f"({h['reference']}). Conversion: a child process per direction, streaming reader -> streaming "
        "writer, peak = the child's own `VmHWM` (interpreter and libraries included); the document "
        "carries an SBDH and master data in its header.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=100_000, help="events for parse + validate (default 100,000)")
    parser.add_argument(
        "--convert-n", type=int, default=1_000_000, help="events to convert (default 1,000,000)"
    )
    parser.add_argument("--hash-n", type=int, default=10_000, help="events to hash (default 10,000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--write", type=Path, help="update this Markdown file (e.g. bench/RESULTS.md)")
    args = parser.parse_args()
    figures = run(args.n, args.convert_n, args.hash_n, args.repeat)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(render(figures))
    if args.write:
        command = "python bench/bench_epcis.py " + " ".join(sys.argv[1:])
        write_results(args.write, {SECTION: (TITLE, render(figures))}, command.strip())


if __name__ == "__main__":
    main()
