"""Benchmark: EPCIS Event Hash IDs of a 10,000-event JSON-LD document, packtrail against the reference.

The reference is ``epcis-event-hash-generator`` (RalphTro, MIT; on PyPI), the implementation
that published CBV 2.0's test vectors. Both sides do the whole job: read the JSON-LD
document from bytes and compute one ``ni:///sha-256;...?ver=CBV2.0`` per event. Their
hashes are compared one by one; every one must agree.

The document is pharma serialisation traffic, generated from a fixed seed: commissioning
ObjectEvents (SGTINs, ILMD with ``cbvmda:`` lot and expiry), packing AggregationEvents
(cases and pallets: SSCC or case SGTIN parent, 6-48 children), shipping and receiving
ObjectEvents (SSCCs, purchase order and despatch advice, owning party and location as
source and destination, a ``gs1ushc:`` DSCSA transaction statement), and dispensing or
destroying events with a quantity of a lot (LGTIN). Most values are written as EPCIS 2.0
JSON-LD writes them (EPC URNs, bare CBV words); a fifth of the events use GS1 Digital
Links and CBV Web URIs instead.

Where the reference comes from (one of, in this order):

* imported in this process, when the ``bench`` extra installed ``epcis-event-hash-generator``;
* run by another interpreter: ``PACKTRAIL_EPCIS_HASH_REF_PYTHON=/path/to/python`` whose
  environment has the package (``python -m venv /tmp/ref && /tmp/ref/bin/pip install
  epcis-event-hash-generator``); the time is measured inside that process, around the same
  work (read + hash), so interpreter start-up does not count.

Without either, only packtrail's figures are printed. Times are CPU time of the process
(``time.process_time``) on both sides, so other load on a shared machine counts less; the
work is single-threaded on both sides.

    .venv/bin/python bench/bench_epcis_hash.py               # 10,000 events
    .venv/bin/python bench/bench_epcis_hash.py -n 2000 --json

``run(n)`` returns the figures as a dict for a combined bench runner.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from packtrail.epcis.hashing import document_hashes
from packtrail.epcis.jsonld import read_jsonld
from packtrail.gs1.checkdigit import gs1_check_digit

SEED = 20260127
REFERENCE_ENV = "PACKTRAIL_EPCIS_HASH_REF_PYTHON"
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    # cbvmda as the standard context defines it (a protected term: only the same value may be
    # declared); declared all the same, because the reference expands only declared prefixes.
    {"cbvmda": "urn:epcglobal:cbv:mda:", "gs1ushc": "http://epcis.gs1us.org/hc/ns"},
]
# (company prefix, item references): US NDC-based, German, French CIP, Italian manufacturers.
COMPANIES = (
    ("0312345", ("012345", "054321", "077777")),
    ("4012345", ("011111", "022222", "033333", "044444")),
    ("340091", ("0123456", "0765432")),
    ("8012345", ("099991", "012120")),
)
SITES = ("00001", "00002", "00017", "00100")  # location references under each company prefix


class _Maker:
    """Random but reproducible pharma events in the JSON-LD shape."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial_no = 0
        self.sscc_no = 0
        self.clock = 1714550400  # 2024-05-01T08:00:00Z

    def serial(self) -> str:
        self.serial_no += 1
        return "".join(self.rng.choice(ALNUM) for _ in range(self.rng.choice((8, 10, 12, 20))))

    def sgtin(self, web: bool, cp: str, item: str) -> str:
        serial = self.serial()
        if web:
            gtin = item[0] + cp + item[1:]
            return f"https://id.gs1.org/01/{gtin}{gs1_check_digit(gtin)}/21/{serial}"
        return f"urn:epc:id:sgtin:{cp}.{item}.{serial}"

    def sscc(self, web: bool, cp: str) -> str:
        self.sscc_no += 1
        ref = f"{self.sscc_no:0{17 - len(cp)}d}"
        if web:
            key = ref[0] + cp + ref[1:]
            return f"https://id.gs1.org/00/{key}{gs1_check_digit(key)}"
        return f"urn:epc:id:sscc:{cp}.{ref}"

    def sgln(self, web: bool, cp: str, ext: str = "0") -> str:
        ref = self.rng.choice(SITES)[: 12 - len(cp)].rjust(12 - len(cp), "0")
        if web:
            gln = cp + ref
            tail = "" if ext == "0" else f"/254/{ext}"
            return f"https://id.gs1.org/414/{gln}{gs1_check_digit(gln)}{tail}"
        return f"urn:epc:id:sgln:{cp}.{ref}.{ext}"

    def pgln(self, web: bool, cp: str) -> str:
        ref = "0" * (12 - len(cp))
        if web:
            return f"https://id.gs1.org/417/{cp}{ref}{gs1_check_digit(cp + ref)}"
        return f"urn:epc:id:pgln:{cp}.{ref}"

    def cbv(self, web: bool, kind: str, word: str) -> str:
        prefix = {"bizStep": "BizStep", "disposition": "Disp", "btt": "BTT", "sdt": "SDT"}[kind]
        return f"https://ref.gs1.org/cbv/{prefix}-{word}" if web else word

    def when(self) -> dict[str, str]:
        self.clock += self.rng.randint(1, 40)
        offset = self.rng.choice(("+02:00", "-05:00", "+01:00", "Z"))
        shift = {"+02:00": 7200, "-05:00": -18000, "+01:00": 3600, "Z": 0}[offset]
        local = time.gmtime(self.clock + shift)
        millis = self.rng.randint(0, 999)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{millis:03d}" + offset
        return {"eventTime": stamp, "eventTimeZoneOffset": "+00:00" if offset == "Z" else offset}

    def event(self) -> dict[str, Any]:
        rng = self.rng
        web = rng.random() < 0.2
        cp, items = rng.choice(COMPANIES)
        item = rng.choice(items)
        roll = rng.random()
        head: dict[str, Any]
        if roll < 0.25:
            head = {"type": "ObjectEvent", **self.when()}
            head["epcList"] = [self.sgtin(web, cp, item) for _ in range(rng.randint(5, 20))]
            head.update(action="ADD", bizStep=self.cbv(web, "bizStep", "commissioning"))
            head["disposition"] = self.cbv(web, "disposition", "active")
            head["readPoint"] = {"id": self.sgln(web, cp, str(rng.randint(1, 9)))}
            head["bizLocation"] = {"id": self.sgln(web, cp)}
            head["ilmd"] = {
                "cbvmda:lotNumber": f"L{rng.randint(1000, 99999)}",
                "cbvmda:itemExpirationDate": f"20{rng.randint(25, 29)}-{rng.randint(1, 12):02d}-28",
            }
        elif roll < 0.6:
            head = {"type": "AggregationEvent", **self.when()}
            parent_is_case = rng.random() < 0.5
            head["parentID"] = self.sgtin(web, cp, "5" + item[1:]) if parent_is_case else self.sscc(web, cp)
            head["childEPCs"] = [self.sgtin(web, cp, item) for _ in range(rng.choice((6, 10, 12, 24, 48)))]
            head.update(action="ADD", bizStep=self.cbv(web, "bizStep", "packing"))
            head["disposition"] = self.cbv(web, "disposition", "in_progress")
            head["readPoint"] = {"id": self.sgln(web, cp, str(rng.randint(1, 9)))}
            head["bizLocation"] = {"id": self.sgln(web, cp)}
        elif roll < 0.95:
            shipping = roll < 0.8
            partner, _ = rng.choice(COMPANIES)
            head = {"type": "ObjectEvent", **self.when()}
            head["epcList"] = [self.sscc(web, cp) for _ in range(rng.randint(1, 4))]
            head["action"] = "OBSERVE"
            head["bizStep"] = self.cbv(web, "bizStep", "shipping" if shipping else "receiving")
            head["disposition"] = self.cbv(web, "disposition", "in_transit" if shipping else "in_progress")
            head["readPoint"] = {"id": self.sgln(web, cp if shipping else partner)}
            if not shipping:
                head["bizLocation"] = {"id": self.sgln(web, partner)}
            number = rng.randint(100000, 999999)
            head["bizTransactionList"] = [
                {
                    "type": self.cbv(web, "btt", "po"),
                    "bizTransaction": f"urn:epcglobal:cbv:bt:{cp}0000:PO{number}",
                },
                {
                    "type": self.cbv(web, "btt", "desadv"),
                    "bizTransaction": f"urn:epcglobal:cbv:bt:{cp}0000:ASN{number}",
                },
            ]
            head["sourceList"] = [
                {"type": self.cbv(web, "sdt", "owning_party"), "source": self.pgln(web, cp)},
                {"type": self.cbv(web, "sdt", "location"), "source": self.sgln(web, cp)},
            ]
            head["destinationList"] = [
                {"type": self.cbv(web, "sdt", "owning_party"), "destination": self.pgln(web, partner)},
                {"type": self.cbv(web, "sdt", "location"), "destination": self.sgln(web, partner)},
            ]
            head["gs1ushc:dscsaTransactionStatement"] = {"gs1ushc:affirmTransactionStatement": "true"}
        else:
            head = {"type": "ObjectEvent", **self.when()}
            lot = f"L{rng.randint(1000, 99999)}"
            head["quantityList"] = [
                {"epcClass": f"urn:epc:class:lgtin:{cp}.{item}.{lot}", "quantity": rng.randint(1, 60)}
            ]
            head["action"] = "DELETE"
            word = rng.choice(("dispensing", "destroying"))
            head["bizStep"] = self.cbv(web, "bizStep", word)
            head["disposition"] = self.cbv(
                web, "disposition", "dispensed" if word == "dispensing" else "destroyed"
            )
            head["readPoint"] = {"id": self.sgln(web, cp)}
        if rng.random() < 0.3:
            head["recordTime"] = "2024-06-01T00:00:00.000Z"
        return head


