"""Benchmark: parse + validate EPCIS documents, packtrail against GS1's JSON Schema run as it is.

Builds a document of ``n`` simple ObjectEvents (one SGTIN each, bizStep, disposition,
readPoint, bizLocation: the shape of a serialisation line's commissioning and shipping
feed) in JSON-LD, and the same in EPCIS 2.0 XML (written with packtrail's XML writer).
Then it times, best of ``repeat`` (the machine is shared):

- JSON-LD: ``read_jsonld`` + ``validate_document`` (JSON Schema layer + rules), the figure
  the issue asks for (>= 50,000 events/s on one core); also ``validate_jsonld_bytes`` and
  each layer alone;
- XML: ``validate_xml`` (GS1's XSD via lxml, ``read_xml``, rules): >= 20,000 events/s;
- the peer: GS1's EPCIS 2.0 JSON Schema compiled once with fastjsonschema (with real
  ``uri`` and ``date-time`` format checks) on the same JSON, for the ratio. It is slow, so
  it runs on the first ``oracle_n`` events only and its rate is extrapolated.

    .venv/bin/python bench/bench_epcis_validate.py              # 100,000 events
    .venv/bin/python bench/bench_epcis_validate.py -n 20000 --json

``run(n)`` returns the figures as a dict for a combined bench runner.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from typing import Any

import orjson

from packtrail.epcis.document import EPCISDocument
from packtrail.epcis.jsonld import read_jsonld, write_jsonld
from packtrail.epcis.schema_oracle import oracle_error
from packtrail.epcis.validation import validate_document, validate_jsonld_bytes, validate_xml
from packtrail.epcis.xml import read_xml, write_xml

STEPS = (("shipping", "in_transit"), ("commissioning", "active"), ("receiving", "in_progress"))


def make_events(n: int) -> list[dict[str, Any]]:
    """``n`` simple ObjectEvents in the JSON-LD shape, all valid."""
    events = []
    for i in range(n):
        step, disposition = STEPS[i % 3]
        events.append(
            {
                "type": "ObjectEvent",
                "eventTime": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i // 60) % 60:02d}.{i % 1000:03d}+01:00",
                "eventTimeZoneOffset": "+01:00",
                "epcList": [f"urn:epc:id:sgtin:4012345.011111.{100000000 + i}"],
                "action": "ADD" if step == "commissioning" else "OBSERVE",
                "bizStep": step,
                "disposition": disposition,
                "readPoint": {"id": f"urn:epc:id:sgln:4012345.0000{i % 7}.0"},
                "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"},
            }
        )
    return events


def make_documents(n: int) -> tuple[bytes, bytes]:
    """The same ``n`` events as EPCIS 2.0 JSON-LD and as EPCIS 2.0 XML."""
    doc = EPCISDocument(creation_date="2024-04-01T08:45:16Z", events=make_events(n))
    return write_jsonld(doc), write_xml(doc)


def _best(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def run(n: int = 100_000, repeat: int = 3, oracle_n: int = 10_000) -> dict[str, Any]:
    """Time parse + validate of ``n`` events in JSON-LD and XML, and the official schema's rate."""
    jsonld, xml = make_documents(n)

    def jsonld_path() -> Any:
        return validate_document(read_jsonld(jsonld))

    t_jsonld, report = _best(jsonld_path, repeat)
    assert report.valid and report.events == n, report
    t_bytes, report = _best(lambda: validate_jsonld_bytes(jsonld), repeat)
    assert report.valid and report.events == n, report
    t_read, doc = _best(lambda: read_jsonld(jsonld), repeat)
    t_schema, _ = _best(lambda: validate_document(doc, layers=("schema",)), repeat)
    t_rules, _ = _best(lambda: validate_document(doc, layers=("rules",)), repeat)

    t_xml, report = _best(lambda: validate_xml(xml), repeat)
    assert report.valid and report.events == n, report
    t_xml_read, _ = _best(lambda: read_xml(xml), repeat)
    t_xsd, _ = _best(lambda: validate_xml(xml, layers=("xsd",)), repeat)

    sample = min(n, oracle_n)
    sample_doc = orjson.loads(
        write_jsonld(EPCISDocument(creation_date="2024-04-01T08:45:16Z", events=make_events(sample)))
    )
    oracle_error(sample_doc)  # compile once, outside the timing
    t_oracle, verdict = _best(
        lambda: oracle_error(orjson.loads(orjson.dumps(sample_doc))), max(1, repeat - 1)
    )
    assert verdict is None, verdict
    oracle_rate = sample / t_oracle
    jsonld_rate = n / t_jsonld
    return {
        "n": n,
        "jsonld_mb": round(len(jsonld) / 1e6, 1),
        "xml_mb": round(len(xml) / 1e6, 1),
        "jsonld_parse_validate_events_per_s": round(jsonld_rate),
        "jsonld_bytes_validate_events_per_s": round(n / t_bytes),
        "jsonld_read_only_events_per_s": round(n / t_read),
        "schema_layer_events_per_s": round(n / t_schema),
        "rules_layer_events_per_s": round(n / t_rules),
        "xml_parse_validate_events_per_s": round(n / t_xml),
        "xml_read_only_events_per_s": round(n / t_xml_read),
        "xsd_layer_events_per_s": round(n / t_xsd),
        "official_schema_fastjsonschema_events_per_s": round(oracle_rate),
        "ratio_jsonld_path_vs_official_schema": round(jsonld_rate / oracle_rate, 1),
        "goal_jsonld_50k": jsonld_rate >= 50_000,
        "goal_xml_20k": n / t_xml >= 20_000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="events per document")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run(args.n, args.repeat)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        print(
            f"{key:<{width}}  {value:,}"
            if isinstance(value, int) and not isinstance(value, bool)
            else f"{key:<{width}}  {value}"
        )


if __name__ == "__main__":
    main()
