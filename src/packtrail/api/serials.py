"""Serial numbers over HTTP: pools, allocations to packaging lines and contract packagers, returns, reports.

A thin router over :class:`~packtrail.serials.service.SerialService` (the rules live there), mounted
at the application root:

- ``POST /serials/v1/pools`` ``{"gtin", "alphabet", "length"}`` -> ``201`` the pool (an existing pool
  with the same policy is answered as is);
- ``POST /serials/v1/allocations`` ``{"gtin", "count", "to"}`` (optional ``pool``, ``alphabet``,
  ``length``) -> ``201`` the allocation with its serials, ``Location: /serials/v1/allocations/{id}``;
- ``GET /serials/v1/allocations/{id}`` -> the allocation and its serials again (for a line whose
  answer got lost: serials issued are never issued again, so they must not be lost either);
- ``POST /serials/v1/allocations/{id}/return`` ``{"serials": [...]}`` -> counts returned;
- ``GET /serials/v1/report/{gtin}`` -> counts by status and by recipient.

Who may do what (:mod:`packtrail.serials.access`): the brand owner of the GTIN (a party whose GLN
carries the GTIN's GS1 Company Prefix, or the local administrator) creates pools, allocates (``to``
defaults to the caller) and sees the whole report. The party an allocation went to may read and
return it and sees its own share of the report. Anyone else gets ``403`` for pools and allocations
and ``404`` for an allocation it did not receive.

An allocation that would make a valid serial guessable with probability 1/10,000 or more is refused
with ``422`` and a problem of type ``serialsException:GuessProbabilityException`` carrying the
computed probability (``guessProbability``, exact in ``probability``).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from packtrail.api.answers import json_answer, store_of
from packtrail.api.auth import CurrentViewer
from packtrail.api.problems import Problem
from packtrail.serials.access import manages
from packtrail.serials.errors import (
    GuessProbabilityError,
    NoSuchAllocationError,
    SerialError,
    SerialPolicyError,
    SerialReturnError,
)
from packtrail.serials.policy import DEFAULT_ALPHABET, DEFAULT_LENGTH, MAX_LENGTH
from packtrail.serials.service import Allocation, SerialService, normalise_gtin
from packtrail.store import Viewer

__all__ = ["MAX_API_ALLOCATION", "PREFIX", "router"]

PREFIX: Final = "/serials/v1"
MAX_API_ALLOCATION: Final = 1_000_000
"""The most serials one HTTP allocation may ask for (about 20 MB of JSON)."""

router = APIRouter(prefix=PREFIX, tags=["Serial numbers"])


class PoolRequest(BaseModel):
    """A pool: the serials of one GTIN with one alphabet and length."""

    model_config = ConfigDict(extra="forbid")
    gtin: str = Field(description="GTIN-8, -12, -13 or -14.", examples=["04012345111118"])
    alphabet: str = Field(
        DEFAULT_ALPHABET,
        description="numeric, alphanumeric (0-9A-Z), cset32, cset82, or the characters (GS1 character set 82).",
    )
    length: int = Field(DEFAULT_LENGTH, ge=1, le=MAX_LENGTH, description="Characters per serial.")


class AllocationRequest(BaseModel):
    """Serials to issue: how many, of which GTIN, to whom."""

    model_config = ConfigDict(extra="forbid")
    gtin: str = Field(description="GTIN-8, -12, -13 or -14.", examples=["04012345111118"])
    count: int = Field(ge=1, le=MAX_API_ALLOCATION, description="How many serials.")
    to: str | None = Field(
        None, description="GLN of the packaging line or contract packager (default: the caller's GLN)."
    )
    pool: int | None = Field(None, description="Draw from this pool (default: the GTIN's newest).")
    alphabet: str | None = Field(
        None, description="Draw from the pool with this alphabet (created if needed)."
    )
    length: int | None = Field(None, ge=1, le=MAX_LENGTH, description="… and this length.")


class ReturnRequest(BaseModel):
    """Serials of the allocation that were not used."""

    model_config = ConfigDict(extra="forbid")
    serials: list[str] = Field(max_length=10_000_000)


def _service(request: Request) -> SerialService:
    return SerialService(store_of(request))


def _problem(error: SerialError) -> Problem:
    """The HTTP answer for an error of :mod:`packtrail.serials`."""
    if isinstance(error, GuessProbabilityError):
        return Problem(
            422,
            "serialsException:GuessProbabilityException",
            str(error),
            title="The serials would become guessable",
            extra={
                "guessProbability": float(error.probability),
                "probability": f"{error.probability.numerator}/{error.probability.denominator}",
                "bound": f"{error.bound.numerator}/{error.bound.denominator}",
                "issued": error.issued,
                "requested": error.requested,
                "numberSpace": str(error.number_space),
            },
        )
    if isinstance(error, NoSuchAllocationError):
        return Problem(404, "NoSuchResourceException", str(error))
    if isinstance(error, SerialReturnError):
        return Problem(400, "ValidationException", str(error), extra={"serials": error.foreign})
    if isinstance(error, SerialPolicyError):
        return Problem(400, "ValidationException", str(error))
    return Problem(500, "ImplementationException", "the serial service failed; the error was logged")


def _gtin(value: str) -> str:
    try:
        return normalise_gtin(value)
    except SerialPolicyError as error:
        raise _problem(error) from None


def _must_manage(viewer: Viewer, gtin14: str) -> None:
    if not manages(viewer.party, gtin14):
        raise Problem(
            403,
            "SecurityException",
            f"party {viewer.party} does not manage the serials of GTIN {gtin14}: only its brand owner "
            "(the GLNs of the GTIN's GS1 Company Prefix) does",
        )


def _visible_allocation(
    service: SerialService, allocation_id: int, viewer: Viewer, *, serials: bool
) -> Allocation:
    allocation = service.allocation(allocation_id, with_serials=False)
    if allocation is None or not (
        manages(viewer.party, allocation.gtin) or allocation.to_gln == viewer.party
    ):
        raise Problem(404, "NoSuchResourceException", f"no allocation {allocation_id}")
    if serials:
        allocation = service.allocation(allocation_id, with_serials=True) or allocation
    return allocation


_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": "ValidationException: an invalid GTIN, GLN, alphabet, length or count."},
    401: {"description": "SecurityException: no or an unknown credential."},
    403: {"description": "SecurityException: the caller does not manage the GTIN's serials."},
}


@router.post(
    "/pools",
    status_code=201,
    summary="Create a serial pool for a GTIN",
    responses={
        201: {"description": "The pool."},
        **_ERRORS,
        422: {"description": "GuessProbabilityException"},
    },
)
def create_pool(request: Request, viewer: CurrentViewer, body: Annotated[PoolRequest, Body()]) -> Response:
    """A pool of a GTIN with an alphabet and length; the existing one when it has them already.

    Refused (``422``) when the number space cannot take one more serial under the guess bound."""
    gtin14 = _gtin(body.gtin)
    _must_manage(viewer, gtin14)
    service = _service(request)
    try:
        pool = service.create_pool(gtin14, body.alphabet, body.length)
    except SerialError as error:
        raise _problem(error) from None
    return json_answer(pool.as_json(), 201)


@router.post(
    "/allocations",
    status_code=201,
    summary="Allocate new random serials of a GTIN to a packaging line or contract packager",
    responses={
        201: {"description": "The allocation and its serials; Location names it."},
        **_ERRORS,
        422: {
            "description": "GuessProbabilityException: the serials would become guessable (nothing issued)."
        },
    },
)
def allocate(request: Request, viewer: CurrentViewer, body: Annotated[AllocationRequest, Body()]) -> Response:
    """Issue ``count`` serials never issued before for the GTIN (atomic: all or none)."""
    gtin14 = _gtin(body.gtin)
    _must_manage(viewer, gtin14)
    service = _service(request)
    try:
        allocation = service.allocate(
            gtin14,
            body.count,
            body.to if body.to is not None else viewer.party,
            pool_id=body.pool,
            alphabet=body.alphabet,
            length=body.length,
        )
    except SerialError as error:
        raise _problem(error) from None
    return json_answer(allocation.as_json(), 201, {"Location": f"{PREFIX}/allocations/{allocation.id}"})


@router.get(
    "/allocations/{allocation_id}",
    summary="An allocation and its serials",
    responses={200: {"description": "The allocation."}, 404: {"description": "NoSuchResourceException"}},
)
def get_allocation(
    request: Request,
    viewer: CurrentViewer,
    allocation_id: Annotated[int, Path(ge=1)],
    serials: Annotated[bool, Query(description="Include the serials (sorted).")] = True,
) -> Response:
    """The allocation (with its serials unless ``serials=false``), for its brand owner and its recipient."""
    allocation = _visible_allocation(_service(request), allocation_id, viewer, serials=serials)
    return json_answer(allocation.as_json(with_serials=serials))


@router.post(
    "/allocations/{allocation_id}/return",
    summary="Return unused serials of an allocation",
    responses={
        200: {"description": "How many were returned."},
        400: {"description": "ValidationException: serials that are not part of the allocation."},
        404: {"description": "NoSuchResourceException"},
    },
)
def return_unused(
    request: Request,
    viewer: CurrentViewer,
    allocation_id: Annotated[int, Path(ge=1)],
    body: Annotated[ReturnRequest, Body()],
) -> Response:
    """Mark serials of the allocation as returned. They are never issued again (they stay burned)."""
    service = _service(request)
    _visible_allocation(service, allocation_id, viewer, serials=False)
    try:
        result = service.return_unused(allocation_id, body.serials)
    except SerialError as error:
        raise _problem(error) from None
    return json_answer(result.as_json())


@router.get(
    "/report/{gtin}",
    summary="Counts of a GTIN's serials by status and recipient",
    responses={200: {"description": "The report."}, 400: {"description": "ValidationException: not a GTIN."}},
)
def report(request: Request, viewer: CurrentViewer, gtin: str) -> Response:
    """The whole report for the GTIN's brand owner; another party sees only its own allocations."""
    gtin14 = _gtin(gtin)
    recipient = None if manages(viewer.party, gtin14) else viewer.party
    result = _service(request).report(gtin14, recipient=recipient)
    return json_answer(result.as_json())
