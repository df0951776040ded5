"""The HTTP interface of a packtrail node: one FastAPI app per node, routers per capability.

:func:`create_app` builds the EPCIS 2.0 application (GS1's REST bindings under ``/epcis``, serial
numbers under ``/serials/v1``) over a :class:`~packtrail.store.Store`; :class:`APISettings` holds what
it announces and enforces (capture limits, page sizes, API keys or OAuth2 tokens). ``packtrail serve``
runs it with uvicorn. The EU FMD nodes (``/fmd/v1``, ``/hub/v1``) are built by
:mod:`packtrail.api.fmd_app`.

The names are imported on first use, so a process that serves only one capability (an FMD node)
does not load the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from packtrail.api.app import app_from_environment, create_app
    from packtrail.api.problems import Problem
    from packtrail.api.settings import APISettings

__all__ = ["APISettings", "Problem", "app_from_environment", "create_app"]

_HOMES = {
    "APISettings": "packtrail.api.settings",
    "Problem": "packtrail.api.problems",
    "app_from_environment": "packtrail.api.app",
    "create_app": "packtrail.api.app",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'packtrail.api' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
