"""The errors of :mod:`packtrail.packaging`: one hierarchy under :class:`PackagingError`.

Each error names the field that is wrong and what was expected, so a line operator (or the
``packtrail line`` command, which prints it and exits with status 2) can fix the input:

>>> error = PackagingError("case_size", "expected a whole number from 1 to 10,000, got 0")
>>> print(error)
case_size: expected a whole number from 1 to 10,000, got 0
>>> error.field
'case_size'
"""

from __future__ import annotations

__all__ = ["LineCaptureError", "PackagingError", "SSCCCapacityError"]


class PackagingError(ValueError):
    """A field of a packaging request is invalid: a GTIN, lot, expiry, GLN, count or reason."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        """The field that is wrong (``gtin``, ``lot``, ``expiry``, ``line``, ``case_size``…)."""
        self.reason = reason
        """What is wrong with it and what was expected."""
        super().__init__(f"{field}: {reason}")


class SSCCCapacityError(PackagingError):
    """The serial references of a GS1 Company Prefix and extension digit are used up.

    An SSCC is extension digit + company prefix + serial reference + check digit: 17 digits before
    the check digit, so a 7-digit prefix leaves 9 digits (10^9 SSCCs per extension digit)."""

    def __init__(self, company_prefix: str, extension_digit: str, requested: int, left: int) -> None:
        self.company_prefix = company_prefix
        self.extension_digit = extension_digit
        self.requested = requested
        self.left = left
        """How many serial references are still free."""
        super().__init__(
            "count",
            f"{requested:,} SSCCs requested but only {left:,} serial references are left for company prefix "
            f"{company_prefix} with extension digit {extension_digit}; use another extension digit",
        )


class LineCaptureError(Exception):
    """The repository refused events of a line run (nothing of that document was stored).

    Documents captured before it stay stored; ``captured`` says how many events that is."""

    def __init__(self, message: str, *, problems: list[str], captured: int) -> None:
        self.problems = problems
        """The reasons the repository gave (first ones), as text."""
        self.captured = captured
        """Events of the run stored before the refused document."""
        super().__init__(message + ("" if not problems else ": " + "; ".join(problems[:5])))
