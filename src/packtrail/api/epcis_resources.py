"""The top-level resources: ``/eventTypes``, ``/epcs``, ``/bizSteps``, ``/bizLocations``, ``/readPoints``,
``/dispositions``, and the root that lists them.

Each resource has three levels, as in GS1's REST bindings:

- ``GET /epcis/bizSteps`` — the values found in the events the caller may see (a JSON-LD
  ``Collection``, paged with ``perPage``/``nextPageToken`` and ``Link``);
- ``GET /epcis/bizSteps/shipping`` — its sub-resources (``["events"]``), ``404`` when no visible
  event has that value;
- ``GET /epcis/bizSteps/shipping/events`` — the events with that value, further filtered by any
  SimpleEventQuery parameter in the query string.

The value in the path is URL-encoded when it is a URI: ``/epcis/epcs/urn:epc:id:sgtin:…/events``
or a GS1 Digital Link ``/epcis/epcs/https:%2F%2Fid.gs1.org%2F01%2F…%2F21%2F…/events``. An EPC
matches wherever the event names it (``MATCH_anyEPC``: epcList, childEPCs, parentID, inputs,
outputs).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from packtrail.api.answers import collection_answer, events_answer, json_answer, paging, settings_of, store_of
from packtrail.api.auth import CurrentViewer
from packtrail.api.headers import add_options_route
from packtrail.api.negotiation import negotiate
from packtrail.api.problems import Problem
from packtrail.epcis.document import STANDARD_CONTEXT_URL
from packtrail.store import Viewer
from packtrail.store.store import Dimension

__all__ = ["RESOURCES", "TOP_LEVEL_RESOURCES", "Resource", "router"]

router = APIRouter()

TOP_LEVEL_RESOURCES: Final = (
    "queries",
    "capture",
    "events",
    "eventTypes",
    "epcs",
    "readPoints",
    "bizLocations",
    "dispositions",
    "bizSteps",
)
"""What ``GET /epcis/`` lists (GS1's ``TopLevelResources``)."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One top-level resource: its path, the store dimension behind it, the filter its values mean."""

    path: Dimension
    """Path segment (``bizSteps``), also the store's name of the dimension."""
    parameter: str
    """Name of the path parameter (``bizStep``), as in GS1's OpenAPI."""
    query_parameter: str
    """The SimpleEventQuery parameter a value of it stands for (``EQ_bizStep``)."""
    identifiers: bool = False
    """Values are EPCs or locations (written in the asked ``GS1-EPC-Format``)."""
    title: str = ""
    """What the values are, for the OpenAPI summaries."""


RESOURCES: Final = (
    Resource("eventTypes", "eventType", "eventType", title="EPCIS event types"),
    Resource("epcs", "epc", "MATCH_anyEPC", identifiers=True, title="electronic product codes"),
    Resource("bizSteps", "bizStep", "EQ_bizStep", title="business steps"),
    Resource("bizLocations", "bizLocation", "EQ_bizLocation", identifiers=True, title="business locations"),
    Resource("readPoints", "readPoint", "EQ_readPoint", identifiers=True, title="read points"),
    Resource("dispositions", "disposition", "EQ_disposition", title="dispositions"),
)


def _with_path_parameter(
    function: Callable[..., Awaitable[Response]], name: str, operation: str
) -> Callable[..., Awaitable[Response]]:
    """``function(value, request, viewer)`` presented to FastAPI as taking the path parameter ``name``
    (``bizStep``, ``epc``…), so the OpenAPI names it as GS1 does."""
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    renamed = [parameters[0].replace(name=name), *parameters[1:]]

    async def endpoint(**arguments: Any) -> Response:
        value = arguments.pop(name)
        return await function(value, **arguments)

    endpoint.__signature__ = signature.replace(parameters=renamed)  # type: ignore[attr-defined]
    endpoint.__name__ = operation
    endpoint.__doc__ = function.__doc__
    return endpoint


def _register(resource: Resource) -> None:
    base = f"/{resource.path}"
    item = f"{base}/{{{resource.parameter}:path}}"

    async def list_values(request: Request, viewer: CurrentViewer) -> Response:
        per_page, token, rest = paging(request.query_params.multi_items(), settings_of(request))
        del rest
        store = store_of(request)
        members, next_token = await run_in_threadpool(
            store.distinct_values, resource.path, viewer, per_page=per_page, page_token=token
        )
        return collection_answer(request, members, next_token, identifiers=resource.identifiers)

    list_values.__name__ = f"list_{resource.path}"

    async def value_events(value: str, request: Request, viewer: CurrentViewer) -> Response:
        return await events_answer(request, viewer, fixed=[(resource.query_parameter, value)])

    async def sub_resources(value: str, request: Request, viewer: CurrentViewer) -> Response:
        negotiate(request.headers, xml=False)
        paging(request.query_params.multi_items(), settings_of(request))
        if not await _visible(request, viewer, resource.query_parameter, value):
            raise Problem(
                404, "NoSuchResourceException", f"no event visible to you has {resource.parameter} {value}"
            )
        return json_answer({"@context": STANDARD_CONTEXT_URL, "type": "Collection", "member": ["events"]})

    # the longer path first: a value may itself contain "/events" only if it is URL-encoded
    add_options_route(router, f"{item}/events", ("GET",))
    router.add_api_route(
        f"{item}/events",
        _with_path_parameter(value_events, resource.parameter, f"{resource.path}_events"),
        methods=["GET"],
        tags=["Events"],
        summary=f"Returns the EPCIS events with this {resource.parameter}.",
        response_class=Response,
    )
    add_options_route(router, item, ("GET",))
    router.add_api_route(
        item,
        _with_path_parameter(sub_resources, resource.parameter, f"{resource.path}_item"),
        methods=["GET"],
        tags=["Top-level"],
        summary=f"Returns the sub-resources of a {resource.parameter} (for HATEOAS discovery).",
        response_class=Response,
    )
    add_options_route(router, base, ("GET",))
    router.add_api_route(
        base,
        list_values,
        methods=["GET"],
        tags=["Top-level"],
        summary=f"Returns the {resource.title} found in the events visible to the caller.",
        response_class=Response,
    )


async def _visible(request: Request, viewer: Viewer, parameter: str, value: str) -> bool:
    from packtrail.store import parse_query_params

    store = store_of(request)

    def run() -> bool:
        query = parse_query_params([(parameter, value)], namespaces=store.namespaces())
        return bool(store.query_events(query, viewer, per_page=1).events)

    return await run_in_threadpool(run)


for _resource in RESOURCES:
    _register(_resource)


add_options_route(router, "/", ("GET",))


@router.get("/", tags=["Discovery"], summary="Returns the top-level resources of this EPCIS repository.")
async def top_level(request: Request, viewer: CurrentViewer) -> Response:
    """The resources under ``/epcis``: events, the six value resources, capture and queries."""
    del viewer
    negotiate(request.headers, xml=False)
    return json_answer(
        {"@context": STANDARD_CONTEXT_URL, "type": "Collection", "member": list(TOP_LEVEL_RESOURCES)}
    )
