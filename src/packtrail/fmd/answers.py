"""What a node's services answer: an HTTP status, a JSON body with the NMVS return code, headers.

The services (:mod:`packtrail.fmd.national`, :mod:`packtrail.fmd.hub`) return an :class:`Answer`;
the HTTP routers send it as it is. Answers shared by both live here:

>>> from packtrail.fmd.federation import Unavailable
>>> answer = unavailable(Unavailable("FR", "connection refused"))
>>> answer.status, answer.body["returnCode"], answer.headers["Retry-After"]
(503, 'NMVS_TI_RT_02', '1')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from packtrail.fmd.clock import Clock
from packtrail.fmd.codes import ReturnCode
from packtrail.fmd.errors import FmdInputError
from packtrail.fmd.federation import Unavailable
from packtrail.fmd.wire import error_body

__all__ = ["Answer", "input_error", "set_clock", "unavailable"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the HTTP layer sends back: status, JSON body, extra headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def unavailable(exc: Unavailable) -> Answer:
    """The answer when another node did not answer: ``NMVS_TI_RT_02``, HTTP 503, retry later."""
    return Answer(
        503,
        error_body(ReturnCode.NMVS_TI_RT_02, f"temporarily unavailable: {exc}", retryable=True),
        {"Retry-After": "1"},
    )


def input_error(exc: FmdInputError) -> Answer:
    """The answer to a request that cannot be read: HTTP 400, the field and the NMVS code."""
    return Answer(400, error_body(exc.return_code, exc.reason, field=exc.field))


def set_clock(clock: Clock, body: Mapping[str, Any]) -> Answer:
    """Set or advance a node's clock from a ``POST /admin/clock`` body."""
    try:
        if "now" in body:
            now = datetime.fromisoformat(str(body["now"]))
            clock.set(now)
        elif "advanceHours" in body:
            clock.advance(timedelta(hours=float(body["advanceHours"])))
        else:
            raise ValueError("expected 'now' (ISO 8601 with offset) or 'advanceHours'")
    except (ValueError, TypeError) as exc:
        return Answer(400, error_body(ReturnCode.NMVS_FE_REQ_02, f"clock: {exc}", field="now"))
    return Answer(200, {"now": clock.now().isoformat()})
