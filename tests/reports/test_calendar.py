"""Jours ouvrés / ouvrables, Paris days and the QS-06 / QS-07 deadlines, checked by hand.

Calendars used below (Mon-first):
  April 2025: Fri 18 (Good Friday, a holiday only in Alsace-Moselle), Mon 21 Easter Monday.
  July 2025: Mon 14 July.  July 2027: Wed 14 July.
  May 2027: Sat 1 May, Thu 6 Ascension, Sat 8 May, Mon 17 Whit Monday.
  August 2026: Sat 15 August.  December 2025: Thu 25.  December 2027: Sat 25.
  DST 2025: Sun 30 March lasts 23 h, Sun 26 October lasts 25 h.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from reports.calendar import (
    day_bounds,
    day_length,
    holiday_name,
    is_jour_ouvrable,
    is_jour_ouvre,
    local_day,
    month_bounds,
    next_jour_ouvrable,
    nth_jour_ouvre_after,
    parse_month,
    qs06_due_before,
    qs07_due_before,
    shift_month,
)


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.mark.parametrize(("day", "ouvre", "ouvrable", "holiday"), [
    ("2025-04-18", True, True, None),              # Good Friday: not a holiday in metropolitan France
    ("2025-04-19", False, True, None),             # Saturday: ouvrable, not ouvré
    ("2025-04-20", False, False, None),            # Sunday
    ("2025-04-21", False, False, "Lundi de Pâques"),
    ("2025-05-29", False, False, "Ascension"),
    ("2025-06-09", False, False, "Lundi de Pentecôte"),
    ("2025-07-14", False, False, "Fête nationale"),
    ("2027-05-01", False, False, "Fête du Travail"),  # a Saturday that is not ouvrable
    ("2027-05-08", False, False, "Fête de la Victoire"),
    ("2026-08-15", False, False, "Assomption"),
    ("2025-12-25", False, False, "Noël"),
    ("2025-12-26", True, True, None),
    ("2026-01-01", False, False, "Jour de l'an"),
])
def test_day_kinds(day: str, ouvre: bool, ouvrable: bool, holiday: str | None) -> None:
    d = date.fromisoformat(day)
    assert is_jour_ouvre(d) is ouvre
    assert is_jour_ouvrable(d) is ouvrable
    assert holiday_name(d) == holiday


def test_alsace_moselle_has_good_friday_and_saint_etienne() -> None:
    assert is_jour_ouvre(date(2025, 4, 18), subdiv="57") is False
    assert is_jour_ouvre(date(2025, 12, 26), subdiv="57") is False


@pytest.mark.parametrize(("day", "expected"), [
    ("2025-04-18", "2025-04-19"),   # Fri → Sat
    ("2025-04-19", "2025-04-22"),   # Sat → (Sun, Mon 21 Easter Monday) → Tue
    ("2027-04-30", "2027-05-03"),   # Fri → (Sat 1 May, Sun) → Mon
    ("2027-05-05", "2027-05-07"),   # Wed → (Thu Ascension) → Fri
    ("2027-12-24", "2027-12-27"),   # Fri → (Sat Christmas, Sun) → Mon
])
def test_next_jour_ouvrable(day: str, expected: str) -> None:
    assert next_jour_ouvrable(date.fromisoformat(day)) == date.fromisoformat(expected)


@pytest.mark.parametrize(("day", "n", "expected"), [
    ("2025-04-18", 1, "2025-04-22"),  # Fri → (Sat, Sun, Mon Easter Monday) → Tue
    ("2025-04-18", 2, "2025-04-23"),
    ("2025-07-11", 2, "2025-07-16"),  # Fri → (Mon 14 July) → Tue 15, Wed 16
    ("2025-12-24", 2, "2025-12-29"),  # Wed → (Thu 25) → Fri 26, Mon 29
    ("2025-12-31", 2, "2026-01-05"),  # Wed → (Thu 1 Jan) → Fri 2, Mon 5
])
def test_nth_jour_ouvre_after(day: str, n: int, expected: str) -> None:
    assert nth_jour_ouvre_after(date.fromisoformat(day), n) == date.fromisoformat(expected)


def test_nth_jour_ouvre_rejects_zero() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        nth_jour_ouvre_after(date(2025, 1, 1), 0)


@pytest.mark.parametrize(("day", "hours", "start_utc"), [
    ("2025-03-29", 24, "2025-03-28T23:00:00+00:00"),
    ("2025-03-30", 23, "2025-03-29T23:00:00+00:00"),  # 02:00 CET → 03:00 CEST
    ("2025-03-31", 24, "2025-03-30T22:00:00+00:00"),
    ("2025-10-26", 25, "2025-10-25T22:00:00+00:00"),  # 03:00 CEST → 02:00 CET
    ("2025-10-27", 24, "2025-10-26T23:00:00+00:00"),
])
def test_paris_days_across_dst(day: str, hours: int, start_utc: str) -> None:
    d = date.fromisoformat(day)
    assert day_length(d) == timedelta(hours=hours)
    start, end = day_bounds(d)
    assert start == ts(start_utc)
    assert end - start == timedelta(hours=hours)


def test_month_bounds_follow_dst() -> None:
    # March 2025: 31 days, one of them 23 h → 743 h; October 2025: 31 days, one 25 h → 745 h.
    start, end = month_bounds(2025, 3)
    assert (end - start) == timedelta(hours=743)
    assert start == ts("2025-02-28T23:00:00+00:00")
    start, end = month_bounds(2025, 10)
    assert (end - start) == timedelta(hours=745)


def test_local_day_is_the_paris_day_not_the_utc_day() -> None:
    assert local_day(ts("2025-03-29T23:30:00+00:00")) == date(2025, 3, 30)  # 00:30 CET
    assert local_day(ts("2025-06-30T22:30:00+00:00")) == date(2025, 7, 1)   # 00:30 CEST
    with pytest.raises(ValueError, match="no UTC offset"):
        local_day(datetime(2025, 1, 1))


def test_month_helpers() -> None:
    assert parse_month("2025-04") == (2025, 4)
    for bad in ("2025-4", "2025-13", "april", "2025-04-01"):
        with pytest.raises(ValueError):
            parse_month(bad)
    assert shift_month(2025, 1, -1)[:2] == (2024, 12)
    assert shift_month(2025, 4, -12)[:2] == (2024, 4)


# QS-06: effective before the end of the next jour ouvrable after the request day.
@pytest.mark.parametrize(("requested", "due_before"), [
    ("2025-04-07T10:00:00+02:00", "2025-04-09T00:00:00+02:00"),  # Mon → Tue
    ("2025-04-07T23:59:59+02:00", "2025-04-09T00:00:00+02:00"),  # hour of the request is irrelevant
    ("2025-04-18T17:00:00+02:00", "2025-04-20T00:00:00+02:00"),  # Fri → Sat (ouvrable)
    ("2025-04-19T09:00:00+02:00", "2025-04-23T00:00:00+02:00"),  # Sat → Tue (Sun, Easter Monday)
    ("2025-07-12T09:00:00+02:00", "2025-07-16T00:00:00+02:00"),  # Sat → Tue (Sun, 14 July)
    ("2027-07-13T09:00:00+02:00", "2027-07-16T00:00:00+02:00"),  # Tue → Thu (Wed 14 July)
    ("2027-04-30T09:00:00+02:00", "2027-05-04T00:00:00+02:00"),  # Fri → Mon (Sat 1 May, Sun)
    ("2027-05-07T09:00:00+02:00", "2027-05-11T00:00:00+02:00"),  # Fri → Mon (Sat 8 May, Sun)
    ("2027-05-05T09:00:00+02:00", "2027-05-08T00:00:00+02:00"),  # Wed → Fri (Thu Ascension)
    ("2026-08-14T09:00:00+02:00", "2026-08-18T00:00:00+02:00"),  # Fri → Mon (Sat 15 Aug, Sun)
    ("2027-12-24T09:00:00+01:00", "2027-12-28T00:00:00+01:00"),  # Fri → Mon (Sat Christmas, Sun)
    ("2025-12-31T18:00:00+01:00", "2026-01-03T00:00:00+01:00"),  # Wed → Fri 2 Jan (New Year)
    # Sat 29 March 2025 23:30 CET; due end of Mon 31 March, which is CEST (+02:00).
    ("2025-03-29T23:30:00+01:00", "2025-04-01T00:00:00+02:00"),
    # Written in UTC: 2025-03-29T23:30Z is Sunday 30 March 00:30 CET in Paris → Mon 31.
    ("2025-03-29T23:30:00+00:00", "2025-04-01T00:00:00+02:00"),
])
def test_qs06_deadline(requested: str, due_before: str) -> None:
    assert qs06_due_before(ts(requested)) == ts(due_before)


def test_qs06_deadline_boundary_is_exclusive_midnight() -> None:
    due = qs06_due_before(ts("2025-04-07T10:00:00+02:00"))
    assert ts("2025-04-08T23:59:59.999999+02:00") < due
    assert ts("2025-04-08T21:59:59+00:00") < due      # same day, written in UTC
    assert not ts("2025-04-09T00:00:00+02:00") < due


def test_qs06_alsace_moselle_good_friday() -> None:
    # Thu 17 April 2025 → Fri 18 is Good Friday in Moselle → Sat 19.
    assert qs06_due_before(ts("2025-04-17T09:00:00+02:00"), subdiv="57") == ts("2025-04-20T00:00:00+02:00")
    assert qs06_due_before(ts("2025-04-17T09:00:00+02:00")) == ts("2025-04-19T00:00:00+02:00")


# QS-07: dossier updated before the end of the 2nd jour ouvré after the effective day.
@pytest.mark.parametrize(("effective", "due_before"), [
    ("2025-04-07T10:00:00+02:00", "2025-04-10T00:00:00+02:00"),  # Mon → Tue, Wed
    ("2025-04-07T00:00:01+02:00", "2025-04-10T00:00:00+02:00"),  # the effective day never counts
    ("2025-04-18T10:00:00+02:00", "2025-04-24T00:00:00+02:00"),  # Fri → (Easter Monday) Tue, Wed
    ("2025-04-19T10:00:00+02:00", "2025-04-24T00:00:00+02:00"),  # Sat → same Tue, Wed
    ("2025-07-11T10:00:00+02:00", "2025-07-17T00:00:00+02:00"),  # Fri → (14 July) Tue, Wed
    ("2027-04-30T10:00:00+02:00", "2027-05-05T00:00:00+02:00"),  # Fri → Mon 3, Tue 4 (Sat 1 May changes nothing)
    ("2027-05-04T10:00:00+02:00", "2027-05-08T00:00:00+02:00"),  # Tue → Wed 5, (Ascension), Fri 7
    ("2025-12-24T10:00:00+01:00", "2025-12-30T00:00:00+01:00"),  # Wed → (Christmas) Fri 26, Mon 29
    ("2025-12-31T10:00:00+01:00", "2026-01-06T00:00:00+01:00"),  # Wed → (1 Jan) Fri 2, Mon 5
    ("2025-10-24T23:30:00+02:00", "2025-10-29T00:00:00+01:00"),  # Fri → Mon 27, Tue 28; back to CET
    # 2025-10-23T22:30Z is Fri 24 October 00:30 CEST: counted from Friday, not Thursday.
    ("2025-10-23T22:30:00+00:00", "2025-10-29T00:00:00+01:00"),
    ("2025-03-28T12:00:00+01:00", "2025-04-02T00:00:00+02:00"),  # Fri → Mon 31, Tue 1 across DST
])
def test_qs07_deadline(effective: str, due_before: str) -> None:
    assert qs07_due_before(ts(effective)) == ts(due_before)


def test_qs07_alsace_moselle_saint_etienne() -> None:
    # Wed 24 Dec 2025 → Thu 25, Fri 26 (both holidays in Moselle) → Mon 29, Tue 30.
    assert qs07_due_before(ts("2025-12-24T10:00:00+01:00"), subdiv="57") == ts("2025-12-31T00:00:00+01:00")
