"""The one error type of :mod:`packtrail.epcis`.

Every reader in this package either returns a document (or event) or raises
:class:`EPCISError`. The error says what was wrong and where: a JSON pointer
(RFC 6901) for JSON-LD input, an XPath-like path for XML input.

>>> from packtrail.epcis.errors import EPCISError
>>> err = EPCISError("an event must be a JSON object", pointer="/epcisBody/eventList/3",
...                  expected="object", found="string")
>>> str(err)
'at /epcisBody/eventList/3: an event must be a JSON object (expected object, found string)'
>>> err.pointer
'/epcisBody/eventList/3'
>>> isinstance(err, ValueError)
True
>>> str(EPCISError("the document is empty"))
'the document is empty'
"""

from __future__ import annotations

__all__ = ["EPCISError"]


class EPCISError(ValueError):
    """An EPCIS document (or event) that cannot be read: the reason, and where.

    It subclasses :class:`ValueError` so callers that only know the standard
    library still catch it.
    """

    reason: str
    """What is wrong, in words a supply-chain engineer understands."""
    pointer: str | None
    """Where: a JSON pointer (``/epcisBody/eventList/0/eventTime``) or an XPath, when known."""
    expected: str | None
    """What the standard expects at that place (``"a JSON object"``, ``"ObjectEvent"``), when known."""
    found: str | None
    """What was found instead, when known."""

    def __init__(
        self,
        reason: str,
        *,
        pointer: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.reason = reason
        self.pointer = pointer
        self.expected = expected
        self.found = found
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = f"at {self.pointer or '/'}: {self.reason}" if self.pointer is not None else self.reason
        details = []
        if self.expected is not None:
            details.append(f"expected {self.expected}")
        if self.found is not None:
            details.append(f"found {self.found}")
        if details:
            text += f" ({', '.join(details)})"
        return text
