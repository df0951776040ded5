"""Named queries: ``/queries``, ``/queries/{queryName}``, ``/queries/{queryName}/events``.

A named query is a stored SimpleEventQuery, a view on the repository:

    POST /epcis/queries
    {"name": "shippedToday", "query": {"EQ_bizStep": ["shipping"], "GE_eventTime": "2024-03-01T00:00:00Z"}}

answers ``201`` with ``Location: /epcis/queries/shippedToday`` (``409`` when the name is taken);
``GET /epcis/queries/shippedToday/events`` answers its events page by page, each caller seeing only
the events visible to it. The query body follows GS1's ``query-schema.json``: lists of values for
the ``EQ_``/``MATCH_`` families, a single value for the time bounds and counts. Subscriptions to a
named query (webhooks, WebSockets) live in :mod:`packtrail.api.subscriptions`.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from packtrail.api.answers import events_answer, json_answer, paging, settings_of, store_of
from packtrail.api.auth import CurrentViewer
from packtrail.api.headers import add_options_route
from packtrail.api.negotiation import negotiate, parse_extensions
from packtrail.api.problems import Problem
from packtrail.store import Viewer

__all__ = ["SUBSCRIPTION_PARAMETERS", "router"]

router = APIRouter(tags=["Queries"])

SUBSCRIPTION_PARAMETERS: Final = frozenset(
    {
        "stream",
        "reportIfEmpty",
        "initialRecordTime",
        "second",
        "minute",
        "hour",
        "dayOfMonth",
        "month",
        "dayOfWeek",
    }
)
"""Query-string parameters of a WebSocket subscription on ``/queries/{name}/events`` (not filters)."""

MAX_NAME_LENGTH: Final = 200

_CREATE_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["name", "query"],
                    "properties": {
                        "name": {
                            "type": "string",
                            "description": "The query's name, unique in this repository.",
                        },
                        "query": {
                            "type": "object",
                            "description": "A SimpleEventQuery (GS1 query-schema.json).",
                        },
                    },
                }
            }
        },
    },
    "responses": {"201": {"description": "Created; Location names the query."}},
}

add_options_route(router, "/queries", ("GET", "POST"))
add_options_route(router, "/queries/{queryName}", ("GET", "DELETE"))
add_options_route(router, "/queries/{queryName}/events", ("GET",))


def _definition(named: Any) -> dict[str, Any]:
    params = named.params
    if isinstance(params, dict):
        query: dict[str, Any] = params
    else:
        query = {}
        for name, value in params:
            query.setdefault(name, []).append(value)
    return {"name": named.name, "query": query}


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise Problem(400, "ValidationException", "name: expected the query's name (text)")
    if len(name) > MAX_NAME_LENGTH or "/" in name or any(ord(ch) < 32 for ch in name):
        raise Problem(
            400,
            "ValidationException",
            f"name: at most {MAX_NAME_LENGTH} characters, no '/' and no control characters",
        )
    return name


@router.get("/queries", summary="Returns the named queries visible to the caller.", response_class=Response)
async def list_queries(request: Request, viewer: CurrentViewer) -> Response:
    """The caller's named queries (``perPage`` of them)."""
    per_page, token, _ = paging(request.query_params.multi_items(), settings_of(request))
    if token is not None:
        raise Problem(400, "QueryParameterException", "nextPageToken: named queries are listed on one page")
    negotiate(request.headers, xml=False)
    queries = await run_in_threadpool(store_of(request).list_named_queries, viewer)
    return json_answer([_definition(named) for named in queries[:per_page]])


@router.post(
    "/queries",
    status_code=201,
    summary="Creates a named EPCIS events query.",
    response_class=Response,
    openapi_extra=_CREATE_BODY,
)
async def create_query(request: Request, viewer: CurrentViewer) -> Response:
    """Store ``{"name": …, "query": {…}}``; ``201`` with its ``Location``, ``409`` when the name is taken."""
    from packtrail.store import parse_query_params

    negotiate(request.headers, xml=False)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in ("application/json", "application/ld+json"):
        raise Problem(
            415, "UnsupportedMediaTypeException", f"Content-Type: expected application/json, got {media!r}"
        )
    raw = await request.body()
    if len(raw) > 1 << 20:
        raise Problem(413, "QueryTooComplexException", "a query definition is at most 1 MiB")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Problem(400, "ValidationException", f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise Problem(400, "ValidationException", 'expected {"name": …, "query": {…}}')
    name = _check_name(body.get("name"))
    query = body.get("query")
    if not isinstance(query, dict):
        raise Problem(400, "ValidationException", "query: expected a JSON object of query parameters")
    store = store_of(request)
    extensions = parse_extensions(request.headers.get("gs1-extensions"))

    def run() -> None:
        parse_query_params(query, namespaces={**store.namespaces(), **extensions})  # refuse a bad query now
        store.create_named_query(name, query, viewer)

    await run_in_threadpool(run)
    location = f"/epcis/queries/{quote(name, safe='')}"
    return json_answer({"name": name, "query": query}, 201, {"Location": location})


async def _named(request: Request, name: str, viewer: Viewer) -> Any:
    named = await run_in_threadpool(store_of(request).named_query, name, viewer)
    if named is None:
        raise Problem(404, "NoSuchNameException", f"no named query {name!r}")
    return named


@router.get("/queries/{queryName}", summary="Returns the query definition.", response_class=Response)
async def get_query(queryName: str, request: Request, viewer: CurrentViewer) -> Response:
    """``{"name": …, "query": {…}}``."""
    negotiate(request.headers, xml=False)
    return json_answer(_definition(await _named(request, queryName, viewer)))


@router.delete(
    "/queries/{queryName}", status_code=204, summary="Removes a named query.", response_class=Response
)
async def delete_query(queryName: str, request: Request, viewer: CurrentViewer) -> Response:
    """``204`` once removed (its subscriptions end with it); ``404`` when there is none to remove."""
    removed = await run_in_threadpool(store_of(request).delete_named_query, queryName, viewer)
    if not removed:
        raise Problem(404, "NoSuchNameException", f"no named query {queryName!r}")
    return Response(status_code=204)


@router.get(
    "/queries/{queryName}/events",
    tags=["Events"],
    summary="Returns the events of a named query, page by page.",
    response_class=Response,
)
async def query_events(queryName: str, request: Request, viewer: CurrentViewer) -> Response:
    """The named query's events visible to the caller (``perPage``, ``nextPageToken``, ``Link``)."""
    named = await _named(request, queryName, viewer)
    return await events_answer(
        request, viewer, query=named.params, query_name=queryName, allowed=SUBSCRIPTION_PARAMETERS
    )


@router.delete(
    "/nextPageToken/{token}",
    status_code=204,
    summary="Release the resources of a nextPageToken (there are none: tokens are stateless here).",
    response_class=Response,
)
async def release_token(token: str, viewer: CurrentViewer) -> Response:
    """``204``: a token is a signed position in the result, so no server resource waits to be released
    (the token stays usable; it names a position, not a cursor held open)."""
    del token, viewer
    return Response(status_code=204)
