"""Each pack's life over HTTP: the chain-of-custody trace of an identifier and the recall reach of a lot.

A thin router over :mod:`packtrail.lifecycle` (the rules live there), mounted at the application root:

- ``GET /lifecycle/v1/trace/{identifier}`` -> every event that applied to the pack, case or pallet in
  eventTime order (also those on containers it was in), its owners with their dates and the ownership
  transactions (DSCSA transaction history), the containers it travelled in, its current state and the
  exceptions. ``identifier`` in any form, percent-encoded: EPC URN, GS1 Digital Link, scanned GS1
  DataMatrix text (``%1D`` for GS), bracketed element string, SSCC, or ``GTIN serial``.
- ``GET /lifecycle/v1/recall/{gtin}/{lot}`` -> where every pack of the lot is now: counts by state,
  owner and location, and the list (``limit`` caps the list, not the counts).

Access: the same rule as the EPCIS routes. A party sees the events it may see: its trace is made of
those (state as of the last of them), an identifier none of whose events it may see is ``404``; its
recall reach lists the packs it owns or holds and those whose last event it may see.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from packtrail.api.answers import json_answer, store_of
from packtrail.api.auth import CurrentViewer
from packtrail.api.problems import Problem
from packtrail.lifecycle import IdentifierError, NotFoundError, recall, trace

__all__ = ["PREFIX", "router"]

PREFIX: Final = "/lifecycle/v1"

router = APIRouter(prefix=PREFIX, tags=["Lifecycle"])

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": "ValidationException: the identifier, GTIN or lot cannot be read."},
    401: {"description": "SecurityException: no or an unknown credential."},
}


@router.get(
    "/trace/{identifier:path}",
    summary="Chain of custody of a pack, case or pallet",
    responses={
        200: {"description": "The trace."},
        **_ERRORS,
        404: {"description": "NoSuchResourceException: no event the caller may see names the identifier."},
    },
)
def get_trace(
    request: Request,
    viewer: CurrentViewer,
    identifier: Annotated[
        str,
        Path(
            description="EPC URN, GS1 Digital Link, scanned DataMatrix text, (00) SSCC or 'GTIN serial', "
            "percent-encoded.",
            examples=["urn:epc:id:sgtin:4012345.011111.1001"],
        ),
    ],
) -> Response:
    """Every event that applied to the identifier (directly or through a container), owners with
    from/to dates, ownership transactions, containers, current state and exceptions."""
    try:
        found = trace(store_of(request), identifier, viewer)
    except IdentifierError as error:
        raise Problem(400, "ValidationException", str(error)) from None
    except NotFoundError as error:
        raise Problem(404, "NoSuchResourceException", str(error)) from None
    return json_answer(found.as_json())


@router.get(
    "/recall/{gtin}/{lot:path}",
    summary="Recall reach: where every pack of a lot is now",
    responses={200: {"description": "Counts by state, owner and location, and the packs."}, **_ERRORS},
)
def get_recall(
    request: Request,
    viewer: CurrentViewer,
    gtin: Annotated[str, Path(description="GTIN-8, -12, -13 or -14.", examples=["04012345111118"])],
    lot: Annotated[str, Path(description="The lot (batch) number, AI (10).", examples=["B42"])],
    limit: Annotated[
        int | None, Query(ge=0, description="List at most this many packs (the counts cover all).")
    ] = None,
) -> Response:
    """Counts of the lot's packs by state, owner and location, and the list of packs with their
    position (state, owner, custodian, location, container)."""
    try:
        reach = recall(store_of(request), gtin, lot, viewer)
    except IdentifierError as error:
        raise Problem(400, "ValidationException", str(error)) from None
    return json_answer(reach.as_json(limit=limit))
