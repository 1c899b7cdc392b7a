"""QS-01..QS-07 on hand-built registers; every expected figure is worked out in a comment.

April 2025 in Paris is 30 days of CEST (+02:00): 30 × 86,400 = 2,592,000 s.
QS-02 passes iff available × 10,000 > 9,999 × measured (> 99.99 %), so April allows
less than 2,592,000 / 10,000 = 259.2 s of unavailability.

The arithmetic cases run on sites watched by probes without a gap from 2024 to 2026
(``WATCHED``) and on complete log days (``ALL_DAYS``); the coverage tests at the end take
those away.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from reports.qs import (
    Observations,
    ProbeSpan,
    RequestTimes,
    clip,
    log_coverage,
    merge,
    probe_outages,
    probe_spans,
    qs01,
    qs03,
    qs04,
    qs05,
    qs06,
    qs07,
    qs_report,
    request_times,
    subtract,
)
from reports.qs import (
    qs02 as qs02_observed,
)
from reports.registers import Change, DetectedBy, Impact, Incident, Probe

APRIL = 2_592_000
LATER = datetime.fromisoformat("2025-06-15T00:00:00+02:00")
WATCHED = [ProbeSpan(s, datetime.fromisoformat("2024-01-01T00:00:00+01:00"),
                     datetime.fromisoformat("2026-01-01T00:00:00+01:00"), 1_051_200) for s in ("a.fr", "b.fr")]
ALL_DAYS = {s: {date(2025, 1, 1) + timedelta(days=n) for n in range(365)} for s in ("a.fr", "b.fr")}


def qs02(*args: object, **kwargs: object) -> object:
    """QS-02 on sites watched all the time (the arithmetic cases)."""
    kwargs.setdefault("spans", WATCHED)
    return qs02_observed(*args, **kwargs)  # type: ignore[arg-type]


def ts(value: str) -> datetime:
    if "T" in value and "+" not in value[10:] and not value.endswith("Z"):
        value += "+02:00"  # April–October in these tests: CEST
    return datetime.fromisoformat(value)


def inc(id_: str, start: str, end: str | None, impact: str = "full", site: str = "a.fr", *,
        detected: str | None = None, by: str = "provider", notified: str | None = None,
        responsible: bool = True, planned: bool = False) -> Incident:
    return Incident(id_, site, ts(start), ts(detected or start), DetectedBy(by), Impact(impact),
                    notified_at=ts(notified) if notified else None, resolved_at=ts(end) if end else None,
                    provider_responsible=responsible, planned_maintenance=planned)


def probes(site: str, start: str, results: str) -> list[Probe]:
    """One probe a minute from ``start``: '.' ok, 'x' failed."""
    t0 = ts(start)
    return [Probe(site, t0 + timedelta(minutes=i), c == ".") for i, c in enumerate(results)]


# --- interval helpers ---------------------------------------------------------------------


def test_interval_helpers() -> None:
    t = [ts(f"2025-04-01T{h:02d}:00:00") for h in range(10)]
    assert merge([(t[3], t[5]), (t[1], t[2]), (t[2], t[3]), (t[6], t[7]), (t[4], t[4])]) == [
        (t[1], t[5]), (t[6], t[7])]  # touching intervals join; empty ones vanish
    assert subtract([(t[1], t[8])], [(t[2], t[3]), (t[5], t[6]), (t[7], t[9])]) == [
        (t[1], t[2]), (t[3], t[5]), (t[6], t[7])]
    assert clip([(t[0], t[3]), (t[5], t[6])], t[2], t[5]) == [(t[2], t[3])]


def test_probe_outages() -> None:
    # x x . → [10:00, 10:02) = 120 s; x . → [10:30, 10:31) = 60 s; failure at 11:00 then the
    # next probe (ok) only at 13:00 → 90 s (the cap); b.fr's last probe failed, none after → 90 s.
    runs = probe_outages(probes("a.fr", "2025-04-01T10:00:00", "xx.")
                         + probes("a.fr", "2025-04-01T10:30:00", "x.")
                         + [Probe("a.fr", ts("2025-04-01T11:00:00"), False), Probe("a.fr", ts("2025-04-01T13:00:00"), True)]
                         + probes("b.fr", "2025-04-01T10:00:00", ".x"))
    assert [(r.site, r.start.strftime("%H:%M"), (r.end - r.start).total_seconds()) for r in runs] == [
        ("a.fr", "10:00", 120), ("a.fr", "10:30", 60), ("a.fr", "11:00", 90), ("b.fr", "10:01", 90)]
    assert runs[0].id == "probes:a.fr@2025-04-01T10:00:00+02:00"


# --- QS-01 --------------------------------------------------------------------------------


def test_request_times_aggregates_per_paris_day() -> None:
    rows = [("a.fr", ts("2025-03-31T22:30:00+00:00"), 1.999),   # 00:30 CEST on 1 April: fast
            ("a.fr", ts("2025-04-01T10:00:00"), 2.0),           # exactly 2 s is not < 2 s
            ("a.fr", ts("2025-04-01T11:00:00"), None),          # no time taken: not timed
            ("b.fr", ts("2025-04-01T11:00:00"), 0.1)]
    assert request_times(rows) == [RequestTimes("a.fr", date(2025, 4, 1), 3, 2, 1),
                                   RequestTimes("b.fr", date(2025, 4, 1), 1, 1, 1)]


def test_qs01() -> None:
    times = [RequestTimes("a.fr", date(2025, 4, 1), 1000, 1000, 900),   # 90.0 % (passes: ≥ 90)
             RequestTimes("a.fr", date(2025, 4, 2), 1010, 1000, 899),   # 89.9 %, 10 untimed
             RequestTimes("b.fr", date(2025, 4, 2), 100, 100, 100),
             RequestTimes("a.fr", date(2025, 3, 31), 5, 5, 0)]          # March: ignored
    a = qs01(times, 2025, 4, "a.fr", log_days=ALL_DAYS)
    # (900 + 899) / 2000 = 1799 / 2000 = 89.95 % < 90 → fail
    assert (a.value, a.passed, a.extra["requests"], a.extra["timed"]) == (89.95, False, 2010, 2000)
    assert [(d["id"], d["passed"]) for d in a.details] == [("2025-04-01", True), ("2025-04-02", False)]
    assert a.note == "10 request(s) without a time taken are not counted"
    # overall: (900 + 899 + 100) / 2100 = 1899 / 2100 = 90.428… % → pass
    overall = qs01(times, 2025, 4, log_days=ALL_DAYS)
    assert overall.value == pytest.approx(1899 * 100 / 2100) and overall.passed is True
    empty = qs01([], 2025, 4, log_days=ALL_DAYS)
    assert (empty.value, empty.passed, empty.status) == (None, None, "not_measured")


# --- QS-02 --------------------------------------------------------------------------------

QS02_CASES = [
    # (name, incidents, probes, expected unavailable s, expected measured s)
    ("nothing", [], [], 0, APRIL),
    ("259 s passes", [inc("I", "2025-04-03T10:00:00", "2025-04-03T10:04:19")], [], 259, APRIL),
    ("260 s fails", [inc("I", "2025-04-03T10:00:00", "2025-04-03T10:04:20")], [], 260, APRIL),
    ("259.2 s is exactly 99.99 %: fails",
     [inc("I", "2025-04-03T10:00:00", "2025-04-03T10:04:19.200000")], [], 259.2, APRIL),
    # incident [10:00, 11:00) ∪ probes failing 10:30..11:29, ok at 11:30 → [10:00, 11:30) = 5400, not 7200
    ("overlap merged", [inc("I", "2025-04-03T10:00:00", "2025-04-03T11:00:00")],
     probes("a.fr", "2025-04-03T10:30:00", "x" * 60 + "."), 5400, APRIL),
    ("partial counts as available", [inc("I", "2025-04-03T12:00:00", "2025-04-03T14:00:00", "partial")], [], 0, APRIL),
    ("impact none", [inc("I", "2025-04-03T12:00:00", "2025-04-03T14:00:00", "none")], [], 0, APRIL),
    # maintenance [02:00, 04:00) excluded (7200 s); outage [03:00, 05:00) keeps only [04:00, 05:00) = 3600
    ("maintenance excluded",
     [inc("M", "2025-04-05T02:00:00", "2025-04-05T04:00:00", planned=True),
      inc("I", "2025-04-05T03:00:00", "2025-04-05T05:00:00")], [], 3600, APRIL - 7200),
    # not the provider's fault: [08:00, 09:00) excluded, and the probe failures inside it too
    ("origin outage excluded",
     [inc("O", "2025-04-06T08:00:00", "2025-04-06T09:00:00", responsible=False)],
     probes("a.fr", "2025-04-06T08:00:00", "x" * 60 + "."), 0, APRIL - 3600),
    # 31 March 23:00 → 1 April 01:00: only [00:00, 01:00) is April
    ("clipped at month start", [inc("I", "2025-03-31T23:00:00", "2025-04-01T01:00:00")], [], 3600, APRIL),
    # 30 April 23:30 → 1 May 00:30: only 1800 s in April
    ("clipped at month end", [inc("I", "2025-04-30T23:30:00", "2025-05-01T00:30:00")], [], 1800, APRIL),
    # still open: counts until the end of the month (as_of is later) → 2 h
    ("open incident", [inc("I", "2025-04-30T22:00:00", None)], [], 7200, APRIL),
    ("other site", [inc("I", "2025-04-03T10:00:00", "2025-04-03T11:00:00", site="b.fr")], [], 0, APRIL),
    ("all sites", [inc("I", "2025-04-03T10:00:00", "2025-04-03T11:00:00", site="*")], [], 3600, APRIL),
    # two outages of the same incident window counted once: same window twice
    ("duplicate windows", [inc("I", "2025-04-03T10:00:00", "2025-04-03T11:00:00"),
                           inc("J", "2025-04-03T10:00:00", "2025-04-03T11:00:00")], [], 3600, APRIL),
]


@pytest.mark.parametrize(("name", "incidents", "probe_list", "down", "measured"), QS02_CASES,
                         ids=[c[0] for c in QS02_CASES])
def test_qs02_month(name: str, incidents: list[Incident], probe_list: list[Probe], down: float,
                    measured: int) -> None:
    ind = qs02(["a.fr"], incidents, probe_list, 2025, 4, LATER)
    assert ind.extra["unavailable_s"] == down
    assert ind.extra["measured_s"] == measured
    assert ind.value == pytest.approx((measured - down) * 100 / measured)
    assert ind.passed is ((measured - down) * 10000 > 9999 * measured)


def test_qs02_boundary_values() -> None:
    # 259 s: (2,592,000 − 259) / 2,592,000 = 99.990007…% → pass; 260 s → 99.989969…% → fail
    ok = qs02(["a.fr"], QS02_CASES[1][1], [], 2025, 4, LATER)
    ko = qs02(["a.fr"], QS02_CASES[2][1], [], 2025, 4, LATER)
    assert (round(ok.value, 6), ok.passed) == (99.990008, True)
    assert (round(ko.value, 6), ko.passed) == (99.989969, False)
    assert ok.extra["allowed_unavailable_s"] == 259.2


def test_qs02_details_daily_and_year() -> None:
    incidents = [inc("I", "2025-04-03T10:00:00", "2025-04-03T11:00:00"),
                 inc("P", "2025-04-04T10:00:00", "2025-04-04T11:00:00", "partial"),
                 inc("M", "2025-04-05T02:00:00", "2025-04-05T04:00:00", planned=True),
                 inc("Q", "2025-03-30T01:00:00+01:00", "2025-03-30T04:00:00+02:00")]  # 2 h real time
    ind = qs02(["a.fr"], incidents, probes("a.fr", "2025-04-03T10:30:00", "xx."), 2025, 4, LATER)
    assert [(d["id"], d["effect"], d["seconds_in_month"], d["passed"]) for d in ind.details] == [
        ("I", "unavailable", 3600, False),
        ("probes:a.fr@2025-04-03T10:30:00+02:00", "unavailable", 120, False),  # inside I: merged
        ("P", "available", 3600, True),
        ("M", "excluded", 7200, True)]
    assert ind.extra["unavailable_s"] == 3600
    assert ind.extra["outages"] == [{"start": "2025-04-03T10:00:00+02:00", "end": "2025-04-03T11:00:00+02:00",
                                     "seconds": 3600}]
    daily = {d["day"]: d for d in ind.extra["daily"]}
    assert len(daily) == 30
    # 3 April: (86,400 − 3,600) / 86,400 = 95.8333… %
    assert daily["2025-04-03"]["availability"] == pytest.approx(82800 * 100 / 86400)
    assert daily["2025-04-03"]["passed"] is False and daily["2025-04-04"]["availability"] == 100
    # 5 April: maintenance 2 h excluded → measured 86,400 − 7,200 = 79,200 s, all available
    assert (daily["2025-04-05"]["measured_s"], daily["2025-04-05"]["availability"]) == (79200, 100)
    # Year to date 1 Jan → 1 May 2025: 120 days − 1 h (30 March) = 10,364,400 s, less 7,200 maintenance
    # = 10,357,200 measured; unavailable Q 7,200 (30 March 01:00 CET → 04:00 CEST is 2 h) + I 3,600 = 10,800
    ytd = ind.extra["year_to_date"]
    assert (ytd["measured_s"], ytd["unavailable_s"]) == (10_357_200, 10_800)
    assert ytd["availability"] == pytest.approx((10_357_200 - 10_800) * 100 / 10_357_200)


def test_qs02_march_has_743_hours_and_daily_23h() -> None:
    ind = qs02(["a.fr"], [inc("Q", "2025-03-30T01:00:00+01:00", "2025-03-30T04:00:00+02:00")], [], 2025, 3, LATER)
    assert ind.extra["measured_s"] == 743 * 3600 == 2_674_800
    day = next(d for d in ind.extra["daily"] if d["day"] == "2025-03-30")
    assert day["measured_s"] == 23 * 3600 and day["unavailable_s"] == 7200
    oct_ = qs02(["a.fr"], [], [], 2025, 10, ts("2026-01-01T00:00:00+01:00"))
    assert oct_.extra["measured_s"] == 745 * 3600


def test_qs02_month_in_progress_and_overall() -> None:
    # as_of 10 April 00:00 → 9 days measured = 777,600 s; daily rows only for 1–9 April
    ind = qs02(["a.fr"], [], [], 2025, 4, ts("2025-04-10T00:00:00"))
    assert ind.extra["measured_s"] == 777_600 and len(ind.extra["daily"]) == 9
    # Two sites, a.fr down 1 h: (2 × 2,592,000 − 3,600) / 5,184,000 = 99.930555… %
    overall = qs02(["a.fr", "b.fr"], [inc("I", "2025-04-03T10:00:00", "2025-04-03T11:00:00")], [], 2025, 4, LATER)
    assert overall.extra["measured_s"] == 5_184_000 and overall.extra["unavailable_s"] == 3600
    assert overall.value == pytest.approx(5_180_400 * 100 / 5_184_000)
    # A "*" incident counts on every site: 2 × 3,600
    star = qs02(["a.fr", "b.fr"], [inc("I", "2025-04-03T10:00:00", "2025-04-03T11:00:00", site="*")], [], 2025, 4,
                LATER)
    assert star.extra["unavailable_s"] == 7200
    assert qs02([], [], [], 2025, 4, LATER).passed is None


# --- QS-03 .. QS-05 -----------------------------------------------------------------------


def test_qs03_counts_and_flags_the_fifth() -> None:
    incidents = [inc(f"I{n}", f"2025-04-{n + 1:02d}T10:00:00", f"2025-04-{n + 1:02d}T11:00:00") for n in range(5)]
    incidents += [inc("M", "2025-04-20T02:00:00", "2025-04-20T03:00:00", planned=True),
                  inc("O", "2025-04-21T02:00:00", "2025-04-21T03:00:00", responsible=False),
                  inc("MAR", "2025-03-31T23:00:00", "2025-04-01T01:00:00")]   # started in March
    ind = qs03(incidents, 2025, 4, "a.fr")
    assert (ind.value, ind.passed) == (5, False)
    assert [(d["id"], d["rank"], d["passed"]) for d in ind.details] == [
        ("I0", 1, True), ("I1", 2, True), ("I2", 3, True), ("I3", 4, True), ("I4", 5, False),
        ("M", None, True), ("O", None, True)]
    assert (qs03(incidents[:4], 2025, 4).value, qs03(incidents[:4], 2025, 4).passed) == (4, True)
    assert qs03(incidents, 2025, 4, "b.fr").value == 0
    # A "*" incident: once overall, once for each site
    star = [inc("S", "2025-04-03T10:00:00", "2025-04-03T11:00:00", site="*")]
    assert qs03(star, 2025, 4).value == 1 and qs03(star, 2025, 4, "b.fr").value == 1


def test_qs04_restore_time() -> None:
    incidents = [
        inc("A", "2025-04-03T10:00:00", "2025-04-03T13:59:59"),    # 14,399 s < 14,400 → on time
        inc("B", "2025-04-04T10:00:00", "2025-04-04T14:00:00"),    # exactly 4 h is not < 4 h → late
        inc("C", "2025-04-05T10:00:00", "2025-04-06T10:00:00", "none"),  # nothing to restore
        inc("D", "2025-04-30T22:00:00", None),                      # open; due 1 May 02:00
        inc("M", "2025-04-07T01:00:00", "2025-04-07T09:00:00", planned=True),
    ]
    ind = qs04(incidents, 2025, 4, ts("2025-05-01T01:59:59"))
    assert [(d["id"], d["applicable"], d["restore_s"], d["passed"]) for d in ind.details] == [
        ("A", True, 14399, True), ("B", True, 14400, False), ("C", False, 86400, True),
        ("M", False, 28800, True), ("D", True, None, None)]
    # decided: A on time, B late → 1 / 2 = 50 %; fails because of B
    assert (ind.value, ind.passed, ind.extra) == (50, False, {"on_time": 1, "late": 1, "pending": 1})
    assert ind.details[-1]["due_before"] == "2025-05-01T02:00:00+02:00"
    # At 02:00 the open incident is late too: 1 / 3
    later = qs04(incidents, 2025, 4, ts("2025-05-01T02:00:00"))
    assert later.details[-1]["passed"] is False and later.value == pytest.approx(100 / 3)
    # only pending → undecided
    only_open = qs04([incidents[3]], 2025, 4, ts("2025-05-01T01:00:00"))
    assert (only_open.value, only_open.passed, only_open.status) == (None, None, "pending")
    # Nothing to restore is "n/a", never a pass (was "conforme" with no record at all)
    none = qs04([], 2025, 4, LATER)
    assert (none.value, none.passed, none.status, none.note) == (None, None, "n/a", "no incident to restore")
    assert qs04([incidents[2], incidents[4]], 2025, 4, LATER).status == "n/a"  # not applicable ones only


def test_qs04_across_dst_uses_real_hours() -> None:
    # 30 March 2025 01:00 CET → 05:30 CEST is 3 h 30 of real time (the wall clock says 4 h 30)
    ind = qs04([inc("E", "2025-03-30T01:00:00+01:00", "2025-03-30T05:30:00+02:00")], 2025, 3, LATER)
    assert (ind.details[0]["restore_s"], ind.passed) == (12600, True)


def test_qs05_notification() -> None:
    incidents = [
        inc("F", "2025-04-03T09:00:00", "2025-04-03T11:00:00", detected="2025-04-03T10:00:00",
            notified="2025-04-03T14:00:00"),                  # exactly 4 h after detection: within
        inc("G", "2025-04-04T10:00:00", "2025-04-04T11:00:00", notified="2025-04-04T14:00:01"),  # 4 h 0 min 1 s
        inc("H", "2025-04-05T10:00:00", "2025-04-05T11:00:00", by="administration"),  # not QS-05's
        inc("J", "2025-04-06T10:00:00", "2025-04-06T11:00:00"),                       # never notified
        inc("K", "2025-04-07T10:00:00", "2025-04-07T11:00:00", responsible=False,
            notified="2025-04-07T10:30:00"),                  # origin outage seen by the provider: counts
    ]
    ind = qs05(incidents, 2025, 4, LATER)
    assert [(d["id"], d["notification_s"], d["passed"]) for d in ind.details] == [
        ("F", 14400, True), ("G", 14401, False), ("J", None, False), ("K", 1800, True)]
    assert (ind.value, ind.passed) == (50, False)  # 2 of 4


# --- QS-06, QS-07 -------------------------------------------------------------------------


def change(id_: str, requested: str, effective: str | None, dossier: str | None, site: str = "a.fr") -> Change:
    return Change(id_, site, ts(requested), ts(effective) if effective else None, ts(dossier) if dossier else None)


def test_qs06_and_qs07() -> None:
    changes = [
        # requested Fri 18 Apr → due end of Sat 19; effective Sat 23:59 → on time.
        # effective Sat 19 → dossier due end of Wed 23 (Mon 21 Easter Monday): Wed 18:00 → on time
        change("C1", "2025-04-18T16:00:00", "2025-04-19T23:59:00", "2025-04-23T18:00:00"),
        # requested Sat 19 → due end of Tue 22; effective Wed 23 00:00 → late.
        # effective Wed 23 → due end of Fri 25; dossier Sat 26 → late
        change("C2", "2025-04-19T09:00:00", "2025-04-23T00:00:00", "2025-04-26T09:00:00"),
        # requested Wed 30 Apr → due end of Fri 2 May (Thu 1 May); not effective at as_of 2 May → pending
        change("C3", "2025-04-30T09:00:00", None, None),
        # requested in March, effective 1 April → QS-07 only: due end of Thu 3; not updated at as_of → pending
        change("C4", "2025-03-31T09:00:00", "2025-04-01T10:00:00", None),
        change("B1", "2025-04-08T09:00:00", "2025-04-08T10:00:00", "2025-04-08T11:00:00", site="b.fr"),
    ]
    as_of = ts("2025-05-02T12:00:00")
    q6 = qs06(changes, 2025, 4, as_of, "a.fr")
    assert [(d["id"], d["due_before"], d["passed"]) for d in q6.details] == [
        ("C1", "2025-04-20T00:00:00+02:00", True), ("C2", "2025-04-23T00:00:00+02:00", False),
        ("C3", "2025-05-03T00:00:00+02:00", None)]
    assert (q6.value, q6.passed, q6.extra["pending"]) == (50, False, 1)
    q7 = qs07(changes, 2025, 4, as_of, "a.fr")
    assert [(d["id"], d["due_before"], d["passed"]) for d in q7.details] == [
        ("C4", "2025-04-04T00:00:00+02:00", False),   # as_of is after the deadline: late
        ("C1", "2025-04-24T00:00:00+02:00", True), ("C2", "2025-04-26T00:00:00+02:00", False)]
    assert q7.value == pytest.approx(100 / 3) and q7.passed is False
    b = qs06(changes, 2025, 4, as_of, "b.fr")
    assert (b.value, b.passed, [d["id"] for d in b.details]) == (100, True, ["B1"])
    assert len(qs06(changes, 2025, 4, as_of).details) == 4   # overall: every site
    pending = qs06([changes[2]], 2025, 4, as_of)
    assert (pending.passed, pending.status, pending.note) == (None, "pending", "1 pending")
    assert qs07([], 2025, 4, as_of).note == "no change took effect"


# --- the report ---------------------------------------------------------------------------


def test_qs_report_shape_and_history() -> None:
    incidents = [inc("I", "2025-04-03T10:00:00", "2025-04-03T11:00:00"),
                 inc("Y", "2024-04-03T10:00:00", "2024-04-03T10:01:00")]
    report = qs_report(2025, 4, ["a.fr", "b.fr"], incidents, [], [], as_of=LATER,
                       seen=Observations(WATCHED, ALL_DAYS))
    data = report.to_json()
    assert [i["id"] for i in data["indicators"]] == [f"QS-0{n}" for n in range(1, 8)]
    assert set(data["per_site"]) == {"a.fr", "b.fr"}
    assert data["history"][0]["month"] == "2024-04" and len(data["history"]) == 13
    q3 = [h["indicators"][2]["value"] for h in data["history"]]
    assert q3[0] == 1 and q3[-1] == 1 and sum(q3) == 2
    # 3,600 s down on a.fr only: QS-02 fails overall and on a.fr, passes on b.fr
    assert data["indicators"][1]["passed"] is False
    assert [s["passed"] for s in data["per_site"]["b.fr"]][1] is True
    site = qs_report(2025, 4, [], incidents, [], [], as_of=LATER, site="a.fr", with_history=False,
                     seen=Observations(WATCHED, ALL_DAYS))
    assert site.sites == ["a.fr"] and site.per_site == {} and site.history == []
    for ind in site.to_json()["indicators"]:
        for d in ind["details"]:
            assert "id" in d and "passed" in d


# --- coverage: missing data is never a pass --------------------------------------------------


def minutes(site: str, start: str, n: int, fail_at: range = range(0)) -> list[Probe]:
    t0 = ts(start)
    return [Probe(site, t0 + timedelta(minutes=i), i not in fail_at) for i in range(n)]


def test_probe_spans_split_on_gaps_longer_than_the_interval() -> None:
    t0 = ts("2025-04-01T10:00:00")
    at = [t0 + timedelta(seconds=s) for s in (0, 60, 150, 241)]  # gaps 60, 90 (kept), 91 (split)
    spans = probe_spans([Probe("a.fr", a, True) for a in at] + [Probe("b.fr", t0, False)])
    assert [(s.site, (s.start - t0).total_seconds(), (s.end - t0).total_seconds(), s.probes) for s in spans] == [
        ("a.fr", 0, 240, 3), ("a.fr", 241, 331, 1), ("b.fr", 0, 90, 1)]


def test_qs02_without_any_probe_is_not_measured() -> None:
    ind = qs02_observed(["a.fr"], [], [], 2025, 4, LATER)
    assert (ind.value, ind.passed, ind.status) == (None, None, "not_measured")
    assert ind.note == "not measured: no probe result and no incident record in the month"
    assert ind.extra["coverage"]["share"] == 0 and ind.extra["coverage"]["probes"] == 0
    assert all(d["passed"] is None and d["coverage"] == 0 for d in ind.extra["daily"])


def test_qs02_two_days_of_probes_in_thirty_is_not_measured() -> None:
    # Probes every minute on 1–2 April only (2 × 1,440), plus a 1 h full incident on 10 April.
    # Observed = the span [1 Apr 00:00, 2 Apr 23:59 + 90 s) = 172,830 s, + 3,600 s (the
    # incident is an observation of its own window) = 176,430 s.
    probe_list = minutes("a.fr", "2025-04-01T00:00:00", 2880)
    ind = qs02_observed(["a.fr"], [inc("I", "2025-04-10T10:00:00", "2025-04-10T11:00:00")], probe_list,
                        2025, 4, LATER)
    cov = ind.extra["coverage"]
    assert (cov["observed_s"], cov["probes"], cov["period_s"]) == (176_430, 2880, APRIL)
    assert (ind.passed, ind.status) == (None, "not_measured")
    assert ind.value == pytest.approx((176_430 - 3600) * 100 / 176_430)
    assert ind.extra["worst_case"] == pytest.approx((176_430 - 3600) * 100 / APRIL)
    assert ind.note == ("not measured: probes and incident records cover 6.8% of the month "
                        "(at least 95% needed)")
    # the longest unobserved window: 10 April 11:00 → 1 May 00:00
    longest = max(ind.extra["coverage"]["longest_unobserved"], key=lambda g: g["seconds"])
    assert (longest["start"], longest["end"]) == ("2025-04-10T11:00:00+02:00", "2025-05-01T00:00:00+02:00")


def test_qs02_one_unobserved_day_is_judged_and_said() -> None:
    # Probes every minute except on 15 April: observed 29 days + 90 s (the 14 April 23:59 probe
    # stands until 00:00:30 on 15 April... it stands 90 s, so 30 s into the 15th).
    probe_list = (minutes("a.fr", "2025-04-01T00:00:00", 14 * 1440)
                  + minutes("a.fr", "2025-04-16T00:00:00", 15 * 1440))
    ind = qs02_observed(["a.fr"], [], probe_list, 2025, 4, LATER)
    observed = 29 * 86_400 + 30   # the last probe of 30 April 23:59 is cut at the month's end
    assert ind.extra["coverage"]["observed_s"] == observed
    assert (ind.value, ind.passed, ind.status) == (100, True, "pass")
    assert ind.note == f"observed {observed / APRIL:.2%} of the month"
    day15 = next(d for d in ind.extra["daily"] if d["day"] == "2025-04-15")
    assert (day15["measured_s"], day15["passed"]) == (30, None)


def test_qs02_probe_failures_need_the_spans_of_every_probe() -> None:
    # What the store hands over: the failures and first recoveries, and the spans of all probes.
    probe_list = minutes("a.fr", "2025-04-01T00:00:00", 30 * 1440, fail_at=range(600, 605))
    failures = [p for i, p in enumerate(probe_list) if 600 <= i <= 605]
    full = qs02_observed(["a.fr"], [], probe_list, 2025, 4, LATER)
    split = qs02_observed(["a.fr"], [], failures, 2025, 4, LATER, spans=probe_spans(probe_list))
    assert full.extra["unavailable_s"] == split.extra["unavailable_s"] == 300
    assert full.to_json() == split.to_json()


def test_history_months_without_probes_are_not_measured() -> None:
    # Probes only in April 2025: the 12 months before are not measured, not "100 % conforme".
    spans = [ProbeSpan("a.fr", ts("2025-04-01T00:00:00"), ts("2025-05-01T00:00:00"), 43_200)]
    report = qs_report(2025, 4, ["a.fr"], [], [], [], as_of=LATER, site="a.fr",
                       seen=Observations(spans, ALL_DAYS))
    q2 = [h["indicators"][1] for h in report.history]
    assert [(q["status"], q["value"]) for q in q2] == [("not_measured", None)] * 12 + [("pass", 100)]


def test_log_coverage_counts_expected_days_from_the_first_file() -> None:
    april = {date(2025, 4, d) for d in range(1, 31)}
    got = log_coverage({"a.fr": {date(2025, 4, d) for d in range(1, 8)},          # 7 of 30 days
                        "b.fr": {d for d in april if d.day >= 15 and d.day != 20}},  # from the 15th, 20th missing
                       ["a.fr", "b.fr", "c.fr"], 2025, 4, LATER)
    a, b, c = (got["sites"][s] for s in ("a.fr", "b.fr", "c.fr"))  # type: ignore[index]
    assert (a["expected_days"], a["days_with_logs"], len(a["missing_days"])) == (30, 7, 23)
    assert (b["expected_days"], b["days_with_logs"], b["missing_days"], b["before_first_day"]) == (
        16, 15, ["2025-04-20"], 14)
    assert (c["expected_days"], c["days_with_logs"], c["first_day"]) == (30, 0, None)  # never a file
    assert (got["expected_days"], got["days_with_logs"], got["enough"]) == (76, 22, False)
    # in the middle of the month only the days already over are due
    mid = log_coverage({"a.fr": april}, ["a.fr"], 2025, 4, ts("2025-04-10T08:00:00"))
    assert (mid["expected_days"], mid["complete"]) == (9, True)


def test_qs01_on_seven_days_of_thirty_is_not_measured() -> None:
    times = [RequestTimes("a.fr", date(2025, 4, d), 100, 100, 100) for d in range(1, 8)]
    week = {"a.fr": {date(2025, 4, d) for d in range(1, 8)}}
    ind = qs01(times, 2025, 4, "a.fr", LATER, week)
    assert (ind.value, ind.passed, ind.status) == (100, None, "not_measured")
    assert ind.note == "not measured: logs cover 7 of 30 day(s) expected (at least 95% needed)"
    # 29 of 30 days: judged, and the gap said
    most = {"a.fr": {date(2025, 4, d) for d in range(1, 31) if d != 12}}
    ind = qs01(times, 2025, 4, "a.fr", LATER, most)
    assert (ind.passed, ind.note) == (True, "logs cover 29 of 30 day(s)")
    assert ind.extra["coverage"]["sites"]["a.fr"]["missing_days"] == ["2025-04-12"]  # type: ignore[index]
    # without file coverage, the days with requests stand in, and the coverage says so
    assert qs01(times, 2025, 4, "a.fr", LATER).extra["coverage"]["source"] == "records"  # type: ignore[index]


def test_month_verdict_ignores_na_and_is_undecided_when_not_measured() -> None:
    full = qs_report(2025, 4, ["a.fr"], [], [], [], as_of=LATER, site="a.fr", with_history=False,
                     times=[RequestTimes("a.fr", date(2025, 4, 1), 10, 10, 10)],
                     seen=Observations(WATCHED, ALL_DAYS))
    assert [i.status for i in full.indicators] == ["pass", "pass", "pass", "n/a", "n/a", "n/a", "n/a"]
    assert (full.passed, full.not_measured) == (True, [])
    blind = qs_report(2025, 4, ["a.fr", "b.fr"], [], [], [], as_of=LATER)
    assert blind.passed is None
    assert blind.not_measured == ["QS-01", "QS-02", "QS-01 a.fr", "QS-02 a.fr", "QS-01 b.fr", "QS-02 b.fr"]
