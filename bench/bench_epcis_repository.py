"""Benchmark: the EPCIS repository, the figures of issue 4 in one run, on SQLite and on PostgreSQL.

1. **Capture over HTTP.** ``packtrail serve`` (a subprocess, uvicorn, 1 worker) on a fresh store with one
   trading party registered by ``packtrail parties add``; a 100,000-event JSON-LD document of pharma
   traffic is POSTed to ``/epcis/capture`` with httpx. Events/s end to end (request sent -> ``202``
   read; goal >= 20,000/s) and bytes stored per event (growth of the SQLite file + WAL once the server
   has checkpointed and stopped; PostgreSQL: ``pg_total_relation_size`` over the schema's tables).
2. **Queries on a large repository** (``--events``, default 10,000,000): a year of pharma supply chain
   (commissioning ObjectEvents with ILMD lot/expiry, packing packs into cases and cases onto pallets,
   shipping/receiving with ``po``/``desadv`` bizTransactions and ``owning_party``/``location``
   source/destination, unpacking at the wholesaler, case shipments to pharmacies, dispensing), captured in
   time order through :meth:`Store.capture` (the real path), one document of ``--doc-events`` events per
   manufacturer at a time. The store is kept (``--dir``, and a schema of the ``--postgres`` database) and
   reused by the next run with ``--reuse``; an interrupted load resumes. Then, over HTTP as one
   manufacturer (a party: visibility is checked on every row) and in process (``Store.query_events``,
   same party, same queries, so the HTTP share is visible):

   - ``GET /epcis/epcs/{epc}/events`` for ``--lookups`` random stored EPCs (packs, cases, pallets
     of that manufacturer): p50/p99 (goal p99 <= 10 ms);
   - ``MATCH_epc`` + ``GE_eventTime``/``LT_eventTime`` + ``EQ_bizStep``: (a) a class-level pattern
     (``urn:epc:idpat:sgtin:CP.ITEM.*``, one product) over one week of commissioning, (b) one pallet
     SSCC over its year of shipping: p50/p99 of the first page (goal p99 <= 20 ms);
   - a page walk through ``--walk`` results (``EQ_bizStep=dispensing``, ``perPage=1000``, following
     ``Link: <…>; rel="next"``): seconds and events/s.

   Before querying, the planner's statistics are gathered (``ANALYZE``; ``--no-analyze`` skips it): the
   store does not gather them itself, and a PostgreSQL without autovacuum (as here) or any PostgreSQL's
   partitioned parent ``events`` (autovacuum never analyzes those) would otherwise have none. On
   PostgreSQL the tables are vacuumed too (``VACUUM (ANALYZE)``), as autovacuum would do on a production
   server after a bulk load: without a visibility map no index-only scan is possible. Then a
   ``CHECKPOINT`` writes the load's dirty pages out, as the checkpointer would have long before a
   production server's queries, instead of during the measured ones (their writes queue before the
   queries' reads).

3. A table with the ratio of each figure to its goal (>= 1.00x: met); ``--write bench/RESULTS.md``
   replaces the ``bench_epcis_repository`` section with it and the command line.

    .venv/bin/python bench/bench_epcis_repository.py --write bench/RESULTS.md           # 10M, ~1 h
    .venv/bin/python bench/bench_epcis_repository.py --events 200000 --reuse            # development

The PostgreSQL database (default ``packtrail_bench`` on the local server) is created when missing. The
large stores stay (SQLite files in ``--dir``, PostgreSQL schemas ``repo_<events>``: ~2.3 and ~3.2 kB per
event) for the next ``--reuse``; ``--drop`` removes them after measuring. A load that would leave less
than 10 GB of disk free is refused.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import multiprocessing
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import orjson
import psycopg

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from packtrail.gs1.checkdigit import gs1_check_digit  # noqa: E402
from packtrail.store import CaptureLimits, Viewer, open_store, parse_query_params  # noqa: E402
from results_file import write_results  # noqa: E402 - a sibling in bench/

SECTION = "bench_epcis_repository"
TITLE = "EPCIS repository: capture over HTTP, queries on a large store (bench_epcis_repository)"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/packtrail_bench"
DEFAULT_DIR = Path("/var/tmp/packtrail-bench")
PACKTRAIL = Path(sys.executable).with_name("packtrail")
SEED = 20260104

GOAL_CAPTURE = 20_000.0  # events/s
GOAL_EPC_P99 = 10.0  # ms
GOAL_QUERY_P99 = 20.0  # ms

# --------------------------------------------------------------------------------------------------
# The supply chain: who, what, where
# --------------------------------------------------------------------------------------------------

CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"cbvmda": "urn:epcglobal:cbv:mda:", "gs1ushc": "http://epcis.gs1us.org/hc/ns"},
]
YEAR_START = 1704067200  # 2024-01-01T00:00:00Z
PRODUCTION_DAYS = 300  # pallets start over ~10 months; the last dispensings reach January 2025
DAY = 86400


def _gln(cp: str, ref: str) -> str:
    digits = cp + ref
    return digits + gs1_check_digit(digits)


@dataclass(frozen=True)
class Party:
    """A trading party: company prefix, location reference of its site, offset of its clocks."""

    name: str
    cp: str
    ref: str
    offset: str  # eventTimeZoneOffset
    shift: int  # seconds east of UTC

    @property
    def gln(self) -> str:
        return _gln(self.cp, self.ref)

    @property
    def pgln(self) -> str:
        return f"urn:epc:id:pgln:{self.cp}.{self.ref}"

    def sgln(self, ext: str = "0") -> str:
        return f"urn:epc:id:sgln:{self.cp}.{self.ref}.{ext}"


@dataclass(frozen=True)
class Manufacturer:
    party: Party
    products: tuple[tuple[str, int], ...]  # (item reference, packs per case)
    us: bool  # DSCSA: shipments carry the transaction statement extension


MANUFACTURERS = (
    Manufacturer(
        Party("Pharma DE", "4012345", "00001", "+01:00", 3600),
        (("011111", 12), ("022222", 20), ("033333", 10), ("044444", 24)),
        False,
    ),
    Manufacturer(
        Party("Pharma US", "0312345", "00002", "-05:00", -18000),
        (("012345", 12), ("054321", 24), ("077777", 10)),
        True,
    ),
    Manufacturer(
        Party("Pharma FR", "340091", "000017", "+01:00", 3600), (("0123456", 10), ("0765432", 20)), False
    ),
    Manufacturer(
        Party("Pharma IT", "8012345", "00100", "+01:00", 3600), (("099991", 12), ("012120", 20)), False
    ),
)
WHOLESALERS = (
    Party("Wholesale North", "4099991", "00010", "+01:00", 3600),
    Party("Wholesale South", "3760001", "00020", "+01:00", 3600),
    Party("Wholesale West", "5412345", "00030", "+01:00", 3600),
)
PHARMACIES = tuple(Party(f"Pharmacy {i}", "4250000", f"{i:05d}", "+01:00", 3600) for i in range(1, 301))
CASES_PER_PALLET = (8, 12, 16, 24)
DISPENSED_SHARE = 0.6


def _stamp(t: float, party: Party) -> dict[str, str]:
    whole = int(t)
    local = time.gmtime(whole + party.shift)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{int((t - whole) * 1000):03d}" + party.offset
    return {"eventTime": text, "eventTimeZoneOffset": party.offset}


@dataclass
class Samples:
    """What the query measurements pick from: EPCs, products, pallets of the measuring manufacturer."""

    epcs: list[tuple[str, float]] = field(default_factory=list)  # (EPC, time of its first event)
    epcs_seen: int = 0
    pallets: list[tuple[str, float]] = field(default_factory=list)  # (SSCC, time it was shipped)
    pallets_seen: int = 0
    classes: list[str] = field(default_factory=list)


class Chain:
    """Reproducible pharma traffic for ``total`` events, as JSON-LD documents in eventTime order.

    :meth:`documents` yields ``(manufacturer index, event count, document bytes, latest eventTime)``:
    each document holds the events of one manufacturer's products (all along the chain), ``doc_events``
    of them, in the order of their eventTimes (a document per manufacturer is cut whenever that many are
    due). :attr:`samples` are reservoir samples of the ``sample_maker``'s EPCs and pallets, each with a
    time: once that manufacturer's documents up to time T are stored, those sampled at or before T are.
    """

    def __init__(
        self,
        total: int,
        doc_events: int,
        *,
        makers: Sequence[int] = (0, 1, 2, 3),
        seed: int = SEED,
        sample_maker: int = 0,
        sample_size: int = 4000,
    ) -> None:
        self.total = total
        self.doc_events = doc_events
        self.makers = tuple(makers)
        self.rng = random.Random(seed)
        self.sample_rng = random.Random(seed + 1)
        self.sample_maker = sample_maker
        self.sample_size = sample_size
        self.samples = Samples()
        self.scheduled = 0
        self.seq = 0
        self.lot = 0
        self.sscc_no = 0
        self.heaps: dict[int, list[tuple[float, int, bytes]]] = {m: [] for m in self.makers}
        self.ready: dict[int, list[tuple[float, int, bytes]]] = {m: [] for m in self.makers}
        maker = MANUFACTURERS[sample_maker]
        self.samples.classes = [
            f"urn:epc:idpat:sgtin:{maker.party.cp}.{item}.*" for item, _ in maker.products
        ]

    # -- identifiers --------------------------------------------------------------------------------

    def _event_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _sgtin(self, cp: str, item: str) -> str:
        return f"urn:epc:id:sgtin:{cp}.{item}.{self.rng.getrandbits(64):016X}"

    def _sscc(self, cp: str, extension: str) -> str:
        self.sscc_no += 1
        return f"urn:epc:id:sscc:{cp}.{extension}{self.sscc_no:0{16 - len(cp)}d}"

    def _sample(self, maker: int, epcs: Sequence[str], t: float) -> None:
        if maker != self.sample_maker:
            return
        s = self.samples
        for epc in epcs:
            s.epcs_seen += 1
            if len(s.epcs) < self.sample_size:
                s.epcs.append((epc, t))
            else:
                slot = self.sample_rng.randrange(s.epcs_seen)
                if slot < self.sample_size:
                    s.epcs[slot] = (epc, t)

    def _sample_pallet(self, maker: int, sscc: str, shipped: float) -> None:
        if maker != self.sample_maker:
            return
        s = self.samples
        s.pallets_seen += 1
        if len(s.pallets) < self.sample_size:
            s.pallets.append((sscc, shipped))
        else:
            slot = self.sample_rng.randrange(s.pallets_seen)
            if slot < self.sample_size:
                s.pallets[slot] = (sscc, shipped)

    # -- events ---------------------------------------------------------------------------------------

    def _emit(self, maker: int, t: float, event: dict[str, Any]) -> bool:
        """Schedule one event; False once ``total`` events are scheduled."""
        if self.scheduled >= self.total:
            return False
        self.scheduled += 1
        self.seq += 1
        event["eventID"] = f"urn:uuid:{self._event_id()}"
        # a copy: orjson's bytes keep their (much larger) build buffer, ~2 kB each while they wait here
        heapq.heappush(self.heaps[maker], (t, self.seq, memoryview(orjson.dumps(event)).tobytes()))
        return True

    def _trade(self, seller: Party, buyer: Party, number: int) -> dict[str, Any]:
        return {
            "bizTransactionList": [
                {"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:{buyer.gln}:PO{number}"},
                {"type": "desadv", "bizTransaction": f"urn:epcglobal:cbv:bt:{seller.gln}:ASN{number}"},
            ],
            "sourceList": [
                {"type": "owning_party", "source": seller.pgln},
                {"type": "location", "source": seller.sgln()},
            ],
            "destinationList": [
                {"type": "owning_party", "destination": buyer.pgln},
                {"type": "location", "destination": buyer.sgln()},
            ],
        }

    def _pallet(self, m: int, start: float) -> None:
        """One pallet's life: commissioning and packing at the manufacturer, shipping to a wholesaler,
        unpacking there, cases shipped to pharmacies, most packs dispensed."""
        rng = self.rng
        maker = MANUFACTURERS[m]
        me = maker.party
        item, per_case = rng.choice(maker.products)
        cases = rng.choice(CASES_PER_PALLET)
        self.lot += 1
        lot = f"L{self.lot:07d}"
        expiry = time.strftime("%Y-%m-%d", time.gmtime(start + rng.randint(540, 1080) * DAY))
        line = me.sgln(str(rng.randint(1, 6)))
        site = me.sgln()
        t = start
        case_ids: list[str] = []
        packs_of: list[list[str]] = []
        for _ in range(cases):
            packs = [self._sgtin(me.cp, item) for _ in range(per_case)]
            t += rng.uniform(20, 60)
            ok = self._emit(
                m,
                t,
                {
                    "type": "ObjectEvent",
                    **_stamp(t, me),
                    "epcList": packs,
                    "action": "ADD",
                    "bizStep": "commissioning",
                    "disposition": "active",
                    "readPoint": {"id": line},
                    "bizLocation": {"id": site},
                    "ilmd": {"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": expiry},
                },
            )
            if not ok:
                return
            self._sample(m, packs, t)
            case = self._sscc(me.cp, "1")
            t += rng.uniform(5, 20)
            if not self._emit(
                m,
                t,
                {
                    "type": "AggregationEvent",
                    **_stamp(t, me),
                    "parentID": case,
                    "childEPCs": packs,
                    "action": "ADD",
                    "bizStep": "packing",
                    "disposition": "in_progress",
                    "readPoint": {"id": line},
                    "bizLocation": {"id": site},
                },
            ):
                return
            self._sample(m, [case], t)
            case_ids.append(case)
            packs_of.append(packs)
        pallet = self._sscc(me.cp, "3")
        t += rng.uniform(60, 600)
        if not self._emit(
            m,
            t,
            {
                "type": "AggregationEvent",
                **_stamp(t, me),
                "parentID": pallet,
                "childEPCs": case_ids,
                "action": "ADD",
                "bizStep": "packing",
                "disposition": "in_progress",
                "readPoint": {"id": me.sgln("9")},
                "bizLocation": {"id": site},
            },
        ):
            return
        self._sample(m, [pallet], t)
        wholesaler = rng.choice(WHOLESALERS)
        order = rng.randint(100000, 999999)
        t += rng.uniform(0.5, 3) * DAY
        shipped = t
        shipping: dict[str, Any] = {
            "type": "ObjectEvent",
            **_stamp(t, me),
            "epcList": [pallet],
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "readPoint": {"id": me.sgln("8")},
            **self._trade(me, wholesaler, order),
        }
        if maker.us:
            shipping["gs1ushc:dscsaTransactionStatement"] = {"gs1ushc:affirmTransactionStatement": "true"}
        if not self._emit(m, t, shipping):
            return
        self._sample_pallet(m, pallet, shipped)
        t += rng.uniform(0.5, 2) * DAY
        if not self._emit(
            m,
            t,
            {
                "type": "ObjectEvent",
                **_stamp(t, wholesaler),
                "epcList": [pallet],
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
                "readPoint": {"id": wholesaler.sgln("1")},
                "bizLocation": {"id": wholesaler.sgln()},
                **self._trade(me, wholesaler, order),
            },
        ):
            return
        t += rng.uniform(0.1, 3) * DAY
        if not self._emit(
            m,
            t,
            {
                "type": "AggregationEvent",
                **_stamp(t, wholesaler),
                "parentID": pallet,
                "childEPCs": case_ids,
                "action": "DELETE",
                "bizStep": "unpacking",
                "disposition": "in_progress",
                "readPoint": {"id": wholesaler.sgln("2")},
                "bizLocation": {"id": wholesaler.sgln()},
            },
        ):
            return
        unpacked = t
        for case, packs in zip(case_ids, packs_of, strict=True):
            pharmacy = rng.choice(PHARMACIES)
            order = rng.randint(100000, 999999)
            ts = unpacked + rng.uniform(0.2, 10) * DAY
            if not self._emit(
                m,
                ts,
                {
                    "type": "ObjectEvent",
                    **_stamp(ts, wholesaler),
                    "epcList": [case],
                    "action": "OBSERVE",
                    "bizStep": "shipping",
                    "disposition": "in_transit",
                    "readPoint": {"id": wholesaler.sgln("3")},
                    **self._trade(wholesaler, pharmacy, order),
                },
            ):
                return
            tr = ts + rng.uniform(0.3, 1.5) * DAY
            if not self._emit(
                m,
                tr,
                {
                    "type": "ObjectEvent",
                    **_stamp(tr, pharmacy),
                    "epcList": [case],
                    "action": "OBSERVE",
                    "bizStep": "receiving",
                    "disposition": "in_progress",
                    "readPoint": {"id": pharmacy.sgln()},
                    "bizLocation": {"id": pharmacy.sgln()},
                    **self._trade(wholesaler, pharmacy, order),
                },
            ):
                return
            for pack in packs:
                if rng.random() >= DISPENSED_SHARE:
                    continue
                td = tr + rng.uniform(0.1, 60) * DAY
                if not self._emit(
                    m,
                    td,
                    {
                        "type": "ObjectEvent",
                        **_stamp(td, pharmacy),
                        "epcList": [pack],
                        "action": "OBSERVE",
                        "bizStep": "dispensing",
                        "disposition": "dispensed",
                        "readPoint": {"id": pharmacy.sgln()},
                        "bizLocation": {"id": pharmacy.sgln()},
                    },
                ):
                    return

    # -- documents ------------------------------------------------------------------------------------

    def _document(self, chunk: list[tuple[float, int, bytes]]) -> tuple[bytes, float]:
        head = orjson.dumps(
            {
                "@context": CONTEXT,
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2025-02-01T00:00:00.000Z",
            }
        )
        events = b",".join(item[2] for item in chunk)
        return head[:-1] + b',"epcisBody":{"eventList":[' + events + b"]}}", chunk[-1][0]

    def _due(self, clock: float) -> Iterator[tuple[int, int, bytes, float]]:
        for m in self.makers:
            heap, ready = self.heaps[m], self.ready[m]
            while heap and heap[0][0] <= clock:
                ready.append(heapq.heappop(heap))
            while len(ready) >= self.doc_events:
                chunk, self.ready[m] = ready[: self.doc_events], ready[self.doc_events :]
                ready = self.ready[m]
                yield m, len(chunk), *self._document(chunk)

    def documents(self) -> Iterator[tuple[int, int, bytes, float]]:
        """The documents, in capture order."""
        turn = 0
        while self.scheduled < self.total:
            m = self.makers[turn % len(self.makers)]
            turn += 1
            start = YEAR_START + PRODUCTION_DAYS * DAY * self.scheduled / self.total
            self._pallet(m, start + self.rng.uniform(0, 3600))
            yield from self._due(start)
        yield from self._due(float("inf"))
        for m in self.makers:
            ready = self.ready[m]
            for i in range(0, len(ready), self.doc_events):
                chunk = ready[i : i + self.doc_events]
                yield m, len(chunk), *self._document(chunk)
            self.ready[m] = []


def _produce(total: int, doc_events: int, skip: int, out: Any) -> None:
    """Child process: generate the documents into the queue ``out`` (without the bytes of the first
    ``skip``), each with the samples as they are then; None at the end."""
    chain = Chain(total, doc_events)
    for n, (m, count, data, latest) in enumerate(chain.documents()):
        s = chain.samples
        samples = {"epcs": list(s.epcs), "pallets": list(s.pallets), "classes": s.classes}
        out.put((m, count, None if n < skip else data, latest, samples))
    out.put(None)


def capture_document(events: int) -> bytes:
    """One JSON-LD document of ``events`` events of the first manufacturer (for the HTTP capture)."""
    chain = Chain(events, events, makers=(0,), seed=SEED + 7)
    docs = list(chain.documents())
    if len(docs) != 1 or docs[0][1] != events:
        raise AssertionError(f"expected one document of {events} events, got {[d[1] for d in docs]}")
    return docs[0][2]


# --------------------------------------------------------------------------------------------------
# Backends: where a store lives, how big it is
# --------------------------------------------------------------------------------------------------


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` when it does not exist (connecting to ``postgres``)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not found:
            connection.execute(f'CREATE DATABASE "{name}"')


class Backend:
    name: str

    def fresh(self, label: str) -> str:
        """The URL of a new, empty store."""
        raise NotImplementedError

    def drop(self, label: str) -> None:
        raise NotImplementedError

    def size(self, label: str) -> int:
        """Bytes the store takes (tables, indexes, TOAST; SQLite: file + WAL)."""
        raise NotImplementedError

    def url(self, label: str) -> str:
        raise NotImplementedError

    def settings(self) -> str:
        return ""

    def analyze(self, label: str) -> None:
        """Gather the planner's statistics (the store does not; see the module docstring)."""
        raise NotImplementedError


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, label: str) -> Path:
        return self.folder / f"{label}.db"

    def url(self, label: str) -> str:
        return f"sqlite:///{self.path(label)}"

    def fresh(self, label: str) -> str:
        self.drop(label)
        return self.url(label)

    def drop(self, label: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path(label)}{suffix}").unlink(missing_ok=True)

    def size(self, label: str) -> int:
        path = self.path(label)
        wal = Path(f"{path}-wal")
        return (path.stat().st_size if path.exists() else 0) + (wal.stat().st_size if wal.exists() else 0)

    def checkpoint(self, label: str) -> None:
        with sqlite3.connect(self.path(label)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def analyze(self, label: str) -> None:
        with sqlite3.connect(self.path(label)) as connection:
            connection.execute("PRAGMA analysis_limit=1000")
            connection.execute("ANALYZE")


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, base: str) -> None:
        ensure_database(base)
        self.base = base

    def url(self, label: str) -> str:
        return _with_search_path(self.base, label)

    def fresh(self, label: str) -> str:
        self.drop(label)
        with psycopg.connect(self.base, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{label}"')
        return self.url(label)

    def drop(self, label: str) -> None:
        with psycopg.connect(self.base, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{label}" CASCADE')

    def size(self, label: str) -> int:
        with psycopg.connect(self.base, autocommit=True) as connection:
            row = connection.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                (label,),
            ).fetchone()
        return int(row[0]) if row else 0

    def analyze(self, label: str) -> None:
        with psycopg.connect(self.base, autocommit=True) as connection:
            names = [
                (row[0], row[1])
                for row in connection.execute(
                    "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
                    (label,),
                )
            ]
            tables = [name for name, kind in names if kind == "r"]
            parents = [name for name, kind in names if kind == "p"]
            if tables:
                connection.execute("VACUUM (ANALYZE) " + ", ".join(f'"{label}"."{name}"' for name in tables))
            if parents:
                connection.execute("ANALYZE " + ", ".join(f'"{label}"."{name}"' for name in parents))
            # the load's dirty pages written now, not by the checkpointer while the queries run (not a
            # superuser: the checkpointer writes them in its own time)
            with contextlib.suppress(psycopg.Error):
                connection.execute("CHECKPOINT")

    def data_directory(self) -> Path | None:
        with psycopg.connect(self.base, autocommit=True) as connection:
            try:
                row = connection.execute("SHOW data_directory").fetchone()
            except psycopg.Error:  # not a superuser
                return None
        return Path(row[0]) if row else None

    def settings(self) -> str:
        with psycopg.connect(self.base, autocommit=True) as connection:
            values = [
                f"{name}={connection.execute(f'SHOW {name}').fetchone()[0]}"  # type: ignore[index]
                for name in (
                    "server_version",
                    "shared_buffers",
                    "work_mem",
                    "synchronous_commit",
                    "max_wal_size",
                )
            ]
        return ", ".join(values)


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_party(url: str, party: Party) -> str:
    """``packtrail parties add``: the new API key."""
    done = subprocess.run(
        [str(PACKTRAIL), "parties", "add", party.gln, "--name", party.name, "--db", url, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"packtrail parties add failed: {done.stderr.strip()}")
    return str(json.loads(done.stdout)["api_key"])


class Server:
    """``packtrail serve --db URL`` on a free port, until :meth:`stop`."""

    def __init__(self, url: str, key: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PACKTRAIL_CAPTURE_MAX_EVENTS": "1000000",
            "PACKTRAIL_CAPTURE_MAX_BYTES": str(1 << 30),
        }
        self.process = subprocess.Popen(
            [str(PACKTRAIL), "serve", "--db", url, "--port", str(self.port), "--log-level", "warning"],
            env=env,
        )
        self.client = httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {key}"}, timeout=httpx.Timeout(3600.0)
        )
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"packtrail serve exited with {self.process.returncode}")
            try:
                if self.client.get("/epcis/").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("packtrail serve did not answer within 120 s")
            time.sleep(0.2)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------------
