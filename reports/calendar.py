"""French working-day calendar in Europe/Paris: jours ouvrés, jours ouvrables, deadlines.

- *jour ouvrable*: Monday to Saturday, French public holidays excluded (QS-06);
- *jour ouvré*: Monday to Friday, French public holidays excluded (QS-07).

Public holidays are metropolitan France's (the ``holidays`` package, country FR);
Alsace-Moselle's extra days (Good Friday, 26 December) apply with ``subdiv="57"``.

Days are Europe/Paris civil days: a day runs from local midnight to the next local
midnight, so the last Sunday of March lasts 23 h and the last Sunday of October 25 h.
Paris changes the clock at 02:00/03:00, never at midnight, so local midnight always
exists exactly once and is a safe day boundary.

Deadlines are **exclusive instants** (``due_before``): something done at ``t`` is on time
iff ``t < due_before``. "No later than the end of day D" is therefore ``t <`` midnight
starting D + 1, which keeps 23:59:59.999 of D on time and 00:00:00 of D + 1 late, with
no rounding to seconds anywhere.

Counting "after" a day never counts that day itself, whatever the hour (French
administrative practice: *le jour de l'événement ne compte pas*):

- QS-06, :func:`qs06_due_before`: the change requested on day R must be effective before
  the end of the first jour ouvrable strictly after R. Requested Friday → end of
  Saturday; requested Saturday or Sunday → end of Monday (or the next jour ouvrable when
  Monday is a holiday).
- QS-07, :func:`qs07_due_before`: "within 2 jours ouvrés after the change took effect"
  means before the end of the 2nd jour ouvré strictly after the effective day E. A change
  effective Friday 10:00 gives Monday (1st) and Tuesday (2nd): due before Wednesday
  00:00. Effective Saturday or Sunday gives the same Tuesday. It is not "48 working
  hours": the effective hour does not matter, only the effective day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")

SATURDAY = 5
SUNDAY = 6


@lru_cache(maxsize=8)
def _holidays(subdiv: str | None) -> holidays.HolidayBase:
    # The object extends itself to any year it is asked about.
    return holidays.country_holidays("FR", subdiv=subdiv, language="fr")


def holiday_name(day: date, subdiv: str | None = None) -> str | None:
    """The French public holiday on ``day`` (French name), or None."""
    return _holidays(subdiv).get(day)


def is_holiday(day: date, subdiv: str | None = None) -> bool:
    return day in _holidays(subdiv)


def is_jour_ouvrable(day: date, subdiv: str | None = None) -> bool:
    """Monday–Saturday and not a public holiday."""
    return day.weekday() != SUNDAY and not is_holiday(day, subdiv)


def is_jour_ouvre(day: date, subdiv: str | None = None) -> bool:
    """Monday–Friday and not a public holiday."""
    return day.weekday() < SATURDAY and not is_holiday(day, subdiv)


def next_jour_ouvrable(day: date, subdiv: str | None = None) -> date:
    """The first jour ouvrable strictly after ``day``."""
    d = day + timedelta(days=1)
    while not is_jour_ouvrable(d, subdiv):
        d += timedelta(days=1)
    return d


def nth_jour_ouvre_after(day: date, n: int, subdiv: str | None = None) -> date:
    """The ``n``-th jour ouvré strictly after ``day`` (n ≥ 1)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    d = day
    while n:
        d += timedelta(days=1)
        if is_jour_ouvre(d, subdiv):
            n -= 1
    return d


# --- Europe/Paris civil days -------------------------------------------------------------


def ensure_aware(ts: datetime) -> datetime:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{ts.isoformat()} has no UTC offset")
    return ts


def local_day(ts: datetime) -> date:
    """The Europe/Paris calendar day of an instant."""
    return ensure_aware(ts).astimezone(PARIS).date()


def day_start(day: date) -> datetime:
    """Local midnight opening ``day``, as an aware UTC instant."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


def day_end(day: date) -> datetime:
    """Exclusive end of ``day``: the local midnight opening the next day (UTC instant)."""
    return day_start(day + timedelta(days=1))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    return day_start(day), day_end(day)


def day_length(day: date) -> timedelta:
    """23 h, 24 h or 25 h: aware arithmetic in UTC sees the clock change."""
    start, end = day_bounds(day)
    return end - start


def days(first: date, last: date) -> Iterator[date]:
    """Every day from ``first`` to ``last`` inclusive."""
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def parse_month(value: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month); ValueError when malformed."""
    try:
        year_s, month_s = value.split("-")
        if len(year_s) != 4 or len(month_s) != 2:
            raise ValueError
        year, month = int(year_s), int(month_s)
    except ValueError:
        raise ValueError(f"{value!r} is not a month (YYYY-MM)") from None
    if not 1 <= month <= 12 or year < 1970:
        raise ValueError(f"{value!r} is not a month (YYYY-MM)")
    return year, month


def month_first_day(year: int, month: int) -> date:
    return date(year, month, 1)


def month_last_day(year: int, month: int) -> date:
    return shift_month(year, month, 1)[2] - timedelta(days=1)


def shift_month(year: int, month: int, delta: int) -> tuple[int, int, date]:
    """The month ``delta`` months away: (year, month, its first day)."""
    index = year * 12 + (month - 1) + delta
    y, m = divmod(index, 12)
    return y, m + 1, date(y, m + 1, 1)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """[first local midnight of the month, first local midnight of the next month) in UTC."""
    return day_start(month_first_day(year, month)), day_end(month_last_day(year, month))


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def in_month(ts: datetime, year: int, month: int) -> bool:
    d = local_day(ts)
    return (d.year, d.month) == (year, month)


# --- QS deadlines ------------------------------------------------------------------------


def qs06_due_before(requested_at: datetime, subdiv: str | None = None) -> datetime:
    """Exclusive deadline for a change requested at ``requested_at`` (end of the next jour ouvrable)."""
    return day_end(next_jour_ouvrable(local_day(requested_at), subdiv))


def qs07_due_before(effective_at: datetime, subdiv: str | None = None) -> datetime:
    """Exclusive deadline for the dossier update: end of the 2nd jour ouvré after the effective day."""
    return day_end(nth_jour_ouvre_after(local_day(effective_at), 2, subdiv))


def paris_iso(ts: datetime) -> str:
    """An instant written in Europe/Paris time with its offset, as reports show it."""
    return ensure_aware(ts).astimezone(PARIS).isoformat()