def generate(n: int = 10_000, seed: int = SEED) -> bytes:
    """A JSON-LD EPCISDocument with ``n`` pharma events (see the module docstring)."""
    maker = _Maker(seed)
    document = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-06-01T00:00:00.000Z",
        "epcisBody": {"eventList": [maker.event() for _ in range(n)]},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def packtrail_hashes(data: bytes) -> list[str]:
    """Read + hash, the packtrail way."""
    return document_hashes(read_jsonld(data))


_REFERENCE_SCRIPT = """
import json, logging, sys, time
logging.disable(logging.CRITICAL)
from epcis_event_hash_generator import hash_generator, json_to_py
data = open(sys.argv[1], encoding="utf-8").read()
start = time.process_time()
events = json_to_py.event_list_from_epcis_document_str(data)
hashes = hash_generator.epcis_hashes_from_events(events)
seconds = time.process_time() - start
json.dump({"seconds": seconds, "hashes": hashes}, sys.stdout)
"""


def _reference_in_process() -> Callable[[bytes], tuple[float, list[str]]] | None:
    try:
        import logging

        from epcis_event_hash_generator import hash_generator, json_to_py  # type: ignore[import-not-found]
    except ImportError:
        return None

    def run_reference(data: bytes) -> tuple[float, list[str]]:
        logging.disable(logging.CRITICAL)
        text = data.decode()
        start = time.process_time()
        events = json_to_py.event_list_from_epcis_document_str(text)
        hashes = hash_generator.epcis_hashes_from_events(events)
        return time.process_time() - start, list(hashes)

    return run_reference


