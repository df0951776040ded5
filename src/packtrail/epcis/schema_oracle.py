"""GS1's EPCIS 2.0 JSON Schema, run as it is: the reference the fast validator is held to.

The ratified schema (``data/schema/epcis-json-schema.json``) is compiled once, on first
use, with ``fastjsonschema``, and given real checks for its two string formats (RFC 3986
``uri`` and RFC 3339 ``date-time``, from :mod:`packtrail.epcis.formats`): without them a
JSON Schema library lets ``"bizStep": "transforming"`` through, since the schema rejects
such a word only because it is no URI.

>>> from packtrail.epcis.schema_oracle import oracle_error
>>> event = {"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00+01:00",
...          "eventTimeZoneOffset": "+01:00", "action": "OBSERVE", "epcList": [],
...          "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"}
>>> oracle_error(event) is None
True
>>> oracle_error(event | {"bizStep": "transforming"}) is not None
True

It is slow (a few thousand events a second) and says only what it found first, so
:mod:`packtrail.epcis.fast_validator` does the everyday work; the tests hold the two to
the same verdicts, and :func:`oracle_issues` offers the official schema as a strict mode.

Two things are adapted to the JSON Schema specification, not to the schema: patterns are
ECMA-262 regular expressions, whose ``\\d`` means ASCII 0-9 (Python's would also take
other scripts' digits), so ``\\d`` becomes ``[0-9]`` before compiling; and the formats are
checked for real, as said above.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from typing import Any, Final

from packtrail.epcis.fast_validator import SCHEMA
from packtrail.epcis.formats import is_date_time, is_uri
from packtrail.epcis.issues import IssueCollector, describe, pointer_token

__all__ = ["FORMATS", "official_schema", "oracle_error", "oracle_event_error", "oracle_issues"]

FORMATS: Final[dict[str, Callable[[str], bool]]] = {"uri": is_uri, "date-time": is_date_time}
"""The format checks given to the JSON Schema library."""


def _ecma_patterns(node: Any) -> Any:
    """The schema with ``\\d`` in patterns read as ECMA-262 does (ASCII digits only)."""
    if isinstance(node, dict):
        return {
            key: (
                value.replace("\\d", "[0-9]")
                if key == "pattern" and isinstance(value, str)
                else _ecma_patterns(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ecma_patterns(item) for item in node]
    return node


def official_schema() -> dict[str, Any]:
    """A copy of GS1's ratified EPCIS 2.0 JSON Schema (the vendored file, parsed)."""
    return copy.deepcopy(SCHEMA)


@cache
def _compiled(root: str | None, fast_fail: bool) -> Callable[[Any], Any]:
    import fastjsonschema  # imported on use: only the oracle needs it

    schema = _ecma_patterns(SCHEMA)
    if root is not None:
        schema = {
            "$schema": schema["$schema"],
            "$id": schema["$id"],
            "definitions": schema["definitions"],
            "$ref": f"#/definitions/{root}",
        }
    validate: Callable[[Any], Any] = fastjsonschema.compile(
        schema, formats=FORMATS, use_default=False, fast_fail=fast_fail
    )
    return validate


def oracle_error(document: Any) -> str | None:
    """None when the official schema accepts ``document`` (parsed JSON), else its first complaint."""
    import fastjsonschema

    try:
        _compiled(None, True)(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        return exc.message
    return None


def oracle_event_error(event: Any) -> str | None:
    """Like :func:`oracle_error` for one event of a document's ``eventList``."""
    import fastjsonschema

    try:
        _compiled("EPCIS-Document-Event", True)(event)
    except fastjsonschema.JsonSchemaValueException as exc:
        return exc.message
    return None


def _pointer(path: list[str]) -> str:
    """fastjsonschema's ``data.epcisBody.eventList[3]`` path as a JSON pointer (best effort:
    member names holding ``.`` or ``[`` cannot be told apart in its notation)."""
    return "".join("/" + pointer_token(part) for part in path[1:])


def oracle_issues(document: Any, out: IssueCollector) -> None:
    """Validate with the official schema and report everything it finds (the slow strict mode).

    The messages are the library's; ``if``/``then`` and ``anyOf`` failures are reported as it
    sees them, which is less precise than :mod:`packtrail.epcis.fast_validator`.
    """
    import fastjsonschema

    try:
        _compiled(None, False)(document)
    except fastjsonschema.JsonSchemaValuesException as exc:
        for error in exc.errors:
            out.error("schema", _pointer(error.path), error.message, found=describe(error.value))
    except fastjsonschema.JsonSchemaValueException as exc:  # pragma: no cover - fast_fail=False collects
        out.error("schema", _pointer(exc.path), exc.message, found=describe(exc.value))
