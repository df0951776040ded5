"""``/events``: query the repository, and read one event by its eventID.

``GET /epcis/events?EQ_bizStep=shipping&GE_eventTime=2024-03-01T00:00:00Z&perPage=100`` takes
every SimpleEventQuery parameter of EPCIS 2.0 in the query string (repeated parameters and
``|``-separated values mean OR) and answers an ``EPCISQueryDocument`` page: JSON-LD by default,
EPCIS XML with ``Accept: application/xml``; ``Link: <…>; rel="next"`` leads to the next page.
``GET /epcis/events/{eventID}`` answers the one event (URL-encode the ``ni:///`` hash IDs).
Capture by ``POST /epcis/events`` lives with the capture routes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from packtrail.api.answers import events_answer, single_event_answer
from packtrail.api.auth import CurrentViewer
from packtrail.api.headers import add_options_route

__all__ = ["router"]

router = APIRouter(tags=["Events"])

add_options_route(router, "/events", ("GET", "POST"))
add_options_route(router, "/events/{eventID:path}", ("GET",))


@router.get("/events", summary="Returns EPCIS events matching the query parameters (SimpleEventQuery).")
async def get_events(request: Request, viewer: CurrentViewer) -> Response:
    """Every event visible to the caller that matches the SimpleEventQuery parameters, one page at a time."""
    return await events_answer(request, viewer)


@router.get("/events/{eventID:path}", summary="Returns an individual EPCIS event.")
async def get_event(eventID: str, request: Request, viewer: CurrentViewer) -> Response:
    """The event with this eventID in an ``EPCISQueryDocument``; ``404`` when it does not exist or the
    caller may not see it (the two are not told apart)."""
    return await single_event_answer(request, viewer, eventID)
