"""Errors and warnings as values, each pinned to a place in a policy file."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    location: Location
    message: str
    code: str  # stable identifier for CI filters, e.g. "duplicate-selector"

    def __str__(self) -> str:
        return f"{self.location}: {self.severity.value}: {self.message} [{self.code}]"

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "message": self.message,
            "code": self.code,
        }


def error(loc: Location, code: str, message: str) -> Diagnostic:
    return Diagnostic(Severity.ERROR, loc, message, code)


def warning(loc: Location, code: str, message: str) -> Diagnostic:
    return Diagnostic(Severity.WARNING, loc, message, code)


class PolicyError(Exception):
    """Raised when a policy cannot be used; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity is Severity.ERROR]
        super().__init__(f"{len(errors)} error(s) in policy")
