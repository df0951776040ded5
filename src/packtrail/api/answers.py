"""Shared answers of the EPCIS routes: a page of events, a collection of values, a capture job.

Routes stay thin: they say *which* events (query parameters, the path's fixed filter, a named
query) and these helpers run the store call in the thread pool, negotiate the format and write
the headers (``Link: <…>; rel="next"`` for the next page, ``GS1-EPCIS-Version``,
``GS1-EPC-Format``, ``GS1-Extensions``).

>>> paging([("EQ_bizStep", "shipping"), ("perPage", "2")], APISettings())
(2, None, [('EQ_bizStep', 'shipping')])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from packtrail.api.negotiation import (
    Negotiated,
    format_extensions,
    negotiate,
    parse_extensions,
    query_document,
    render_query_document,
)
from packtrail.api.problems import Problem
from packtrail.api.settings import APISettings
from packtrail.epcis.document import STANDARD_CONTEXT_URL
from packtrail.epcis.vocabulary import to_digital_link, to_epc_urn
from packtrail.epcis.xml import write_capture_job

if TYPE_CHECKING:
    from packtrail.store import Store, Viewer

__all__ = [
    "PAGING_PARAMETERS",
    "capture_job_answer",
    "capture_job_body",
    "collection_answer",
    "events_answer",
    "json_answer",
    "paging",
    "settings_of",
    "single_event_answer",
    "store_of",
]

PAGING_PARAMETERS: Final = frozenset({"perPage", "nextPageToken"})
"""Query-string parameters that shape the page, not the query."""

JSON_MEDIA_TYPE: Final = "application/json"


def store_of(request: Request) -> Store:
    """The store the app serves."""
    store: Store = request.app.state.store
    return store


def settings_of(request: Request) -> APISettings:
    """The app's settings."""
    settings: APISettings = request.app.state.settings
    return settings


