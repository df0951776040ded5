"""A packaging line run: serials in, packs commissioned, packed into cases and pallets, events captured.

A serialisation line prints a GS1 DataMatrix on every pack (GTIN, serial, lot, expiry), tells the
repository that each pack exists (commissioning), puts packs into cases and cases onto pallets (each
logistic unit gets an SSCC) and tells that too (aggregation). :class:`PackagingLine` does what the
line's site server does, in this order:

1. ask the brand owner's serial register for ``n`` serials of the GTIN, issued to the line's GLN
   (:class:`~packtrail.serials.SerialService`, or a node over HTTP);
2. take SSCCs for the cases and pallets from the SSCC register (:mod:`packtrail.packaging.sscc`);
3. build the events as the line would emit them, in time order: for each case, the commissioning of
   its packs (ObjectEvent ADD ``commissioning``, ``active``, lot and expiry in the ILMD), then the case
   (AggregationEvent ADD ``packing``, parent the case's SSCC); after each pallet's cases, the pallet.
   A last case or pallet that is not full is a :func:`~packtrail.packaging.events.partial_case`;
4. capture them into the repository, in documents of at most ``events_per_capture`` events.

>>> import tempfile
>>> from datetime import UTC, datetime
>>> folder = tempfile.mkdtemp()
>>> with PackagingLine(f"sqlite:///{folder}/line.db", "04012345111118", "B42", "280229",
...                    case_size=10, cases_per_pallet=4, start=datetime(2026, 3, 2, 6, tzinfo=UTC)) as line:
...     run = line.run(95)
>>> run.packs, run.cases, run.pallets, run.events, run.captured
(95, 10, 3, 23, 23)
>>> run.case_ssccs()[:2], run.pallet_ssccs()
(['040123450000000016', '040123450000000023'], ['040123450000000115', '040123450000000122', \
'040123450000000139'])
>>> run.first_event_time, run.last_event_time
('2026-03-02T06:00:02.000+00:00', '2026-03-02T06:00:19.002+00:00')

The line runs at ``packs_per_minute`` (300 by default): a commissioning event carries the time its
last pack was printed, a case the time after its last pack, a pallet the time after its last case.
Without ``start`` the run is placed so that its last event is now. Each commissioning event holds
``commission_batch`` packs (by default a case's worth); 1 gives one event per pack.

Building the events of 100,000 packs takes well under a second; the run's time goes to capture
(``LineRun.capture_seconds``) and, with ``images``, to drawing a DataMatrix per pack.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, Final

from packtrail.epcis.document import Event
from packtrail.gs1 import (
    GTIN,
    GS1Error,
    PackIdentifier,
    company_prefix_length,
    gs1_check_digit,
    sgtin_from_gtin_serial,
)
from packtrail.gs1.linters import gs1_date
from packtrail.packaging.errors import LineCaptureError, PackagingError
from packtrail.packaging.events import Place, commissioning, document, packing, partial_case
from packtrail.packaging.labels import write_pack_images
from packtrail.packaging.node import CaptureOutcome, EventSink, LineServices, LocalServices, SerialSource
from packtrail.packaging.sscc import SSCCAllocation, SSCCService, check_company_prefix
from packtrail.store import Store, open_store

__all__ = ["MAX_CONTAINER", "MAX_PACKS", "LineRun", "PackagingLine"]

MAX_PACKS: Final = 10_000_000
"""The most packs one run may make (the most serials one allocation issues)."""
MAX_CONTAINER: Final = 10_000
"""The most children one case or pallet may hold."""
MAX_PACKS_PER_MINUTE: Final = 6_000
"""The fastest line speed (100 packs a second): the events of a case and its pallet stay a few
milliseconds apart and still before the next pack."""

_AI_FIELDS: Final = {"01": "gtin", "10": "lot", "17": "expiry", "21": "serial"}
_TICK: Final = timedelta(milliseconds=1)


def _whole(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PackagingError(field, f"expected a whole number from {low:,} to {high:,}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class LineRun:
    """What a run made: packs (serials in pack order), cases and pallets (SSCCs), events captured."""

    gtin: str
    """The GTIN-14 of the packs."""
    lot: str
    expiry: str
    """The expiry as printed (AI 17, ``YYMMDD``)."""
    read_point: str
    biz_location: str
    case_size: int
    cases_per_pallet: int
    serials: list[str]
    """Pack ``i`` carries ``serials[i]``; case ``c`` holds packs ``c * case_size`` onwards."""
    serial_allocation_ids: list[int]
    sscc_allocation: SSCCAllocation
    """The SSCCs of the run: the cases' first, then the pallets'."""
    cases: int
    pallets: int
    commissioning_events: int
    events: int
    captured: int
    """Events stored by the repository (``events - duplicates``)."""
    duplicates: int
    """Events the repository had already (a run captured twice)."""
    capture_ids: list[str]
    first_event_time: str
    last_event_time: str
    images: int
    """Pack DataMatrix PNGs written."""
    seconds: float
    """Wall time of the run."""
    capture_seconds: float
    """Of which waiting for the repository's captures."""

    @property
    def packs(self) -> int:
        return len(self.serials)

    def case_ssccs(self) -> list[str]:
        """The SSCC of every case, in packing order."""
        return [self.sscc_allocation.sscc(i) for i in range(self.cases)]

    def pallet_ssccs(self) -> list[str]:
        """The SSCC of every pallet, in packing order."""
        return [self.sscc_allocation.sscc(self.cases + i) for i in range(self.pallets)]

    def case_serials(self, case: int) -> list[str]:
        """The serials of the packs in case ``case`` (0-based)."""
        return self.serials[case * self.case_size : (case + 1) * self.case_size]

    def as_json(self, *, with_serials: bool = False) -> dict[str, Any]:
        """The run as a JSON object: counts, SSCCs of cases and pallets, serial range (or every serial)."""
        body: dict[str, Any] = {
            "gtin": self.gtin,
            "lot": self.lot,
            "expiry": self.expiry,
            "readPoint": self.read_point,
            "bizLocation": self.biz_location,
            "packs": self.packs,
            "caseSize": self.case_size,
            "casesPerPallet": self.cases_per_pallet,
            "cases": self.cases,
            "pallets": self.pallets,
            "events": self.events,
            "commissioningEvents": self.commissioning_events,
            "captured": self.captured,
            "duplicates": self.duplicates,
            "captureIDs": self.capture_ids,
            "firstEventTime": self.first_event_time,
            "lastEventTime": self.last_event_time,
            "serialAllocations": self.serial_allocation_ids,
            "firstSerial": self.serials[0] if self.serials else None,
            "lastSerial": self.serials[-1] if self.serials else None,
            "ssccAllocation": self.sscc_allocation.as_json(),
            "caseSSCCs": self.case_ssccs(),
            "palletSSCCs": self.pallet_ssccs(),
            "images": self.images,
            "seconds": round(self.seconds, 3),
            "captureSeconds": round(self.capture_seconds, 3),
        }
        if with_serials:
            body["serials"] = self.serials
        return body