# 1. Capture over HTTP
# --------------------------------------------------------------------------------------------------


def http_capture(backend: Backend, document: bytes, events: int) -> dict[str, Any]:
    label = f"capture_{uuid.uuid4().hex[:10]}"
    url = backend.fresh(label)
    try:
        maker = MANUFACTURERS[0].party
        key = add_party(url, maker)
        with Server(url, key) as server:
            before = backend.size(label)
            start = time.perf_counter()
            answer = server.client.post(
                "/epcis/capture", content=document, headers={"Content-Type": "application/ld+json"}
            )
            seconds = time.perf_counter() - start
            if answer.status_code != 202:
                raise SystemExit(f"capture: HTTP {answer.status_code}: {answer.text[:500]}")
            job = answer.json()
        if isinstance(backend, SQLiteBackend):
            backend.checkpoint(label)
        after = backend.size(label)
        captured = int(job.get("captured") or 0) if isinstance(job, dict) else 0
        if captured != events or not job.get("success"):
            raise SystemExit(f"capture: stored {captured} of {events}: {str(job)[:500]}")
        return {
            "events": events,
            "seconds": seconds,
            "events_per_s": events / seconds,
            "bytes_per_event": (after - before) / events,
            "megabytes": len(document) / 1e6,
        }
    finally:
        backend.drop(label)


