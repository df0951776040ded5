"""Errors as RFC 7807 problem documents with the EPCIS exception types.

Every error the node answers is a problem document (``application/problem+json``, or
``application/problem+xml`` when the client accepts only XML) whose ``type`` is one of the
exception names of EPCIS 2.0 section 8.2 / the GS1 OpenAPI:

>>> problem = Problem(400, "QueryParameterException", "EQ_bizStep: expected a URI or a CBV word")
>>> problem.body()
{'type': 'epcisException:QueryParameterException', 'title': 'Invalid query parameter', \
'status': 400, 'detail': 'EQ_bizStep: expected a URI or a CBV word'}

Errors of the store (:mod:`packtrail.store.errors`) map by class name, so a subclass the store
adds later still finds its base class's entry:

>>> from packtrail.store.errors import QueryTooLargeError
>>> from_store_error(QueryTooLargeError("47 events match, maxEventCount is 10")).status
413
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final
from xml.sax.saxutils import escape

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

__all__ = [
    "EXCEPTION_TITLES",
    "STORE_ERROR_PROBLEMS",
    "Problem",
    "from_store_error",
    "install_problem_handlers",
    "problem_response",
]

log = logging.getLogger("packtrail.api")

EPCIS_EXCEPTION_PREFIX: Final = "epcisException:"

EXCEPTION_TITLES: Final[dict[str, str]] = {
    "ValidationException": "Invalid EPCIS document or request",
    "QueryParameterException": "Invalid query parameter",
    "QueryValidationException": "Invalid query",
    "QueryTooLargeException": "Query result too large",
    "QueryTooComplexException": "Query too complex",
    "NoSuchNameException": "No such named query",
    "NoSuchResourceException": "Resource not found",
    "NoSuchSubscriptionException": "No such subscription",
    "SubscribeNotPermittedException": "Subscription not permitted",
    "SubscriptionControlsException": "Invalid subscription controls",
    "InvalidURIException": "Invalid destination URI",
    "ResourceAlreadyExistsException": "A resource with that identifier already exists",
    "CaptureLimitExceededException": "Capture payload too large",
    "SecurityException": "Unauthorised request",
    "NotAcceptableException": "Cannot answer in the requested format or version",
    "UnsupportedMediaTypeException": "Unsupported media type",
    "URITooLongException": "URI too long",
    "MethodNotAllowedException": "Method not allowed",
    "ImplementationException": "A server-side error occurred",
}
"""EPCIS exception name -> the ``title`` of its problem documents."""

STORE_ERROR_PROBLEMS: Final[dict[str, tuple[int, str]]] = {
    "CaptureFormatError": (400, "ValidationException"),
    "CaptureLimitError": (413, "CaptureLimitExceededException"),
    "QueryParameterError": (400, "QueryParameterException"),
    "QueryTooLargeError": (413, "QueryTooLargeException"),
    "NoSuchNameError": (404, "NoSuchNameException"),
    "NoSuchSubscriptionError": (404, "NoSuchSubscriptionException"),
    "SubscriptionControlsError": (400, "SubscriptionControlsException"),
    "DuplicateNameError": (409, "ResourceAlreadyExistsException"),
    "ImplementationError": (500, "ImplementationException"),
    "StoreError": (500, "ImplementationException"),
}
"""Store error class name -> (HTTP status, EPCIS exception name)."""


class Problem(Exception):
    """An error answer: HTTP status, EPCIS exception name, what went wrong, extra headers."""

    def __init__(
        self,
        status: int,
        exception: str,
        detail: str | None = None,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        """HTTP status code (400, 401, 404, 413...)."""
        self.exception = exception
        """EPCIS exception name without prefix (``QueryParameterException``) or a full URI."""
        self.detail = detail
        """What was wrong, naming the field or parameter and what was expected."""
        self.title = title or EXCEPTION_TITLES.get(exception, "Request failed")
        self.headers = dict(headers or {})
        """Headers the answer carries (``WWW-Authenticate``, ``GS1-EPCIS-Capture-Limit``...)."""
        self.extra = dict(extra or {})
        """Further members of the problem document (``errors`` of a rejected capture...)."""
        super().__init__(f"{status} {exception}: {detail or self.title}")

    @property
    def type(self) -> str:
        """The problem ``type``: ``epcisException:<name>`` (a URI of the ``epcisException`` scheme)."""
        if ":" in self.exception:
            return self.exception
        return EPCIS_EXCEPTION_PREFIX + self.exception

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document as a JSON object."""
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


def from_store_error(error: BaseException) -> Problem:
    """The problem for an error of :mod:`packtrail.store` (matched by class name along the MRO)."""
    for cls in type(error).__mro__:
        entry = STORE_ERROR_PROBLEMS.get(cls.__name__)
        if entry is None:
            continue
        status, exception = entry
        detail = str(error) or None
        if status >= 500:
            log.error("store error", exc_info=error)
            detail = "the repository failed; the error was logged"
        return Problem(status, exception, detail)
    log.error("unexpected error", exc_info=error)
    return Problem(500, "ImplementationException", "the repository failed; the error was logged")


def _wants_xml(accept: str) -> bool:
    accept = accept.lower()
    if not accept or "json" in accept or "*/*" in accept:
        return False
    return "xml" in accept


def _xml_body(body: Mapping[str, Any]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<epcis:EPCISException xmlns:epcis="urn:epcglobal:epcis:xsd:2">'
    ]
    for key, value in body.items():
        if isinstance(value, (str, int, float)) and key.isidentifier():
            parts.append(f"<{key}>{escape(str(value))}</{key}>")
    parts.append("</epcis:EPCISException>\n")
    return "".join(parts).encode()


def problem_response(problem: Problem, request: Request | None = None) -> Response:
    """The HTTP answer for ``problem``: JSON, or XML when the request accepts only XML."""
    instance = request.url.path if request is not None else None
    body = problem.body(instance)
    headers = dict(problem.headers)
    if request is not None and _wants_xml(request.headers.get("accept", "")):
        return Response(_xml_body(body), problem.status, headers, media_type="application/problem+xml")
    content = orjson.dumps(body, default=str)
    return Response(content, problem.status, headers, media_type="application/problem+json")


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    messages = [f"{_location(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors[:10]]
    in_query = bool(errors) and all(tuple(e.get("loc", ()))[:1] == ("query",) for e in errors)
    exception = "QueryParameterException" if in_query else "ValidationException"
    return problem_response(Problem(400, exception, "; ".join(messages) or None), request)


_HTTP_EXCEPTIONS: Final[dict[int, str]] = {
    400: "ValidationException",
    401: "SecurityException",
    403: "SecurityException",
    404: "NoSuchResourceException",
    405: "MethodNotAllowedException",
    406: "NotAcceptableException",
    409: "ResourceAlreadyExistsException",
    413: "CaptureLimitExceededException",
    414: "URITooLongException",
    415: "UnsupportedMediaTypeException",
}


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    exception = _HTTP_EXCEPTIONS.get(exc.status_code, "ImplementationException")
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    problem = Problem(exc.status_code, exception, detail, headers=dict(exc.headers or {}))
    return problem_response(problem, request)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    reference = uuid.uuid4().hex[:12]
    log.error("unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=exc)
    problem = Problem(500, "ImplementationException", f"internal error (reference {reference})")
    return problem_response(problem, request)


async def _on_store_error(request: Request, exc: Exception) -> Response:
    return problem_response(from_store_error(exc), request)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem document."""
    from packtrail.store.errors import StoreError

    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StoreError, _on_store_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