def json_answer(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer (orjson, UTF-8)."""
    return Response(orjson.dumps(body), status, dict(headers or {}), media_type=JSON_MEDIA_TYPE)


def paging(
    params: Iterable[tuple[str, str]], settings: APISettings
) -> tuple[int, str | None, list[tuple[str, str]]]:
    """``(perPage, nextPageToken, the other parameters)``; :class:`Problem` 400 for a bad ``perPage``."""
    rest: list[tuple[str, str]] = []
    per_page: str | None = None
    token: str | None = None
    for name, value in params:
        if name in PAGING_PARAMETERS:
            if (per_page if name == "perPage" else token) is not None:
                raise Problem(400, "QueryParameterException", f"{name}: given more than once")
            if name == "perPage":
                per_page = value
            else:
                token = value
        else:
            rest.append((name, value))
    size = settings.per_page_default
    if per_page is not None:
        text = per_page.strip()
        if (
            not (text.isascii() and text.isdigit())
            or len(text) > 9
            or not 1 <= int(text) <= settings.per_page_max
        ):
            raise Problem(
                400,
                "QueryParameterException",
                f"perPage: expected an integer from 1 to {settings.per_page_max}, got {per_page!r}",
            )
        size = int(text)
    if token is not None and not token:
        raise Problem(400, "QueryParameterException", "nextPageToken: empty")
    return size, token, rest


def _link_next(request: Request, token: str) -> str:
    url = request.url.include_query_params(nextPageToken=token)
    return f'<{url}>; rel="next"'


def _check_fixed(fixed: Sequence[tuple[str, str]], params: Sequence[tuple[str, str]]) -> None:
    names = {name for name, _ in fixed}
    for name, _ in params:
        if name in names:
            raise Problem(
                400,
                "QueryParameterException",
                f"{name}: given by the path already; combine values in one parameter on /events instead",
            )


async def events_answer(
    request: Request,
    viewer: Viewer,
    *,
    fixed: Sequence[tuple[str, str]] = (),
    query: Any = None,
    query_name: str = "SimpleEventQuery",
    allowed: frozenset[str] | None = None,
) -> Response:
    """A page of events as an ``EPCISQueryDocument``.

    The query is ``query`` (a stored named query's parameters) or the request's query string,
    plus ``fixed`` (the filter a path implies, such as ``EQ_bizStep`` on ``/bizSteps/{x}/events``).
    ``allowed`` limits the query-string parameters accepted besides paging (and keeps them out of
    the query)."""
    from packtrail.store import parse_query_params

    settings = settings_of(request)
    store = store_of(request)
    choice = negotiate(request.headers, default_epc_format=settings.default_epc_format)
    per_page, token, params = paging(request.query_params.multi_items(), settings)
    if allowed is not None:
        unknown = [name for name, _ in params if name not in allowed]
        if unknown:
            raise Problem(400, "QueryParameterException", f"{unknown[0]}: not a parameter of this resource")
        params = []
    _check_fixed(fixed, params)
    extensions = parse_extensions(request.headers.get("gs1-extensions"))

    def run() -> tuple[bytes, str | None, dict[str, str]]:
        namespaces = {**store.namespaces(), **extensions}
        if query is not None:
            parsed = parse_query_params(query, namespaces=namespaces)
            if fixed:
                raise AssertionError("a named query has no fixed filter")
        else:
            parsed = parse_query_params([*fixed, *params], namespaces=namespaces)
        page = store.query_events(parsed, viewer, per_page=per_page, page_token=token)
        doc = query_document(
            page.events, page.namespaces, query_name=query_name, epc_format=choice.epc_format
        )
        return render_query_document(doc, choice), page.next_page_token, page.namespaces

    body, next_token, namespaces = await run_in_threadpool(run)
    headers = _answer_headers(choice, namespaces)
    if next_token:
        headers["Link"] = _link_next(request, next_token)
    return Response(body, 200, headers, media_type=choice.media_type)


def _prefixes(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and ":" in key and not key.startswith("@"):
                found.add(key.split(":", 1)[0])
            _prefixes(item, found)
    elif isinstance(value, list):
        for item in value:
            _prefixes(item, found)


async def single_event_answer(request: Request, viewer: Viewer, event_id: str) -> Response:
    """The event with ``event_id`` in an ``EPCISQueryDocument``; ``404`` when there is none the caller
    may see (an event of another party is answered like one that does not exist)."""
    settings = settings_of(request)
    store = store_of(request)
    choice = negotiate(request.headers, default_epc_format=settings.default_epc_format)
    paging(request.query_params.multi_items(), settings)

    def run() -> tuple[bytes | None, dict[str, str]]:
        event = store.get_event(event_id, viewer)
        if event is None:
            return None, {}
        used: set[str] = set()
        _prefixes(event, used)
        known = store.namespaces() if used else {}
        namespaces = {prefix: known[prefix] for prefix in sorted(used) if prefix in known}
        doc = query_document([event], namespaces, epc_format=choice.epc_format)
        return render_query_document(doc, choice), namespaces

    body, namespaces = await run_in_threadpool(run)
    if body is None:
        raise Problem(404, "NoSuchResourceException", f"no event {event_id}")
    return Response(body, 200, _answer_headers(choice, namespaces), media_type=choice.media_type)


def _answer_headers(choice: Negotiated, namespaces: Mapping[str, str]) -> dict[str, str]:
    headers = {
        "GS1-EPCIS-Version": choice.epcis_version,
        "GS1-CBV-Version": "2.0.0" if choice.epcis_version == "2.0.0" else "1.2.0",
        "GS1-EPC-Format": choice.epc_format,
        "Vary": "Accept, GS1-EPC-Format, GS1-CBV-XML-Format, GS1-EPCIS-Max",
    }
    if choice.is_xml:
        headers["GS1-CBV-XML-Format"] = choice.cbv_xml_format
    extensions = format_extensions(namespaces)
    if extensions:
        headers["GS1-Extensions"] = extensions
    return headers


def _epc_form(value: str, epc_format: str) -> str:
    if epc_format == "Always_EPC_URN":
        return to_epc_urn(value)
    if epc_format == "Always_GS1_Digital_Link":
        return to_digital_link(value)
    return value


def collection_answer(
    request: Request, members: Sequence[str], next_token: str | None, *, identifiers: bool = False
) -> Response:
    """A JSON-LD ``Collection`` of ``members`` (event types, EPCs, bizSteps...), ``Link`` to the next page.

    ``identifiers``: members are EPCs or locations, written in the asked ``GS1-EPC-Format``."""
    headers: dict[str, str] = {}
    if identifiers:
        choice = negotiate(
            request.headers, default_epc_format=settings_of(request).default_epc_format, xml=False
        )
        members = [_epc_form(member, choice.epc_format) for member in members]
        headers["GS1-EPC-Format"] = choice.epc_format
    else:
        negotiate(request.headers, xml=False)
    if next_token:
        headers["Link"] = _link_next(request, next_token)
    body = {"@context": STANDARD_CONTEXT_URL, "type": "Collection", "member": list(members)}
    return json_answer(body, 200, headers)


def _iso(microseconds: int | None) -> str | None:
    if microseconds is None:
        return None
    moment = datetime.fromtimestamp(microseconds / 1_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def capture_job_body(job: Any) -> dict[str, Any]:
    """A capture job in the shape of GS1's ``CaptureJob`` schema, with the counts besides.

    ``eventCount`` events were received, ``captured`` stored, ``duplicates`` already known (not
    stored again, not errors); ``errors`` are RFC 7807 problems, one per rejected event."""
    body: dict[str, Any] = {
        "captureID": job.capture_id,
        "createdAt": _iso(job.created_at_us),
    }
    finished = _iso(job.finished_at_us)
    if finished is not None:
        body["finishedAt"] = finished
    body["running"] = bool(job.running)
    body["success"] = bool(job.success) if job.success is not None else not job.errors
    body["captureErrorBehaviour"] = job.behaviour
    body["eventCount"] = job.event_count
    body["captured"] = job.captured
    body["duplicates"] = job.duplicates
    body["errors"] = [_problem_of(error) for error in job.errors]
    return body


def _problem_of(error: Any) -> dict[str, Any]:
    if isinstance(error, Mapping):
        raw = dict(error)
    else:
        raw = {name: getattr(error, name, None) for name in ("type", "title", "detail", "pointer")}
    problem: dict[str, Any] = {}
    kind = raw.get("type") or "ValidationException"
    problem["type"] = kind if ":" in str(kind) else f"epcisException:{kind}"
    problem["title"] = raw.get("title") or "Invalid event"
    problem["status"] = 400
    if raw.get("detail"):
        problem["detail"] = raw["detail"]
    if raw.get("pointer"):
        problem["pointer"] = raw["pointer"]
    return problem


def capture_job_answer(
    request: Request, job: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """The capture job as JSON, or as ``epcis:EPCISCaptureJob`` XML when the client asks for XML."""
    choice = negotiate(request.headers)
    body = capture_job_body(job)
    if choice.is_xml:
        return Response(write_capture_job(body), status, dict(headers or {}), media_type=choice.media_type)
    return json_answer(body, status, headers)
