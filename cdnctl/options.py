"""Option values shared by several commands, parsed the same way everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cdnctl.errors import CdnctlError, Exit

PARIS = ZoneInfo("Europe/Paris")


def parse_at(value: str | None, option: str = "--at") -> datetime:
    """An instant option: ISO 8601; without an offset the time is read in Europe/Paris
    (the contract's clock); None means now."""
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise CdnctlError(f"{option} {value!r} is not ISO 8601 (e.g. 2027-04-25T21:00:00+02:00)",
                          Exit.USAGE) from None
    return at.replace(tzinfo=PARIS) if at.tzinfo is None else at
