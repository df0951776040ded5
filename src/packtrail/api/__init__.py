"""The EPCIS 2.0 REST interface of a packtrail node (GS1's REST bindings, under ``/epcis``).

:func:`create_app` builds the FastAPI application over a :class:`~packtrail.store.Store`;
:class:`APISettings` holds what it announces and enforces (capture limits, page sizes, API keys
or OAuth2 tokens). ``packtrail serve`` runs it with uvicorn.
"""

from __future__ import annotations

from packtrail.api.app import app_from_environment, create_app
from packtrail.api.problems import Problem
from packtrail.api.settings import APISettings

__all__ = ["APISettings", "Problem", "app_from_environment", "create_app"]
