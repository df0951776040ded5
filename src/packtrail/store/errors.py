"""The errors of the EPCIS repository: one hierarchy under :class:`StoreError`.

The REST layer maps each to an RFC 7807 problem with the EPCIS exception type named in its docstring:

>>> err = CaptureLimitError("max_events", 10)
>>> isinstance(err, StoreError), err.limit_name, err.limit
(True, 'max_events', 10)
>>> str(QueryParameterError("EQ_bizStep", "expected a URI"))
'EQ_bizStep: expected a URI'
"""

from __future__ import annotations

__all__ = [
    "CaptureFormatError",
    "CaptureLimitError",
    "DuplicateNameError",
    "ImplementationError",
    "NoSuchNameError",
    "NoSuchSubscriptionError",
    "QueryParameterError",
    "QueryTooLargeError",
    "StoreError",
    "SubscriptionControlsError",
]


class StoreError(Exception):
    """Base of every error raised by :mod:`packtrail.store`."""


class CaptureFormatError(StoreError):
    """The capture document cannot be read (not JSON-LD / EPCIS XML, or malformed); nothing was stored.

    REST: ``400``, ``epcisException:ValidationException``."""


class CaptureLimitError(StoreError):
    """The capture document exceeds a configured limit (event count or bytes); nothing was stored.

    REST: ``413``, ``epcisException:CaptureLimitExceededException``."""

    def __init__(self, limit_name: str, limit: int, message: str | None = None) -> None:
        self.limit_name = limit_name
        """Which limit: ``"max_events"`` (GS1-EPCIS-Capture-Limit) or ``"max_bytes"`` (…-File-Size-Limit)."""
        self.limit = limit
        """The configured limit that was exceeded."""
        super().__init__(message or f"capture exceeds {limit_name}={limit}")


class QueryParameterError(StoreError):
    """A query parameter is unknown, malformed or has a value of the wrong type.

    REST: ``400``, ``epcisException:QueryParameterException``."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        """The offending parameter's name, as given (``EQ_bizStep``, ``GE_eventTime``…)."""
        self.message = message
        """What was expected and what was found."""
        super().__init__(f"{param}: {message}")


class QueryTooLargeError(StoreError):
    """More events match than the query's ``maxEventCount`` allows.

    REST: ``413``, ``epcisException:QueryTooLargeException``."""


class NoSuchNameError(StoreError):
    """No named query of that name (or not visible to the caller).

    REST: ``404``, ``epcisException:NoSuchNameException``."""


class NoSuchSubscriptionError(StoreError):
    """No subscription with that id (or not visible to the caller).

    REST: ``404``, ``epcisException:NoSuchSubscriptionException``."""


class SubscriptionControlsError(StoreError):
    """Subscription controls are invalid: bad schedule, destination URI or options.

    REST: ``400``, ``epcisException:SubscribeNotPermittedException`` / ``InvalidURIException``."""


class DuplicateNameError(StoreError):
    """A named query (or subscription) with that name already exists.

    REST: ``409``."""


class ImplementationError(StoreError):
    """The repository failed in a way the caller cannot fix.

    REST: ``500``, ``epcisException:ImplementationException``."""
