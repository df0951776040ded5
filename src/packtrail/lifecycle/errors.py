"""The errors of :mod:`packtrail.lifecycle`: one base class, so callers catch one type.

>>> from packtrail.lifecycle.errors import IdentifierError, LifecycleError
>>> issubclass(IdentifierError, LifecycleError)
True
"""

from __future__ import annotations

__all__ = ["IdentifierError", "LifecycleError", "NotFoundError"]


class LifecycleError(Exception):
    """Something the lifecycle projection, a trace or a recall reach cannot do; the message says why."""


class IdentifierError(LifecycleError, ValueError):
    """A text that names no product or logistic unit (no SGTIN, SSCC or other EPC can be read from it).

    ``field`` names the input (``identifier``, ``gtin``, ``lot``) the message is about."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class NotFoundError(LifecycleError, LookupError):
    """No event (that the viewer may see) names the identifier."""