def _reference_subprocess(python: str) -> Callable[[bytes], tuple[float, list[str]]]:
    def run_reference(data: bytes) -> tuple[float, list[str]]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "events.jsonld"
            path.write_bytes(data)
            done = subprocess.run(
                [python, "-c", _REFERENCE_SCRIPT, str(path)], capture_output=True, check=True, text=True
            )
        answer = json.loads(done.stdout)
        return float(answer["seconds"]), list(answer["hashes"])

    return run_reference


def reference() -> tuple[str, Callable[[bytes], tuple[float, list[str]]] | None]:
    """How the reference implementation is run here: ``("in-process" | "subprocess" | "absent", runner)``."""
    found = _reference_in_process()
    if found is not None:
        return "in-process", found
    python = os.environ.get(REFERENCE_ENV)
    if python:
        return "subprocess", _reference_subprocess(python)
    return "absent", None


def run(n: int = 10_000, repeat: int = 3) -> dict[str, Any]:
    """Hash an ``n``-event document with both implementations; the figures as a dict."""
    data = generate(n)
    timings = []
    hashes: list[str] = []
    for _ in range(repeat):
        start = time.process_time()
        hashes = packtrail_hashes(data)
        timings.append(time.process_time() - start)
    best = min(timings)
    figures: dict[str, Any] = {
        "events": n,
        "document_bytes": len(data),
        "packtrail_seconds": round(best, 4),
        "packtrail_events_per_s": round(n / best),
    }
    how, runner = reference()
    figures["reference"] = how
    if runner is not None:
        seconds, theirs = runner(data)
        agree = sum(a == b for a, b in zip(hashes, theirs, strict=False))
        figures.update(
            reference_seconds=round(seconds, 3),
            reference_events_per_s=round(n / seconds),
            ratio=round(seconds / best, 1),
            hashes_compared=len(theirs),
            hashes_identical=agree,
            all_identical=agree == n == len(theirs),
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=10_000, help="events in the document (default 10,000)")
    parser.add_argument("--repeat", type=int, default=3, help="packtrail runs; the best counts")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run(args.n, args.repeat)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(
        f"EPCIS Event Hash ID, {figures['events']:,} events ({figures['document_bytes']:,} bytes of JSON-LD)"
    )
    print(f"  packtrail  read + hash: {figures['packtrail_events_per_s']:>9,} events/s")
    if figures["reference"] == "absent":
        print(f"  reference: not installed (pip install epcis-event-hash-generator, or set {REFERENCE_ENV})")
        return
    print(
        f"  reference  read + hash: {figures['reference_events_per_s']:>9,} events/s ({figures['reference']})"
    )
    print(f"  ratio: {figures['ratio']}x")
    print(f"  identical hashes: {figures['hashes_identical']:,} of {figures['events']:,}")
    if not figures["all_identical"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