class PackagingLine:
    """One packaging line making one lot of one GTIN. Open it, :meth:`run` it, close it.

    ``store`` (a URL, a :class:`~packtrail.store.Store`, or None for ``sqlite:///packtrail.db``) holds
    the SSCC register and, unless ``node`` is given, the serial register and the captured events.
    ``node`` (a :class:`~packtrail.packaging.node.NodeClient`) takes the serials and events over HTTP.

    ``line`` is the GLN of the site (or an SGLN URI, whose extension then names the line); the default
    is the brand owner's GLN (the GTIN's company prefix, location reference zero). ``line_name`` is the
    GLN extension of the line (the ``readPoint``). SSCCs use ``sscc_prefix`` (default: the GTIN's
    company prefix) and ``extension_digit``. Every argument is checked here:
    :class:`~packtrail.packaging.errors.PackagingError` names the one that is wrong.
    """

    def __init__(
        self,
        store: str | Store | None,
        gtin: str,
        lot: str,
        expiry: str | date,
        line: str | None = None,
        case_size: int = 10,
        cases_per_pallet: int = 20,
        *,
        line_name: str | None = None,
        company_prefix_length: int | None = None,
        sscc_prefix: str | None = None,
        extension_digit: str = "0",
        party: str | None = None,
        node: LineServices | None = None,
        serial_alphabet: str | None = None,
        serial_length: int | None = None,
        packs_per_minute: int = 300,
        start: datetime | None = None,
        commission_batch: int | None = None,
        events_per_capture: int = 20_000,
    ) -> None:
        try:
            self.gtin = GTIN.parse(gtin).gtin14
        except GS1Error as exc:
            raise PackagingError("gtin", str(exc)) from None
        self.prefix_length = self._prefix_length(company_prefix_length)
        expiry_text = expiry.strftime("%y%m%d") if isinstance(expiry, date) else expiry
        if not isinstance(expiry_text, str):
            raise PackagingError("expiry", f"expected YYMMDD or a date, got {expiry!r}")
        if not isinstance(lot, str):
            raise PackagingError("lot", f"expected the batch/lot as text, got {lot!r}")
        try:  # lot, expiry and GTIN validated together, exactly as the DataMatrix encoder would
            PackIdentifier.create(self.gtin, "1", lot, expiry_text)
            self.expiry_date = gs1_date(expiry_text)
        except GS1Error as exc:
            raise PackagingError(_AI_FIELDS.get(exc.ai or "", "expiry"), str(exc)) from None
        self.lot = lot
        self.expiry = expiry_text
        company_prefix = self.gtin[1 : 1 + self.prefix_length]
        site = line if line is not None else _gln_of(company_prefix)
        self.place = Place.parse(
            site, line=line_name, company_prefix_length=None if line else self.prefix_length
        )
        self.case_size = _whole(case_size, "case_size", 1, MAX_CONTAINER)
        self.cases_per_pallet = _whole(cases_per_pallet, "cases_per_pallet", 1, MAX_CONTAINER)
        self.sscc_prefix = check_company_prefix(sscc_prefix or company_prefix, "sscc_prefix")
        if not (
            isinstance(extension_digit, str) and len(extension_digit) == 1 and extension_digit in "0123456789"
        ):
            raise PackagingError("extension_digit", f"expected one digit 0-9, got {extension_digit!r}")
        self.extension_digit = extension_digit
        self.packs_per_minute = _whole(packs_per_minute, "packs_per_minute", 1, MAX_PACKS_PER_MINUTE)
        if start is not None and start.utcoffset() is None:
            raise PackagingError("start", f"expected a time with a time zone, got {start.isoformat()}")
        self.start = start
        batch = self.case_size if commission_batch is None else commission_batch
        self.commission_batch = _whole(batch, "commission_batch", 1, self.case_size)
        self.events_per_capture = _whole(events_per_capture, "events_per_capture", 1, 100_000)
        self.party = party
        self._own_store = not isinstance(store, Store)
        self.store: Store = store if isinstance(store, Store) else open_store(store)
        try:
            self.ssccs = SSCCService(self.store)
            services: LineServices = (
                node
                if node is not None
                else LocalServices(self.store, party=party, alphabet=serial_alphabet, length=serial_length)
            )
            self.serial_source: SerialSource = services
            self.sink: EventSink = services
        except Exception:
            self.close()
            raise

    def _prefix_length(self, explicit: int | None) -> int:
        if explicit is not None:
            return _whole(explicit, "company_prefix_length", 6, 12)
        try:
            length = company_prefix_length(self.gtin)
        except GS1Error as exc:  # pragma: no cover - the GTIN parsed already
            raise PackagingError("gtin", str(exc)) from None
        if not length:
            raise PackagingError(
                "company_prefix_length",
                f"the GS1 Company Prefix length of GTIN {self.gtin} is not in GS1's list; give it (6-12)",
            )
        return length

    # -- lifecycle -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store when the line opened it."""
        if self._own_store:
            self.store.close()

    def __enter__(self) -> PackagingLine:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # -- the run -------------------------------------------------------------------------------------

    def run(self, n_packs: int, *, images: str | os.PathLike[str] | None = None) -> LineRun:
        """Make ``n_packs`` packs: allocate serials and SSCCs, build and capture the events.

        ``images``: a directory to write each pack's DataMatrix PNG into (``GTIN_SERIAL.png``).
        Raises :class:`LineCaptureError` when the repository refuses a document (the documents
        before it stay captured), the serial register's errors when it refuses the serials."""
        began = time.perf_counter()
        n = _whole(n_packs, "packs", 1, MAX_PACKS)
        n_cases = math.ceil(n / self.case_size)
        n_pallets = math.ceil(n_cases / self.cases_per_pallet)
        gln = self.place.gln
        batch = self.serial_source.allocate_serials(self.gtin, n, gln)
        serials = batch.serials
        if len(serials) != n:
            raise PackagingError("packs", f"the serial register issued {len(serials)} serials for {n} packs")
        units = self.ssccs.allocate(
            self.sscc_prefix, n_cases + n_pallets, extension_digit=self.extension_digit, to_gln=gln
        )
        uris = units.uris()
        case_uris, pallet_uris = uris[:n_cases], uris[n_cases:]
        interval = timedelta(seconds=60 / self.packs_per_minute)
        start = self.start or (datetime.now(UTC) - interval * n)
        writer = _Writer(self.sink, self.events_per_capture)
        gtin, length = self.gtin, self.prefix_length
        sgtins = [sgtin_from_gtin_serial(gtin, serial, length) for serial in serials]
        commissioned = 0
        place, size, step = self.place, self.case_size, self.commission_batch
        for pallet in range(n_pallets):
            first_case = pallet * self.cases_per_pallet
            cases = range(first_case, min(first_case + self.cases_per_pallet, n_cases))
            moment = start
            for case in cases:
                low, high = case * size, min((case + 1) * size, n)
                for b in range(low, high, step):
                    end = min(b + step, high)
                    moment = start + interval * end
                    writer.add(
                        commissioning(
                            sgtins[b:end], lot=self.lot, expiry=self.expiry_date, moment=moment, place=place
                        )
                    )
                    commissioned += 1
                children = sgtins[low:high]
                moment += _TICK
                if len(children) < size:
                    writer.add(
                        partial_case(case_uris[case], children, capacity=size, moment=moment, place=place)
                    )
                else:
                    writer.add(packing(case_uris[case], children, moment=moment, place=place))
            moment += _TICK
            members = [case_uris[c] for c in cases]
            if len(members) < self.cases_per_pallet:
                writer.add(
                    partial_case(
                        pallet_uris[pallet],
                        members,
                        capacity=self.cases_per_pallet,
                        moment=moment,
                        place=place,
                    )
                )
            else:
                writer.add(packing(pallet_uris[pallet], members, moment=moment, place=place))
        writer.flush()
        written = 0
        if images is not None:
            written = write_pack_images(images, gtin, serials, lot=self.lot, expiry=self.expiry)
        return LineRun(
            gtin=gtin,
            lot=self.lot,
            expiry=self.expiry,
            read_point=place.read_point,
            biz_location=place.biz_location,
            case_size=size,
            cases_per_pallet=self.cases_per_pallet,
            serials=serials,
            serial_allocation_ids=batch.allocation_ids,
            sscc_allocation=units,
            cases=n_cases,
            pallets=n_pallets,
            commissioning_events=commissioned,
            events=writer.events,
            captured=writer.captured,
            duplicates=writer.duplicates,
            capture_ids=writer.capture_ids,
            first_event_time=writer.first_time,
            last_event_time=writer.last_time,
            images=written,
            seconds=time.perf_counter() - began,
            capture_seconds=writer.seconds,
        )


