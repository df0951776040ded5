"""Capture: ``POST /capture`` (a document), ``POST /events`` (one event), capture jobs.

``POST /epcis/capture`` takes an EPCIS document in JSON-LD (``Content-Type: application/json`` or
``application/ld+json``) or XML (``application/xml``; EPCIS 2.0 or 1.2) and answers ``202`` with
``Location: /epcis/capture/{captureID}``. The capture runs before the answer is sent: when the
client reads ``202`` the events are committed (or, with errors under ``rollback``, none is), and
the capture job already tells the outcome. ``GS1-Capture-Error-Behaviour: proceed`` stores the
valid events of a document that has invalid ones. The limits of the settings are announced in
``GS1-EPCIS-Capture-Limit`` / ``GS1-EPCIS-Capture-File-Size-Limit``; a larger document gets ``413``
(the declared ``Content-Length`` is checked before the body is read, the bytes as they arrive).

``POST /epcis/events`` captures one event (a JSON object) and answers ``201`` with the event's
``Location``; an event already stored gets ``409``, an invalid one ``400`` with the reasons.
"""

from __future__ import annotations

from typing import Any, Final, Literal, cast
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from packtrail.api.answers import (
    capture_job_answer,
    capture_job_body,
    json_answer,
    paging,
    settings_of,
    store_of,
)
from packtrail.api.auth import CurrentViewer
from packtrail.api.headers import add_options_route, capture_limit_headers
from packtrail.api.negotiation import negotiate
from packtrail.api.problems import Problem
from packtrail.api.settings import APISettings
from packtrail.epcis.document import DOCUMENT_KINDS
from packtrail.epcis.hashing import EventHasher
from packtrail.epcis.jsonld import namespace_of
from packtrail.store import CaptureLimits
from packtrail.store.errors import CaptureLimitError

__all__ = ["CAPTURE_MEDIA_TYPES", "read_capture_body", "router"]

router = APIRouter(tags=["Capture"])

CAPTURE_MEDIA_TYPES: Final = frozenset(
    {"application/json", "application/ld+json", "application/xml", "text/xml", "application/octet-stream"}
)
"""Content types ``POST /capture`` reads (the format itself is detected from the bytes)."""

BEHAVIOURS: Final = ("rollback", "proceed")

_DOCUMENT_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "description": "An EPCISDocument (JSON-LD)."}},
            "application/ld+json": {"schema": {"type": "object"}},
            "application/xml": {
                "schema": {"type": "string", "description": "An EPCIS 2.0 or 1.2 XML document."}
            },
        },
    },
    "responses": {"202": {"description": "Captured; Location names the capture job."}},
}
_EVENT_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "One EPCIS event."}}},
    },
    "responses": {"201": {"description": "Captured; Location names the event."}},
}

add_options_route(router, "/capture", ("GET", "POST"), capture=True)
add_options_route(router, "/capture/{captureID}", ("GET",))


def _too_large(settings: APISettings, detail: str) -> Problem:
    return Problem(413, "CaptureLimitExceededException", detail, headers=capture_limit_headers(settings))


async def read_capture_body(request: Request, settings: APISettings) -> bytes:
    """The request body, refused with ``413`` as soon as it is known to exceed the size limit, and
    with ``415`` when its content type is not one a capture reads."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in CAPTURE_MEDIA_TYPES:
        raise Problem(
            415,
            "UnsupportedMediaTypeException",
            f"Content-Type: expected application/json, application/ld+json or application/xml, got {media!r}",
        )
    limit = settings.capture_max_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.strip().isascii() and declared.strip().isdigit()):
            raise Problem(400, "ValidationException", f"Content-Length: expected a number, got {declared!r}")
        if int(declared) > limit:
            raise _too_large(
                settings, f"the body has {int(declared)} bytes; this node captures at most {limit}"
            )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(settings, f"the body exceeds {limit} bytes")
    if not body.strip():
        raise Problem(400, "ValidationException", "the request has no body: send an EPCIS document")
    return bytes(body)


def _behaviour(request: Request) -> Literal["rollback", "proceed"]:
    value = request.headers.get("gs1-capture-error-behaviour", "rollback").strip().lower()
    if value in BEHAVIOURS:
        return cast(Literal["rollback", "proceed"], value)
    raise Problem(
        400,
        "ValidationException",
        f"GS1-Capture-Error-Behaviour: expected rollback or proceed, got {value!r}",
    )


def _limits(settings: APISettings) -> CaptureLimits:
    return CaptureLimits(max_events=settings.capture_max_events, max_bytes=settings.capture_max_bytes)


@router.post(
    "/capture",
    status_code=202,
    summary="Capture an EPCIS document (JSON-LD or XML); the job tells the outcome.",
    response_class=Response,
    openapi_extra=_DOCUMENT_BODY,
)
async def capture(request: Request, viewer: CurrentViewer) -> Response:
    """Store the document's events in one transaction; ``202`` with the capture job."""
    settings = settings_of(request)
    store = store_of(request)
    negotiate(request.headers)
    behaviour = _behaviour(request)
    body = await read_capture_body(request, settings)

    def run() -> Any:
        # the job is recorded (running) first, so GET /capture shows it while the events are stored
        capture_id = store.start_capture_job(party=viewer.party, behaviour=behaviour, event_count=0)
        try:
            store.capture(
                body,
                party=viewer.party,
                behaviour=behaviour,
                limits=_limits(settings),
                capture_id=capture_id,
            )
        except CaptureLimitError as error:
            raise _too_large(settings, str(error)) from None
        return store.capture_job(capture_id, viewer)

    job = await run_in_threadpool(run)
    _wake_dispatcher(request)
    headers = {"Location": f"/epcis/capture/{job.capture_id}", **capture_limit_headers(settings)}
    return capture_job_answer(request, job, 202, headers)


