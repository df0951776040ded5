"""The EPCIS 2.0 REST application: GS1's REST bindings over a :class:`~packtrail.store.Store`.

>>> from packtrail.store import open_store
>>> from packtrail.api import APISettings, create_app
>>> app = create_app(open_store("sqlite:///:memory:"), APISettings())  # doctest: +SKIP

Everything EPCIS lives under ``/epcis`` (``/epcis/capture``, ``/epcis/events``, ``/epcis/queries``,
``/epcis/eventTypes``…) so the node can serve other APIs beside it; ``/openapi.json`` and
``/docs`` describe it. Routers, one per area: :mod:`~packtrail.api.epcis_capture`,
:mod:`~packtrail.api.epcis_events`, :mod:`~packtrail.api.epcis_queries`,
:mod:`~packtrail.api.epcis_resources` and, when present, :mod:`~packtrail.api.subscriptions`.
Handlers only translate HTTP to store calls (run in the thread pool); the rules live in the store.

``packtrail serve`` runs :func:`app_from_environment` under uvicorn (a factory, so every worker
process opens its own store): ``PACKTRAIL_DB`` names the store, ``PACKTRAIL_*`` the settings.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI

from packtrail.api.auth import Authenticator
from packtrail.api.collector import settle_garbage_collector
from packtrail.api.headers import GS1HeadersMiddleware
from packtrail.api.openapi import PREFIX, install_openapi
from packtrail.api.problems import install_problem_handlers
from packtrail.api.settings import APISettings

if TYPE_CHECKING:
    from packtrail.store import Store

__all__ = ["DB_ENVIRONMENT_VARIABLE", "app_from_environment", "create_app"]

log = logging.getLogger("packtrail.api")

DB_ENVIRONMENT_VARIABLE = "PACKTRAIL_DB"
"""The store URL :func:`app_from_environment` opens (``sqlite:///packtrail.db`` when unset)."""

DESCRIPTION = """\
An EPCIS 2.0 repository speaking GS1's REST bindings: capture (JSON-LD and XML), the complete
SimpleEventQuery, named queries and subscriptions. Every call but `OPTIONS` needs
`Authorization: Bearer <API key or OAuth2 access token>`; each caller sees the events it captured and
those naming it as owning or possessing party.
"""


def _subscriptions_router() -> APIRouter | None:
    """The subscription routes of :mod:`packtrail.api.subscriptions`, when that module exists."""
    try:
        module = importlib.import_module("packtrail.api.subscriptions")
    except ModuleNotFoundError as error:
        if error.name != "packtrail.api.subscriptions":
            raise
        return None
    router = getattr(module, "router", None)
    return router if isinstance(router, APIRouter) else None


def create_app(store: Store, settings: APISettings | None = None) -> FastAPI:
    """The REST application serving ``store`` under ``/epcis``."""
    from packtrail.api import epcis_capture, epcis_events, epcis_queries, epcis_resources

    settings = settings or APISettings()
    app = FastAPI(
        title="packtrail EPCIS 2.0 repository",
        version="2.0.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.authenticator = Authenticator(store, settings)
    install_problem_handlers(app)
    for module in (epcis_capture, epcis_events, epcis_queries, epcis_resources):
        app.include_router(module.router, prefix=PREFIX)
    subscriptions = _subscriptions_router()
    if subscriptions is not None:
        app.include_router(subscriptions, prefix=PREFIX)
    from packtrail.api import lifecycle, serials
    from packtrail.lifecycle import attach

    app.include_router(serials.router)  # its own /serials/v1 prefix, beside /epcis
    attach(store)  # captures through this app keep each pack's lifecycle projection
    app.include_router(lifecycle.router)  # /lifecycle/v1: trace and recall reach
    install_openapi(app)
    app.add_middleware(GS1HeadersMiddleware, prefix=PREFIX, max_url_length=lambda: settings.max_url_length)
    return app


def app_from_environment() -> FastAPI:
    """The app for ``uvicorn --factory``: the store at ``$PACKTRAIL_DB``, settings from ``PACKTRAIL_*``.

    While the server runs it also delivers webhook subscriptions (one dispatcher per process; set
    ``PACKTRAIL_DELIVER_SUBSCRIPTIONS=0`` on all but one worker). The store is closed when the
    server shuts down."""
    from packtrail.store import open_store

    store = open_store(os.environ.get(DB_ENVIRONMENT_VARIABLE) or None)
    settings = APISettings.from_env()
    app = create_app(store, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settle_garbage_collector()
        try:
            if settings.deliver_subscriptions:
                from packtrail.api.subscriptions import subscription_delivery

                async with subscription_delivery(app):
                    yield
            else:
                yield
        finally:
            store.close()

    app.router.lifespan_context = lifespan
    return app
