"""Where a packaging line gets its serials and sends its events: the local store, or a packtrail node.

A line needs two services, each a small protocol:

- a :class:`SerialSource` issues serial numbers of a GTIN to the line (its GLN): the brand owner's
  serial register (:class:`~packtrail.serials.SerialService`), locally or over HTTP;
- an :class:`EventSink` takes EPCIS documents: a local :class:`~packtrail.store.Store`, or a node's
  ``POST /epcis/capture``.

:class:`LocalServices` serves both from one store; :class:`NodeClient` from a node over HTTP
(``Authorization: Bearer <API key>``): serials from ``POST /serials/v1/allocations``, events to
``POST /epcis/capture`` (which answers when the capture is committed). A node gives at most
1,000,000 serials per request; larger runs take several allocations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

import httpx

from packtrail.epcis.document import EPCISDocument
from packtrail.epcis.jsonld import write_jsonld

if TYPE_CHECKING:
    from packtrail.serials import SerialService
    from packtrail.store import Store

__all__ = [
    "CaptureOutcome",
    "EventSink",
    "LineServices",
    "LocalServices",
    "NodeClient",
    "NodeError",
    "SerialBatch",
    "SerialSource",
    "node_root",
]

NODE_ALLOCATION_LIMIT: Final = 1_000_000
"""The most serials a node hands out per HTTP request (``packtrail.api.serials.MAX_API_ALLOCATION``)."""


class NodeError(Exception):
    """A node refused a request or could not be reached."""


@dataclass(frozen=True, slots=True)
class SerialBatch:
    """Serials issued to the line: the allocations they came from and the serials in issue order."""

    allocation_ids: list[int]
    serials: list[str]


@dataclass(frozen=True, slots=True)
class CaptureOutcome:
    """What the repository did with one document."""

    capture_id: str
    success: bool
    captured: int
    duplicates: int
    problems: list[str] = field(default_factory=list)
    """Why events were refused (``title at pointer: detail``), when they were."""


class SerialSource(Protocol):
    """Issues serial numbers of a GTIN to a packaging line."""

    def allocate_serials(self, gtin: str, count: int, to_gln: str) -> SerialBatch: ...


class EventSink(Protocol):
    """Takes EPCIS documents (one capture each)."""

    def capture(self, doc: EPCISDocument) -> CaptureOutcome: ...


class LineServices(SerialSource, EventSink, Protocol):
    """Both: what a :class:`~packtrail.packaging.line.PackagingLine` talks to."""


class LocalServices:
    """Serials from the store's serial register, events into the store, as ``party`` (None: admin)."""

    def __init__(
        self,
        store: Store,
        *,
        party: str | None = None,
        alphabet: str | None = None,
        length: int | None = None,
    ) -> None:
        from packtrail.serials import SerialService

        self.store = store
        self.party = party
        self.alphabet = alphabet
        self.length = length
        self.serials: SerialService = SerialService(store)

    def allocate_serials(self, gtin: str, count: int, to_gln: str) -> SerialBatch:
        allocation = self.serials.allocate(gtin, count, to_gln, alphabet=self.alphabet, length=self.length)
        return SerialBatch([allocation.id], allocation.serials)

    def capture(self, doc: EPCISDocument) -> CaptureOutcome:
        result = self.store.capture(doc, party=self.party)
        problems = [f"{p.title} at {p.pointer}: {p.detail}" for p in result.errors]
        return CaptureOutcome(result.capture_id, result.success, result.captured, result.duplicates, problems)


def node_root(url: str) -> str:
    """The node's base URL without ``/epcis`` and trailing slash.

    >>> node_root("http://127.0.0.1:8080/epcis/"), node_root("https://node.example")
    ('http://127.0.0.1:8080', 'https://node.example')
    """
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise NodeError(f"--to: expected an http:// or https:// URL, got {url!r}")
    base = url.rstrip("/")
    return base[: -len("/epcis")] if base.endswith("/epcis") else base


def _problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        title = body.get("title") or response.reason_phrase
        detail = body.get("detail")
        return f"{response.status_code} {title}" + (f": {detail}" if detail else "")
    return f"{response.status_code} {response.reason_phrase}"


class NodeClient:
    """A packtrail node over HTTP, as a :class:`SerialSource` and an :class:`EventSink`.

    ``client`` replaces the HTTP client (tests pass Starlette's ``TestClient``); it must send to
    ``url``'s host."""

    def __init__(
        self,
        url: str,
        *,
        key: str | None = None,
        alphabet: str | None = None,
        length: int | None = None,
        client: httpx.Client | None = None,
        timeout: float = 600.0,
    ) -> None:
        self.root = node_root(url)
        self.alphabet = alphabet
        self.length = length
        self._own = client is None
        self._http = client if client is not None else httpx.Client(timeout=timeout)
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(self, path: str, **kwargs: Any) -> httpx.Response:
        url = self.root + path
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            response = self._http.post(url, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise NodeError(f"cannot reach {url}: {error}") from error
        if response.status_code >= 400:
            raise NodeError(f"{url}: {_problem_text(response)}")
        return response

    def allocate_serials(self, gtin: str, count: int, to_gln: str) -> SerialBatch:
        ids: list[int] = []
        serials: list[str] = []
        while len(serials) < count:
            body: dict[str, Any] = {"gtin": gtin, "count": min(NODE_ALLOCATION_LIMIT, count - len(serials))}
            body["to"] = to_gln
            if self.alphabet is not None:
                body["alphabet"] = self.alphabet
            if self.length is not None:
                body["length"] = self.length
            answer = self._post("/serials/v1/allocations", json=body).json()
            ids.append(int(answer["id"]))
            serials.extend(answer["serials"])
        return SerialBatch(ids, serials)

    def capture(self, doc: EPCISDocument) -> CaptureOutcome:
        response = self._post(
            "/epcis/capture",
            content=write_jsonld(doc),
            headers={
                "Content-Type": "application/ld+json",
                "GS1-Capture-Error-Behaviour": "rollback",
                "Accept": "application/json",
            },
        )
        job = response.json() if response.content else {}
        problems = [
            f"{e.get('title')} at {e.get('pointer')}: {e.get('detail')}" for e in job.get("errors") or []
        ]
        return CaptureOutcome(
            str(job.get("captureID", "")),
            bool(job.get("success", False)),
            int(job.get("captured", 0)),
            int(job.get("duplicates", 0)),
            problems,
        )