# --------------------------------------------------------------------------------------------------
# 2. The large repository: load (or reuse), then queries
# --------------------------------------------------------------------------------------------------


def _sidecar(folder: Path, backend: Backend, label: str) -> Path:
    return folder / f"{backend.name}-{label}.json"


def _stored_events(url: str) -> int:
    with open_store(url) as store:
        import sqlalchemy as sa

        with store.engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM event_keys")).scalar_one())


BYTES_PER_EVENT_GUESS = {"sqlite": 2_500, "postgresql": 3_500}
"""Room a stored event takes with its index rows (measured at 200,000 events, rounded up)."""


def check_disk(backends: Sequence[Backend], folder: Path, total: int, reuse: bool) -> None:
    """Refuse to start loads that would leave less than 10 GB free on a (shared) file system."""
    need: dict[int, tuple[Path, float]] = {}
    for backend in backends:
        if reuse and _sidecar(folder, backend, f"repo_{total}").exists():
            continue
        where = backend.data_directory() if isinstance(backend, PostgresBackend) else folder
        if where is None or not where.exists():
            continue
        device = where.stat().st_dev
        place, bytes_ = need.get(device, (where, 0.0))
        need[device] = (place, bytes_ + total * BYTES_PER_EVENT_GUESS[backend.name])
    for where, bytes_ in need.values():
        free = shutil.disk_usage(where).free
        if free - bytes_ < 10e9:
            raise SystemExit(
                f"{total:,} events need about {bytes_ / 1e9:.0f} GB on the file system of {where}; "
                f"{free / 1e9:.0f} GB are free (10 GB must stay free). Use fewer --events or free space."
            )


