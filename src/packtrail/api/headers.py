"""The ``GS1-*`` headers every answer carries, and ``OPTIONS`` discovery.

Every answer under ``/epcis`` says which standard it speaks (``GS1-EPCIS-Version: 2.0.0``,
``GS1-CBV-Version: 2.0.0``). ``OPTIONS`` on any EPCIS path answers ``204`` with ``Allow`` and
the node's capabilities: EPCIS and CBV versions, identifier formats, extensions, and on
``/capture`` the capture limits and error behaviours:

>>> headers = discovery_headers(APISettings(capture_max_events=500), ("GET", "POST"), capture=True)
>>> headers["Allow"], headers["GS1-EPCIS-Capture-Limit"], headers["GS1-Capture-Error-Behaviour"]
('OPTIONS, GET, POST', '500', 'rollback, proceed')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from packtrail.api.auth import authenticate
from packtrail.api.negotiation import CBV_MIN, CBV_VERSION, EPCIS_MIN, EPCIS_VERSION
from packtrail.api.problems import Problem, problem_response
from packtrail.api.settings import APISettings

__all__ = ["GS1HeadersMiddleware", "add_options_route", "capture_limit_headers", "discovery_headers"]


def capture_limit_headers(settings: APISettings) -> dict[str, str]:
    """``GS1-EPCIS-Capture-Limit`` and ``GS1-EPCIS-Capture-File-Size-Limit`` from the settings."""
    return {
        "GS1-EPCIS-Capture-Limit": str(settings.capture_max_events),
        "GS1-EPCIS-Capture-File-Size-Limit": str(settings.capture_max_bytes),
    }


def discovery_headers(
    settings: APISettings, methods: Sequence[str], *, capture: bool = False, extensions: str = ""
) -> dict[str, str]:
    """The headers of an ``OPTIONS`` answer for a path allowing ``methods``."""
    headers = {
        "Allow": ", ".join(("OPTIONS", *methods)),
        "GS1-EPCIS-Version": EPCIS_VERSION,
        "GS1-EPCIS-Min": EPCIS_MIN,
        "GS1-EPCIS-Max": EPCIS_VERSION,
        "GS1-CBV-Version": CBV_VERSION,
        "GS1-CBV-Min": CBV_MIN,
        "GS1-CBV-Max": CBV_VERSION,
        "GS1-EPC-Format": "No_Preference, Always_GS1_Digital_Link, Always_EPC_URN, Never_Translates",
        "GS1-CBV-XML-Format": "No_Preference, Always_Web_URI, Always_URN, Never_Translates",
        "GS1-Vendor-Version": settings.vendor_version,
    }
    if extensions:
        headers["GS1-Extensions"] = extensions
    if capture:
        headers.update(capture_limit_headers(settings))
        headers["GS1-Capture-Error-Behaviour"] = "rollback, proceed"
    return headers


def add_options_route(
    router: APIRouter,
    path: str,
    methods: Sequence[str],
    *,
    capture: bool = False,
    summary: str | None = None,
    dependencies: Sequence[Any] = (),
) -> None:
    """Register ``OPTIONS path`` on ``router``: ``204`` with :func:`discovery_headers`.

    Discovery is public unless the settings say otherwise; it never looks at stored data, so
    ``OPTIONS /events/{eventID}`` answers alike whether or not the event exists."""

    async def options(request: Request) -> Response:
        settings: APISettings = request.app.state.settings
        if not settings.public_discovery:
            await run_in_threadpool(authenticate, request)
        return Response(status_code=204, headers=discovery_headers(settings, methods, capture=capture))

    options.__name__ = "options_" + "".join(ch if ch.isalnum() else "_" for ch in path).strip("_")
    router.add_api_route(
        path,
        options,
        methods=["OPTIONS"],
        status_code=204,
        tags=["Discovery"],
        summary=summary or f"Discover the methods and EPCIS settings of {path or '/'}",
        response_class=Response,
        responses={204: {"description": "The methods and GS1 settings, in the headers."}},
        dependencies=list(dependencies),
    )


_STANDARD_HEADERS: Final = (
    (b"gs1-epcis-version", EPCIS_VERSION.encode()),
    (b"gs1-cbv-version", CBV_VERSION.encode()),
)


class GS1HeadersMiddleware:
    """ASGI middleware: ``GS1-EPCIS-Version`` / ``GS1-CBV-Version`` on every answer under
    ``prefix`` (unless the handler set its own), and ``414`` for an over-long request target."""

    def __init__(self, app: ASGIApp, *, prefix: str = "/epcis", max_url_length: Callable[[], int]) -> None:
        self.app = app
        self.prefix = prefix
        self.max_url_length = max_url_length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if target > self.max_url_length():
            problem = Problem(
                414, "URITooLongException", f"the request target exceeds {self.max_url_length()} bytes"
            )
            await problem_response(problem)(scope, receive, _with_standard_headers(send))
            return
        await self.app(scope, receive, _with_standard_headers(send))


def _with_standard_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            for name, value in _STANDARD_HEADERS:
                if name not in present:
                    headers.append((name, value))
            message = {**message, "headers": headers}
        await send(message)

    return sending
