"""The one error type of :mod:`packtrail.gs1`.

Every parser in this package either returns a fully valid value or raises
:class:`GS1Error`. The error says, in words a packaging engineer understands,
what was wrong, and carries where it was found:

>>> from packtrail.gs1.errors import GS1Error
>>> err = GS1Error("check digit should be 2, found 3", ai="01", position=2, value="09506000134353")
>>> str(err)
"AI (01) at position 2: check digit should be 2, found 3 (in '09506000134353')"
>>> err.ai, err.position
('01', 2)
"""

from __future__ import annotations

__all__ = ["GS1Error"]


class GS1Error(ValueError):
    """Invalid GS1 data: the reason, and where it was found.

    It subclasses :class:`ValueError` so callers that only know the standard
    library still catch it.
    """

    reason: str
    """What is wrong, and what was expected instead."""
    ai: str | None
    """The Application Identifier whose data is wrong, when one is known."""
    position: int | None
    """Zero-based offset into the input where the problem starts, when known."""
    value: str | None
    """The input (or the part of it) that was rejected."""

    def __init__(
        self,
        reason: str,
        *,
        ai: str | None = None,
        position: int | None = None,
        value: str | None = None,
    ) -> None:
        self.reason = reason
        self.ai = ai
        self.position = position
        self.value = value
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.ai is not None:
            where.append(f"AI ({self.ai})")
        if self.position is not None:
            where.append(f"at position {self.position}")
        text = f"{' '.join(where)}: {self.reason}" if where else self.reason
        if self.value is not None:
            text += f" (in {self.value!r})"
        return text