def load_repository(
    backend: Backend, folder: Path, total: int, doc_events: int, reuse: bool, max_load_seconds: float | None
) -> dict[str, Any]:
    """The large store: reused when complete (``--reuse``), resumed when a load was cut, else loaded."""
    label = f"repo_{total}"
    meta_path = _sidecar(folder, backend, label)
    meta: dict[str, Any] | None = None
    if reuse and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        try:
            stored = _stored_events(backend.url(label))
        except Exception as error:  # the store is gone or unreadable
            print(f"  {backend.name}: cannot reuse {label} ({error}); loading it again")
            meta = None
        else:
            if stored != meta["captured"]:
                print(
                    f"  {backend.name}: {label} holds {stored:,} events, the record says "
                    f"{meta['captured']:,}; loading it again"
                )
                meta = None
    if meta is not None and meta.get("complete"):
        print(f"  {backend.name}: reusing {label} ({meta['captured']:,} events)")
        return meta
    if meta is None:
        url = backend.fresh(label)
        key = add_party(url, MANUFACTURERS[0].party)
        meta = {
            "label": label,
            "url": url,
            "events": total,
            "doc_events": doc_events,
            "api_key": key,
            "party": MANUFACTURERS[0].party.gln,
            "documents": 0,
            "captured": 0,
            "load_seconds": 0.0,
            "complete": False,
        }
        meta_path.write_text(json.dumps(meta))
    else:
        print(
            f"  {backend.name}: resuming {label} after {meta['documents']} documents "
            f"({meta['captured']:,} events)"
        )
    url = meta["url"]
    skip = int(meta["documents"])
    queue: Any = multiprocessing.get_context("fork").Queue(maxsize=2)
    producer = multiprocessing.get_context("fork").Process(
        target=_produce, args=(total, doc_events, skip, queue), daemon=True
    )
    producer.start()
    parties = [m.party.gln for m in MANUFACTURERS]
    limits = CaptureLimits(max_events=max(doc_events, 100_000), max_bytes=1 << 30)
    started = time.perf_counter()
    waited = 0.0
    n = 0
    cut = False
    with open_store(url) as store:
        while True:
            wait_start = time.perf_counter()
            item = queue.get()
            waited += time.perf_counter() - wait_start
            if item is None:
                break
            m, count, data, latest, samples = item
            n += 1
            if data is not None:
                if max_load_seconds is not None and meta["load_seconds"] >= max_load_seconds:
                    print(f"  {backend.name}: load budget spent; stopping at {meta['captured']:,} events")
                    cut = True
                    break
                t0 = time.perf_counter()
                result = store.capture(data, party=parties[m], limits=limits)
                seconds = time.perf_counter() - t0
                if not result.success or result.captured + result.duplicates != count:
                    producer.kill()
                    raise SystemExit(
                        f"load: document {n} stored {result.captured} of {count}: "
                        f"{[e.to_dict() for e in result.errors[:3]]}"
                    )
                meta["documents"] = n
                meta["captured"] += result.captured
                meta["load_seconds"] += seconds
                elapsed = time.perf_counter() - started
                print(
                    f"  {backend.name}: doc {n:>4}  {meta['captured']:>11,} events  "
                    f"{count / seconds:>8,.0f} ev/s this doc  "
                    f"{meta['captured'] / meta['load_seconds']:>8,.0f} ev/s in capture  "
                    f"{elapsed:>7.0f} s wall ({waited:.0f} s waiting for the generator)",
                    flush=True,
                )
            # what is stored of the sampled manufacturer: its events up to its latest stored document's
            meta["samples"] = samples
            if m == 0:
                meta["stored_until"] = latest
            meta_path.write_text(json.dumps(meta))
    if cut:
        producer.terminate()
    producer.join()
    meta["complete"] = not cut
    meta["generator_wait_seconds"] = waited
    meta_path.write_text(json.dumps(meta))
    return meta


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 1)) - 1))
    return ordered[rank]


