"""The FastAPI applications of the EU repositories system: a national system, and the hub.

Each node is its own process with its own store; these factories wire a service
(:class:`~packtrail.fmd.national.NationalSystem` or :class:`~packtrail.fmd.hub.Hub`)
to its routes and run its background work (outbox relay, bulk worker,
registration with the hub) for the life of the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.responses import Response

from packtrail.api.collector import settle_garbage_collector
from packtrail.api.fmd_http import BadRequest, respond
from packtrail.api.fmd_hub import hub_router
from packtrail.api.fmd_national import national_router
from packtrail.fmd.hub import Hub
from packtrail.fmd.national import NationalSystem

__all__ = ["create_hub_app", "create_national_app"]


def _install_handlers(app: FastAPI) -> None:
    async def bad_request(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return respond(exc.answer)

    app.add_exception_handler(BadRequest, bad_request)


def create_national_app(system: NationalSystem, *, clock_control: bool = False) -> FastAPI:
    """The HTTP app of the national system ``system`` (``/fmd/v1/…``)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await system.start()
        settle_garbage_collector()
        try:
            yield
        finally:
            await system.stop()

    app = FastAPI(
        title=f"packtrail national verification system ({system.market})",
        version="1.0.0",
        description="NMVS transactions G110 … G196 over JSON, alerts and the audit trail.",
        lifespan=lifespan,
        redoc_url=None,
    )
    _install_handlers(app)
    app.include_router(national_router(system, clock_control=clock_control))
    return app


def create_hub_app(hub: Hub, *, clock_control: bool = False) -> FastAPI:
    """The HTTP app of the EU hub (``/hub/v1/…``)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        settle_garbage_collector()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(
        title="packtrail EU hub",
        version="1.0.0",
        description="Uploads from manufacturers, routing between national systems, alert delivery.",
        lifespan=lifespan,
        redoc_url=None,
    )
    _install_handlers(app)
    app.include_router(hub_router(hub, clock_control=clock_control))
    return app