@router.get(
    "/capture", summary="Returns the caller's capture jobs, most recent first.", response_class=Response
)
async def list_capture_jobs(request: Request, viewer: CurrentViewer) -> Response:
    """The capture jobs the caller started (an administrator sees all), ``perPage`` of them."""
    per_page, token, _ = paging(request.query_params.multi_items(), settings_of(request))
    if token is not None:
        raise Problem(400, "QueryParameterException", "nextPageToken: capture jobs are listed on one page")
    negotiate(request.headers, xml=False)
    store = store_of(request)
    jobs = await run_in_threadpool(store.list_capture_jobs, viewer, limit=per_page)
    return json_answer([capture_job_body(job) for job in jobs])


@router.get("/capture/{captureID}", summary="Returns the state of a capture job.", response_class=Response)
async def get_capture_job(captureID: str, request: Request, viewer: CurrentViewer) -> Response:
    """The job's state, counts and errors; ``404`` for another party's job as for an unknown one."""
    store = store_of(request)
    negotiate(request.headers)
    job = await run_in_threadpool(store.capture_job, captureID, viewer)
    if job is None:
        raise Problem(404, "NoSuchResourceException", f"no capture job {captureID}")
    return capture_job_answer(request, job)


def _wake_dispatcher(request: Request) -> None:
    """Let this process's subscription dispatcher (if it runs one) deliver the new events now
    instead of at its next poll."""
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


def _single_event(body: bytes) -> dict[str, Any]:
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Problem(400, "ValidationException", f"the body is not JSON: {error}") from None
    if not isinstance(event, dict):
        raise Problem(400, "ValidationException", "the body must be one EPCIS event (a JSON object)")
    kind = event.get("type")
    if kind in DOCUMENT_KINDS:
        raise Problem(
            400, "ValidationException", f"type: one event expected, got an {kind}; POST it to /capture"
        )
    if not isinstance(kind, str):
        raise Problem(400, "ValidationException", "type: expected an event type such as ObjectEvent")
    return event


@router.post(
    "/events",
    status_code=201,
    summary="Capture one EPCIS event.",
    response_class=Response,
    openapi_extra=_EVENT_BODY,
)
async def capture_event(request: Request, viewer: CurrentViewer) -> Response:
    """Store one event; ``201`` with its ``Location``, ``409`` when it is stored already."""
    settings = settings_of(request)
    store = store_of(request)
    negotiate(request.headers, xml=False)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in ("application/json", "application/ld+json"):
        raise Problem(
            415, "UnsupportedMediaTypeException", f"Content-Type: expected application/json, got {media!r}"
        )
    body = await read_capture_body(request, settings)
    event = _single_event(body)

    def run() -> Any:
        try:
            return store.capture(body, party=viewer.party, behaviour="rollback", limits=_limits(settings))
        except CaptureLimitError as error:
            raise _too_large(settings, str(error)) from None

    result = await run_in_threadpool(run)
    if result.captured:
        _wake_dispatcher(request)
    if result.errors and not result.captured:
        job = await run_in_threadpool(store.capture_job, result.capture_id, viewer)
        errors = capture_job_body(job)["errors"] if job is not None else []
        detail = (
            "; ".join(str(e.get("detail") or e.get("title")) for e in errors[:5]) or "the event is invalid"
        )
        raise Problem(400, "ValidationException", detail, extra={"errors": errors})
    event_id = _event_id(result, event)
    headers = {"Location": f"/epcis/events/{quote(event_id, safe='')}"}
    if result.duplicates and not result.captured:
        raise Problem(
            409, "ResourceAlreadyExistsException", f"the event {event_id} is stored already", headers=headers
        )
    return json_answer({**event, "eventID": event_id}, 201, headers)


def _event_id(result: Any, event: dict[str, Any]) -> str:
    """The stored event's eventID: as given, or the Event Hash ID the store gives an event without one."""
    ids = getattr(result, "event_ids", None)
    if ids:
        return str(ids[0])
    given = event.get("eventID")
    if isinstance(given, str) and given.strip():
        return given.strip()
    namespaces: dict[str, str] = {}
    context = event.get("@context")
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, dict):
            for key, value in entry.items():
                namespace = namespace_of(value)
                if namespace is not None and not key.startswith("@") and ":" not in key:
                    namespaces[key] = namespace
    return EventHasher(namespaces).hash(event)
