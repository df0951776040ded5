"""What validation reports: one issue per problem, bounded, with where, expected and found.

Each layer of validation (GS1's JSON Schema, the XML Schemas, the rules schemas cannot
express) reports :class:`ValidationIssue` objects into an :class:`IssueCollector`,
which keeps the first ``max_issues`` and counts the rest; a :class:`ValidationReport`
is the result:

>>> from packtrail.epcis.issues import IssueCollector
>>> out = IssueCollector(max_issues=2)
>>> out.error("schema", "/epcisBody/eventList/0/action", "action must be ADD, OBSERVE or DELETE",
...           expected="ADD, OBSERVE or DELETE", found="'OBSERV'")
>>> out.warning("rules", "/epcisBody/eventList/0/quantityList/0/uom", "deprecated unit code",
...             expected="a current UN/ECE Rec 20 code", found="'NPR'")
>>> out.error("rules", "/epcisBody/eventList/1/parentID", "parentID is missing")
>>> report = out.report()
>>> report.valid, report.error_count, report.warning_count, report.omitted
(False, 2, 1, 1)
>>> print(report.issues[0])
error [schema] at /epcisBody/eventList/0/action: action must be ADD, OBSERVE or DELETE \
(expected ADD, OBSERVE or DELETE, found 'OBSERV')

Warnings do not make a document invalid; errors do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "DEFAULT_MAX_ISSUES",
    "IssueCollector",
    "Layer",
    "Severity",
    "ValidationIssue",
    "ValidationReport",
    "describe",
    "pointer_token",
]

Layer: TypeAlias = Literal["schema", "xsd", "rules"]
"""Which check found the issue: GS1's JSON Schema, the XML Schema (XSD), or the EPCIS/CBV rules."""
Severity: TypeAlias = Literal["error", "warning"]
"""``error``: the document breaks the standard; ``warning``: allowed, but probably a mistake."""

DEFAULT_MAX_ISSUES: Final = 1000
"""How many issues a report keeps unless told otherwise; the rest are only counted."""


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem found in a document: which layer, where, what, expected and found."""

    layer: Layer
    """The layer that found it: ``"schema"``, ``"xsd"`` or ``"rules"``."""
    pointer: str
    """Where: a JSON pointer (``/epcisBody/eventList/3/epcList/0``) or, for the XSD layer, an XPath."""
    reason: str
    """What is wrong, in words a packaging or supply-chain engineer understands."""
    expected: str | None = None
    """What the standard expects there, when that can be said briefly."""
    found: str | None = None
    """What the document has there instead (``"nothing"`` when a field is missing)."""
    severity: Severity = "error"
    """``"error"`` or ``"warning"``."""

    def __str__(self) -> str:
        text = f"{self.severity} [{self.layer}] at {self.pointer or '/'}: {self.reason}"
        details = []
        if self.expected is not None:
            details.append(f"expected {self.expected}")
        if self.found is not None:
            details.append(f"found {self.found}")
        if details:
            text += f" ({', '.join(details)})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The issue as a JSON-ready dict (for ``--json`` output and APIs)."""
        return {
            "layer": self.layer,
            "severity": self.severity,
            "pointer": self.pointer,
            "reason": self.reason,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of validating one document."""

    valid: bool
    """True when no layer found an error (warnings allowed)."""
    issues: tuple[ValidationIssue, ...] = ()
    """The first ``max_issues`` issues, in the order found (document order within a layer)."""
    omitted: int = 0
    """How many more issues were found and not kept."""
    error_count: int = 0
    """Errors found in all (kept and omitted)."""
    warning_count: int = 0
    """Warnings found in all (kept and omitted)."""
    layers: tuple[Layer, ...] = ()
    """The layers that ran."""
    events: int = 0
    """How many events were validated."""

    @property
    def errors(self) -> tuple[ValidationIssue, ...]:
        """The kept issues of severity ``error``."""
        return tuple(issue for issue in self.issues if issue.severity == "error")

    @property
    def warnings(self) -> tuple[ValidationIssue, ...]:
        """The kept issues of severity ``warning``."""
        return tuple(issue for issue in self.issues if issue.severity == "warning")

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "valid": self.valid,
            "events": self.events,
            "layers": list(self.layers),
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "omitted": self.omitted,
            "issues": [issue.to_dict() for issue in self.issues],
        }

    def __str__(self) -> str:
        head = "valid" if self.valid else "invalid"
        lines = [
            f"{head}: {self.error_count} error(s), {self.warning_count} warning(s) in {self.events} event(s)"
        ]
        lines.extend(str(issue) for issue in self.issues)
        if self.omitted:
            lines.append(f"... and {self.omitted} more")
        return "\n".join(lines)


@dataclass(slots=True)
class IssueCollector:
    """Collects issues from every layer: keeps the first ``max_issues``, counts all."""

    max_issues: int = DEFAULT_MAX_ISSUES
    """How many issues to keep."""
    issues: list[ValidationIssue] = field(default_factory=list)
    """The kept issues."""
    errors: int = 0
    """Errors seen (kept or not)."""
    warnings: int = 0
    """Warnings seen (kept or not)."""

    def add(self, issue: ValidationIssue) -> None:
        """Count an issue, and keep it while there is room."""
        if issue.severity == "error":
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.issues) < self.max_issues:
            self.issues.append(issue)

    def error(
        self,
        layer: Layer,
        pointer: str,
        reason: str,
        *,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        """Report an error."""
        self.errors += 1
        if len(self.issues) < self.max_issues:
            self.issues.append(ValidationIssue(layer, pointer, reason, expected, found, "error"))

    def warning(
        self,
        layer: Layer,
        pointer: str,
        reason: str,
        *,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        """Report a warning."""
        self.warnings += 1
        if len(self.issues) < self.max_issues:
            self.issues.append(ValidationIssue(layer, pointer, reason, expected, found, "warning"))

    @property
    def total(self) -> int:
        """Issues seen in all."""
        return self.errors + self.warnings

    @property
    def full(self) -> bool:
        """True once no more issues will be kept (they are still counted)."""
        return len(self.issues) >= self.max_issues

    def report(self, layers: tuple[Layer, ...] = (), events: int = 0) -> ValidationReport:
        """The report of what was collected."""
        return ValidationReport(
            valid=self.errors == 0,
            issues=tuple(self.issues),
            omitted=self.total - len(self.issues),
            error_count=self.errors,
            warning_count=self.warnings,
            layers=layers,
            events=events,
        )


def pointer_token(key: str | int) -> str:
    """A member name or index as a JSON pointer token (RFC 6901: ``~`` -> ``~0``, ``/`` -> ``~1``).

    >>> pointer_token("https://ns.example.com/epcis/note"), pointer_token(3)
    ('https:~1~1ns.example.com~1epcis~1note', '3')
    """
    if isinstance(key, int):
        return str(key)
    if "~" in key or "/" in key:
        return key.replace("~", "~0").replace("/", "~1")
    return key


def describe(value: Any, limit: int = 60) -> str:
    """A short description of a JSON value for the ``found`` part of an issue.

    >>> describe("shipping"), describe(5), describe(True), describe(None), describe([1, 2]), describe({})
    ("'shipping'", 'the number 5', 'true', 'null', 'an array', 'an object')
    """
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= limit else text[: limit - 4] + "...'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
