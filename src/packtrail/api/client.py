"""A small client of an EPCIS 2.0 REST node (the ``packtrail capture`` / ``query`` commands use it).

>>> client = EPCISClient("http://127.0.0.1:8080", key="…")  # doctest: +SKIP
>>> job = client.capture("shipment.jsonld")                  # doctest: +SKIP
>>> events = client.query([("MATCH_anyEPC", "urn:epc:id:sgtin:4012345.011111.1001")])  # doctest: +SKIP

A base URL without the ``/epcis`` prefix gets it: ``http://host:8080`` and
``http://host:8080/epcis`` name the same node. Errors of the node arrive as RFC 7807 problems
and are raised as :class:`ClientError` with the problem's type, title and detail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import httpx

from packtrail.epcis.convert import detect_format
from packtrail.epcis.errors import EPCISError

__all__ = ["ClientError", "EPCISClient", "epcis_base_url"]

CHUNK: Final = 1 << 20
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, read=600.0)


class ClientError(Exception):
    """The node refused the request (or could not be reached); ``problem`` is its RFC 7807 body."""

    def __init__(
        self, message: str, *, status: int | None = None, problem: dict[str, Any] | None = None
    ) -> None:
        self.status = status
        self.problem = problem or {}
        super().__init__(message)


def epcis_base_url(url: str) -> str:
    """``url`` ending in ``/epcis`` (added when missing), without a trailing slash.

    >>> epcis_base_url("http://127.0.0.1:8080/"), epcis_base_url("https://node.example/epcis")
    ('http://127.0.0.1:8080/epcis', 'https://node.example/epcis')
    """
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ClientError(f"--url/--to: expected an http:// or https:// URL, got {url!r}")
    return base if base.endswith("/epcis") else base + "/epcis"


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    problem: dict[str, Any] = {}
    try:
        body = response.json()
        if isinstance(body, dict):
            problem = body
    except ValueError:
        pass
    title = problem.get("title") or response.reason_phrase
    detail = problem.get("detail")
    kind = problem.get("type", "")
    message = (
        f"{response.status_code} {title}" + (f": {detail}" if detail else "") + (f" ({kind})" if kind else "")
    )
    raise ClientError(message, status=response.status_code, problem=problem)


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


class EPCISClient:
    """Calls one node with one credential (``Authorization: Bearer <key>``)."""

    def __init__(
        self,
        url: str,
        *,
        key: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base = epcis_base_url(url)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> EPCISClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise ClientError(f"cannot reach {url}: {error}") from error
        _raise_for(response)
        return response

    def capture(self, path: str | os.PathLike[str], *, behaviour: str = "rollback") -> dict[str, Any]:
        """Capture the EPCIS document at ``path`` (streamed); the capture job the node answers."""
        file = Path(path)
        try:
            kind = detect_format(file)
        except EPCISError as error:
            raise ClientError(str(error)) from error
        media = "application/ld+json" if kind == "jsonld" else "application/xml"
        headers = {
            "Content-Type": media,
            "Content-Length": str(file.stat().st_size),
            "GS1-Capture-Error-Behaviour": behaviour,
            "Accept": "application/json",
        }
        response = self._send("POST", f"{self.base}/capture", content=_chunks(file), headers=headers)
        job: dict[str, Any] = response.json() if response.content else {}
        if not job and "location" in response.headers:
            job = self.capture_job(response.headers["location"].rsplit("/", 1)[1])
        return job

    def capture_job(self, capture_id: str) -> dict[str, Any]:
        """The state of a capture job."""
        job: dict[str, Any] = self._send("GET", f"{self.base}/capture/{capture_id}").json()
        return job

    def query(
        self, params: Sequence[tuple[str, str]], *, limit: int | None = None, per_page: int = 1000
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Events matching the SimpleEventQuery ``params``, following ``Link: rel="next"`` until
        ``limit`` events (all when None); also the first page's document (its ``@context``)."""
        events: list[dict[str, Any]] = []
        size = min(per_page, limit) if limit else per_page
        url: str | None = f"{self.base}/events"
        request_params: list[tuple[str, str]] | None = [*params, ("perPage", str(size))]
        first: dict[str, Any] = {}
        while url is not None and (limit is None or len(events) < limit):
            response = self._send(
                "GET", url, params=request_params, headers={"Accept": "application/ld+json"}
            )
            document = response.json()
            first = first or document
            page = (
                document.get("epcisBody", {})
                .get("queryResults", {})
                .get("resultsBody", {})
                .get("eventList", [])
            )
            events.extend(page)
            url = response.links.get("next", {}).get("url")
            request_params = None  # the next link carries the parameters and the token
        return (events[:limit] if limit is not None else events), first
