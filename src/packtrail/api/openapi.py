"""The served OpenAPI: FastAPI's description of our routes, with GS1's parameters documented.

The routes read the SimpleEventQuery parameters from the query string themselves (there are
dozens, and families with variable names such as ``EQ_bizTransaction_po``), so FastAPI cannot
see them. :func:`gs1_openapi` adds, to every operation that GS1's REST bindings also define, the
parameters GS1's OpenAPI lists for it (``EQ_bizStep``, ``GE_eventTime``, ``GS1-EPC-Format``...),
with their schemas. The source is GS1's ``openapi.json`` vendored in ``data/`` (see
``data/NOTICE.md``).

>>> names = [p["name"] for p in gs1_parameters("/events", "get")]
>>> "EQ_bizStep" in names and "MATCH_anyEPC" in names and "GS1-EPC-Format" in names
True
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

__all__ = ["gs1_document", "gs1_openapi", "gs1_parameters", "install_openapi"]

PREFIX: Final = "/epcis"

_SKIPPED_PARAMETERS: Final = frozenset({"Upgrade", "Connection"})
"""Parameters left out: the WebSocket handshake headers (documented by the subscription routes)."""


@cache
def gs1_document() -> dict[str, Any]:
    """GS1's EPCIS 2.0 OpenAPI (``openapi.json`` of the REST bindings, vendored unchanged)."""
    text = resources.files("packtrail.api").joinpath("data/epcis-openapi.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _schema_refs(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in found:
                found.add(name)
                _schema_refs(gs1_document()["components"]["schemas"].get(name), found)
        for item in value.values():
            _schema_refs(item, found)
    elif isinstance(value, list):
        for item in value:
            _schema_refs(item, found)


def _usable(parameter: dict[str, Any]) -> bool:
    """False for parameters whose schema Python cannot use (GS1's schedule patterns are Ruby regexes)."""
    schema = parameter.get("schema", {})
    text = json.dumps(schema)
    return "\\\\g<" not in text and parameter.get("name") not in _SKIPPED_PARAMETERS


def gs1_parameters(path: str, method: str) -> list[dict[str, Any]]:
    """The parameters GS1's OpenAPI gives ``method`` on ``path`` (path-level ones included), resolved
    from ``#/components/parameters`` (their schemas still point into ``#/components/schemas``)."""
    document = gs1_document()
    item = document["paths"].get(path)
    if not isinstance(item, dict) or method not in item:
        return []
    components = document["components"]["parameters"]
    found: list[dict[str, Any]] = []
    for entry in [*item.get("parameters", []), *item[method].get("parameters", [])]:
        if "$ref" in entry:
            entry = components.get(entry["$ref"].rsplit("/", 1)[1], {})
        if entry and _usable(entry):
            found.append(copy.deepcopy(entry))
    return found


def _gs1_path(ours: str) -> str:
    path = ours[len(PREFIX) :] if ours.startswith(PREFIX) else ours
    return path or "/"


def _merge(operation: dict[str, Any], extra: list[dict[str, Any]]) -> None:
    parameters = operation.setdefault("parameters", [])
    present = {(p.get("name"), p.get("in")) for p in parameters}
    for parameter in extra:
        key = (parameter.get("name"), parameter.get("in"))
        if key in present:
            continue
        if parameter.get("in") == "path":
            continue  # ours are declared by the route (same names)
        present.add(key)
        parameters.append(parameter)


def gs1_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI of ``app`` with GS1's parameters and their schemas added."""
    schema = get_openapi(
        title="packtrail EPCIS 2.0 repository",
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=gs1_document().get("tags"),
    )
    needed: set[str] = set()
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            extra = gs1_parameters(_gs1_path(path), method)
            _schema_refs(extra, needed)
            _merge(operation, extra)
            if not operation.get("parameters"):
                operation.pop("parameters", None)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    gs1_schemas = gs1_document()["components"]["schemas"]
    for name in sorted(needed):
        if name in gs1_schemas and name not in components:
            components[name] = copy.deepcopy(gs1_schemas[name])
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`gs1_openapi` at ``app.openapi_url`` (computed once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = gs1_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