def _latencies(calls: Sequence[Callable[[], int]], budget: float, warmup: int = 20) -> dict[str, Any]:
    """Run each call (returns the events it got) and time it; ms percentiles. Stops after ``budget`` s."""
    for call in calls[:warmup]:
        call()
    times: list[float] = []
    found = 0
    spent = time.perf_counter()
    for call in calls:
        t0 = time.perf_counter()
        got = call()
        times.append((time.perf_counter() - t0) * 1000)
        found += got
        if time.perf_counter() - spent > budget:
            break
    return {
        "n": len(times),
        "of": len(calls),
        "p50": _percentile(times, 0.5),
        "p99": _percentile(times, 0.99),
        "max": max(times) if times else float("nan"),
        "mean_events": found / max(1, len(times)),
    }


def _event_list(body: bytes) -> list[Any]:
    doc = orjson.loads(body)
    return list(doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"])


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class Workload:
    epcs: list[str]
    class_queries: list[list[tuple[str, str]]]
    pallet_queries: list[list[tuple[str, str]]]
    walk: list[tuple[str, str]]


def workload(samples: dict[str, Any], until: float, lookups: int, queries: int, part: int = 0) -> Workload:
    """The queries, on what is stored: the sampled manufacturer's events up to ``until``.

    ``part`` 0 (over HTTP) and 1 (in process) get disjoint EPCs and pallets and their own class
    queries (while the samples last), so that neither series reads what the other brought into the
    caches: both start cold."""
    rng = random.Random(SEED + 3)
    epcs = [epc for epc, t in samples["epcs"] if t <= until]
    rng.shuffle(epcs)
    if len(epcs) >= 2 * lookups:
        epcs = epcs[part::2]
    rng = random.Random(SEED + 3 + 1000 * part)
    epcs = (epcs * (1 + lookups // max(1, len(epcs))))[:lookups]
    classes = samples["classes"]
    class_queries = []
    for _ in range(queries):
        last = min(YEAR_START + (PRODUCTION_DAYS - 7) * DAY, until - 7 * DAY)
        start = YEAR_START + rng.uniform(0, max(0.0, last - YEAR_START))
        class_queries.append(
            [
                ("MATCH_epc", rng.choice(classes)),
                ("GE_eventTime", _iso(start)),
                ("LT_eventTime", _iso(start + 7 * DAY)),
                ("EQ_bizStep", "commissioning"),
            ]
        )
    pallets = [(sscc, t) for sscc, t in samples["pallets"] if t <= until]
    rng.shuffle(pallets)
    if len(pallets) >= 2 * queries:
        pallets = pallets[part::2]
    pallet_queries = []
    for sscc, _shipped in (pallets * (1 + queries // max(1, len(pallets))))[:queries]:
        pallet_queries.append(
            [
                ("MATCH_epc", sscc),
                ("GE_eventTime", "2024-01-01T00:00:00Z"),
                ("LT_eventTime", "2025-01-01T00:00:00Z"),
                ("EQ_bizStep", "shipping"),
            ]
        )
    return Workload(epcs, class_queries, pallet_queries, [("EQ_bizStep", "dispensing")])


def http_queries(server: Server, work: Workload, walk: int, budget: float) -> dict[str, Any]:
    client = server.client

    def lookup(epc: str) -> Callable[[], int]:
        path = f"/epcis/epcs/{quote(epc, safe=':')}/events"

        def call() -> int:
            answer = client.get(path)
            if answer.status_code != 200:
                raise SystemExit(f"GET {path}: HTTP {answer.status_code}: {answer.text[:300]}")
            return len(_event_list(answer.content))

        return call

    def query(params: list[tuple[str, str]]) -> Callable[[], int]:
        def call() -> int:
            answer = client.get("/epcis/events", params=tuple(params))
            if answer.status_code != 200:
                raise SystemExit(
                    f"GET /epcis/events {params}: HTTP {answer.status_code}: {answer.text[:300]}"
                )
            return len(_event_list(answer.content))

        return call

    figures: dict[str, Any] = {}
    figures["epc"] = _latencies([lookup(e) for e in work.epcs], budget)
    figures["class_query"] = _latencies([query(p) for p in work.class_queries], budget)
    figures["pallet_query"] = _latencies([query(p) for p in work.pallet_queries], budget)
    got = 0
    pages = 0
    start = time.perf_counter()
    answer = client.get("/epcis/events", params=[*work.walk, ("perPage", "1000")])
    while True:
        if answer.status_code != 200:
            raise SystemExit(f"page walk: HTTP {answer.status_code}: {answer.text[:300]}")
        got += len(_event_list(answer.content))
        pages += 1
        following = answer.links.get("next", {}).get("url")
        if got >= walk or not following:
            break
        answer = client.get(following)
    seconds = time.perf_counter() - start
    figures["walk"] = {"events": got, "pages": pages, "seconds": seconds, "events_per_s": got / seconds}
    return figures


def store_queries(url: str, party: str, work: Workload, walk: int, budget: float) -> dict[str, Any]:
    viewer = Viewer(party)
    with open_store(url) as store:
        namespaces = store.namespaces()

        def run(params: list[tuple[str, str]]) -> Callable[[], int]:
            def call() -> int:
                query = parse_query_params(params, namespaces=namespaces)
                return len(store.query_events(query, viewer, per_page=30).events)

            return call

        figures: dict[str, Any] = {}
        figures["epc"] = _latencies([run([("MATCH_anyEPC", e)]) for e in work.epcs], budget)
        figures["class_query"] = _latencies([run(p) for p in work.class_queries], budget)
        figures["pallet_query"] = _latencies([run(p) for p in work.pallet_queries], budget)
        query = parse_query_params(work.walk, namespaces=namespaces)
        got = 0
        pages = 0
        token: str | None = None
        start = time.perf_counter()
        while True:
            page = store.query_events(query, viewer, per_page=1000, page_token=token)
            got += len(page.events)
            pages += 1
            token = page.next_page_token
            if got >= walk or not token:
                break
        seconds = time.perf_counter() - start
        figures["walk"] = {"events": got, "pages": pages, "seconds": seconds, "events_per_s": got / seconds}
    return figures


def repository_run(backend: Backend, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    max_load = args.max_load_minutes * 60 if args.max_load_minutes else None
    meta = load_repository(backend, folder, args.events, args.doc_events, args.reuse, max_load)
    label = meta["label"]
    if isinstance(backend, SQLiteBackend):
        backend.checkpoint(label)
    size = backend.size(label)
    analyze_seconds = None
    if args.analyze:
        start = time.perf_counter()
        backend.analyze(label)
        analyze_seconds = time.perf_counter() - start
        print(f"  {backend.name}: statistics (ANALYZE) took {analyze_seconds:.1f} s")
    until = float("inf") if meta["complete"] else float(meta.get("stored_until", YEAR_START))
    work = workload(meta["samples"], until, args.lookups, args.queries, part=0)
    print(f"  {backend.name}: {meta['captured']:,} events stored, {size / 1e9:.2f} GB; querying over HTTP")
    with Server(meta["url"], meta["api_key"]) as server:
        over_http = http_queries(server, work, args.walk, args.query_budget)
    print(f"  {backend.name}: querying in process")
    work = workload(meta["samples"], until, args.lookups, args.queries, part=1)
    in_process = store_queries(meta["url"], meta["party"], work, args.walk, args.query_budget)
    return {
        "stored": meta["captured"],
        "complete": meta["complete"],
        "bytes": size,
        "bytes_per_event": size / max(1, meta["captured"]),
        "load_events_per_s": meta["captured"] / max(1e-9, meta["load_seconds"]),
        "load_seconds": meta["load_seconds"],
        "http": over_http,
        "store": in_process,
    }


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _vs(value: float, goal: float, higher_is_better: bool) -> str:
    if value != value:  # NaN
        return "—"
    ratio = value / goal if higher_is_better else goal / value if value else float("inf")
    return f"{ratio:.2f}x {'met' if ratio >= 1 else 'missed'}"


def render(figures: dict[str, Any]) -> str:
    backends = [b for b in ("sqlite", "postgresql") if b in figures["backends"]]
    heads = " | ".join(backends)
    lines = [
        f"| figure | {heads} | goal |",
        "|---|" + "---:|" * len(backends) + "---|",
    ]

    def row(title: str, get: Callable[[dict[str, Any]], str], goal: str = "") -> None:
        cells = []
        for b in backends:
            try:
                cells.append(get(figures["backends"][b]))
            except (KeyError, TypeError):
                cells.append("—")
        lines.append(f"| {title} | {' | '.join(cells)} | {goal} |")

    cap = figures.get("capture_events")
    if cap:
        row(
            f"capture over HTTP, {cap:,} events: events/s",
            lambda f: (
                f"{f['capture']['events_per_s']:,.0f} ({f['capture']['seconds']:.1f} s; "
                f"{_vs(f['capture']['events_per_s'], GOAL_CAPTURE, True)})"
            ),
            ">= 20,000",
        )
        row("bytes stored per event (capture)", lambda f: f"{f['capture']['bytes_per_event']:,.0f}")
    if "repo" in next(iter(figures["backends"].values()), {}):
        row(
            "events stored (large store)",
            lambda f: f"{f['repo']['stored']:,}" + ("" if f["repo"]["complete"] else " (load cut short)"),
        )
        row(
            "load through Store.capture: events/s",
            lambda f: f"{f['repo']['load_events_per_s']:,.0f} ({f['repo']['load_seconds'] / 60:.1f} min)",
        )
        row("bytes per event (large store)", lambda f: f"{f['repo']['bytes_per_event']:,.0f}")
        for where, label in (("http", "HTTP"), ("store", "in process")):

            def lat(key: str, goal: float, where: str = where) -> Callable[[dict[str, Any]], str]:
                def get(f: dict[str, Any]) -> str:
                    x = f["repo"][where][key]
                    cut = "" if x["n"] == x["of"] else f", {x['n']} of {x['of']} in budget"
                    met = f"; {_vs(x['p99'], goal, False)}" if where == "http" else ""
                    return f"{x['p50']:.1f} / {x['p99']:.1f} ms ({x['mean_events']:.1f} events{cut}{met})"

                return get

            row(f"{label}: `/epcs/{{epc}}/events` p50 / p99", lat("epc", GOAL_EPC_P99), "p99 <= 10 ms")
            row(
                f"{label}: MATCH_epc class pattern + week + bizStep p50 / p99",
                lat("class_query", GOAL_QUERY_P99),
                "p99 <= 20 ms",
            )
            row(
                f"{label}: MATCH_epc pallet SSCC + year + bizStep p50 / p99",
                lat("pallet_query", GOAL_QUERY_P99),
                "p99 <= 20 ms",
            )

            def walked(f: dict[str, Any], where: str = where) -> str:
                w = f["repo"][where]["walk"]
                return f"{w['events']:,} events in {w['seconds']:.2f} s = {w['events_per_s']:,.0f} events/s"

            row(f"{label}: page walk, perPage=1000", walked)
    notes = [
        "",
        f"Large store: pharma supply chain generated for {figures.get('events', 0):,} events over 2024 "
        "and loaded in eventTime order (a load cut short holds the earliest; the queries then ask only "
        "for what is stored) (commissioning "
        "with ILMD lot/expiry, packing into cases and pallets, shipping/receiving with po/desadv and "
        "owning_party, unpacking, case shipments to 300 pharmacies, 60% of packs dispensed), 4 manufacturers, "
        f"each document ({figures.get('doc_events', 0):,} events) captured by its manufacturer through "
        "`Store.capture`. Queries run as one manufacturer (visibility checked per row): latencies over "
        "`packtrail serve` (uvicorn, 1 worker, httpx keep-alive, sequential) and in process "
        "(`parse_query_params` + `Store.query_events`, 30 per page; the HTTP path also reads "
        "`Store.namespaces()` and renders JSON-LD). `(n events)` = mean events per answer; the HTTP and in-process series ask for different EPCs, pallets "
        "and class weeks (disjoint halves of the samples), so each starts on cold caches. "
        "Page walk: `EQ_bizStep=dispensing`, following `Link` next.",
    ]
    if figures.get("analyze"):
        notes.append(
            "Planner statistics were gathered after the load (`ANALYZE`; SQLite with `analysis_limit=1000`; "
            "PostgreSQL `VACUUM (ANALYZE)`, as autovacuum would after a bulk load, for the visibility map): "
            "the store does not gather them itself, and this PostgreSQL runs without autovacuum "
            "(which never analyzes a partitioned parent table anyway). Without them (`--no-analyze`) "
            "the PostgreSQL planner misjudges the EPC look-ups by orders of magnitude."
        )
    else:
        notes.append("No planner statistics gathered (`--no-analyze`).")
    if figures.get("pg_settings"):
        notes.append(f"PostgreSQL: {figures['pg_settings']}.")
    return "\n".join(lines + notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=10_000_000, help="events in the large store (10,000,000)"
    )
    parser.add_argument("--doc-events", type=int, default=50_000, help="events per loaded document (50,000)")
    parser.add_argument(
        "--capture-events",
        type=int,
        default=100_000,
        help="events in the document POSTed to /epcis/capture (100,000; 0 skips)",
    )
    parser.add_argument(
        "--postgres", default=DEFAULT_POSTGRES, help=f"PostgreSQL database ({DEFAULT_POSTGRES})"
    )
    parser.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help=f"SQLite stores, load records ({DEFAULT_DIR})"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse (or resume) the large store of a former run"
    )
    parser.add_argument("--no-repository", action="store_true", help="only the HTTP capture")
    parser.add_argument("--lookups", type=int, default=1000, help="EPCs looked up (1,000)")
    parser.add_argument("--queries", type=int, default=200, help="MATCH_epc queries of each kind (200)")
    parser.add_argument("--walk", type=int, default=100_000, help="events in the page walk (100,000)")
    parser.add_argument(
        "--query-budget",
        type=float,
        default=60.0,
        help="seconds one latency series may take before it stops (60)",
    )
    parser.add_argument(
        "--max-load-minutes",
        type=float,
        default=0.0,
        help="stop loading after this many minutes of capture (0: no limit)",
    )
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="query without gathering planner statistics first (ANALYZE) after the load",
    )
    parser.add_argument(
        "--drop", action="store_true", help="delete the large stores once measured (they are kept by default)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--write", type=Path, help="update this Markdown file (e.g. bench/RESULTS.md)")
    args = parser.parse_args()

    wall = time.perf_counter()
    args.dir.mkdir(parents=True, exist_ok=True)
    backends: list[Backend] = []
    if args.backend in ("both", "sqlite"):
        backends.append(SQLiteBackend(args.dir))
    if args.backend in ("both", "postgresql"):
        backends.append(PostgresBackend(args.postgres))
    figures: dict[str, Any] = {
        "backends": {b.name: {} for b in backends},
        "events": args.events,
        "doc_events": args.doc_events,
    }
    if args.capture_events:
        document = capture_document(args.capture_events)
        figures["capture_events"] = args.capture_events
        print(f"capture document: {args.capture_events:,} events, {len(document) / 1e6:.1f} MB JSON-LD")
        for backend in backends:
            result = http_capture(backend, document, args.capture_events)
            figures["backends"][backend.name]["capture"] = result
            print(
                f"  {backend.name}: {result['events_per_s']:,.0f} events/s ({result['seconds']:.2f} s), "
                f"{result['bytes_per_event']:,.0f} bytes/event"
            )
        del document
    figures["analyze"] = args.analyze
    if not args.no_repository:
        print(f"large store: {args.events:,} events in documents of {args.doc_events:,}")
        check_disk(backends, args.dir, args.events, args.reuse)
        for backend in backends:
            started = time.perf_counter()
            figures["backends"][backend.name]["repo"] = repository_run(backend, args.dir, args)
            figures["backends"][backend.name]["repo"]["wall_seconds"] = time.perf_counter() - started
            if args.drop:
                backend.drop(f"repo_{args.events}")
                _sidecar(args.dir, backend, f"repo_{args.events}").unlink(missing_ok=True)
    for backend in backends:
        if isinstance(backend, PostgresBackend):
            figures["pg_settings"] = backend.settings()
    figures["wall_seconds"] = time.perf_counter() - wall
    text = render(figures)
    print()
    print(text)
    print(f"\nwall time: {figures['wall_seconds'] / 60:.1f} min")
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    if args.write:
        command = "python bench/bench_epcis_repository.py " + " ".join(sys.argv[1:])
        write_results(args.write, {SECTION: (TITLE, text)}, command.strip())


if __name__ == "__main__":
    main()