class _Writer:
    """Collects events and captures them in documents of at most ``size`` events."""

    def __init__(self, sink: EventSink, size: int) -> None:
        self.sink = sink
        self.size = size
        self.pending: list[Event] = []
        self.events = self.captured = self.duplicates = 0
        self.capture_ids: list[str] = []
        self.first_time = self.last_time = ""
        self.seconds = 0.0

    def add(self, event: Event) -> None:
        if not self.first_time:
            self.first_time = event["eventTime"]
        self.last_time = event["eventTime"]
        self.pending.append(event)
        if len(self.pending) >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        events, self.pending = self.pending, []
        began = time.perf_counter()
        outcome: CaptureOutcome = self.sink.capture(document(events))
        self.seconds += time.perf_counter() - began
        if not outcome.success:
            raise LineCaptureError(
                f"the repository refused a document of {len(events)} events (capture {outcome.capture_id})",
                problems=outcome.problems,
                captured=self.captured,
            )
        self.events += len(events)
        self.captured += outcome.captured
        self.duplicates += outcome.duplicates
        self.capture_ids.append(outcome.capture_id)


def _gln_of(company_prefix: str) -> str:
    """The GLN with this company prefix and an all-zero location reference (the company's own GLN)."""
    body = company_prefix.ljust(12, "0")
    return body + gs1_check_digit(body)
