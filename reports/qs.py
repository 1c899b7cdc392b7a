"""QS-01..QS-07 (SPEC §6): pure functions from records to indicators, per month, per site or overall.

Every indicator has a value, a target, pass/fail, and the records that justify it, each
with its own ``id`` and ``passed``. ``passed`` is ``None`` when it cannot be decided yet
(no data, or a deadline still running at ``as_of``). All clocks are Europe/Paris; a
record belongs to the month of its Paris day.

Choices made where SPEC §6 leaves room (also in README):

- Which incidents count (QS-03, QS-04): those the provider is responsible for and that
  are not planned maintenance, by the Paris month of ``started_at``. Others are listed
  with the reason they do not count. An incident whose ``site`` is ``*`` counts for
  every site, and once overall.
- QS-02 availability of a site over a period = available / (available + unavailable),
  where the period is the month (up to ``as_of`` while it runs), less the *excluded*
  windows: approved planned maintenance (any impact) and full outages the provider is
  not responsible for (so probe failures during them do not count either).
  Unavailable = union of the full-impact incidents (``started_at`` → ``resolved_at``, or
  ``as_of`` while open) and the probe outages, less the excluded windows. Overlaps are
  merged, never added. Partial impact counts as available. Overall = the sum over sites
  of available time / the sum of measured time (site-time).
- Probe outages: a run of consecutive failed probes of a site is unavailable from its
  first failure to the next successful probe, but at most ``probe_interval`` (60 s, the
  cron period) after its last failure, so a stopped prober never invents downtime.
- QS-04 restore time = ``resolved_at − started_at`` (24/7 calendar time, from when the
  service broke, not from detection), on time iff < 4 h. Incidents without service
  impact (``impact: none``) have nothing to restore and are listed as not applicable.
- QS-05: every provider-detected incident except planned maintenance; notified on time
  iff ``notified_at − detected_at ≤ 4 h``.
- QS-06: changes requested in the month; QS-07: changes effective in the month (see
  ``reports.calendar`` for the deadlines; a dossier updated before the change took
  effect is on time).
- QS-04..QS-07 value: share of decided records on time, target 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from reports.calendar import (
    day_bounds,
    days,
    in_month,
    local_day,
    month_bounds,
    month_first_day,
    month_label,
    month_last_day,
    paris_iso,
    qs06_due_before,
    qs07_due_before,
    shift_month,
)
from reports.registers import Change, DetectedBy, Impact, Incident, Probe

FAST_S = 2.0
QS01_TARGET = 90.0
QS02_TARGET = 99.99
QS03_MAX = 4
RESTORE_LIMIT = timedelta(hours=4)
NOTIFY_LIMIT = timedelta(hours=4)
PROBE_INTERVAL = timedelta(seconds=60)
_US = timedelta(microseconds=1)

Interval = tuple[datetime, datetime]


@dataclass
class Indicator:
    id: str
    title: str
    value: float | int | None
    unit: str
    comparator: str          # how value compares with target to pass: ">=", ">", "<="
    target: float | int
    passed: bool | None
    details: list[dict[str, object]] = field(default_factory=list)
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def target_text(self) -> str:
        sign = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}[self.comparator]
        unit = f" {self.unit}" if self.unit else ""
        return f"{sign} {self.target:g}{unit}"

    @property
    def status(self) -> str:
        return {True: "pass", False: "fail", None: "n/a" if self.value is None else "pending"}[self.passed]

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "value": self.value, "unit": self.unit,
                "target": self.target, "comparator": self.comparator, "target_text": self.target_text,
                "passed": self.passed, "status": self.status, "note": self.note, **self.extra,
                "details": self.details}


# --- interval arithmetic (half-open [start, end), aware datetimes) ---------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals: overlapping or touching ones become one."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if min(e, end) > max(s, start)]


def subtract(intervals: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """``intervals`` minus the union of ``holes``."""
    holes = merge(holes)
    out: list[Interval] = []
    for s, e in merge(intervals):
        cursor = s
        for hs, he in holes:
            if he <= cursor or hs >= e:
                continue
            if hs > cursor:
                out.append((cursor, hs))
            cursor = max(cursor, he)
        if cursor < e:
            out.append((cursor, e))
    return out


def total_us(intervals: Iterable[Interval]) -> int:
    return sum((e - s) // _US for s, e in merge(intervals))


def _pct(num: int, den: int) -> float | None:
    return None if den == 0 else num * 100 / den


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else paris_iso(ts)


def _secs(us: int) -> float:
    return us / 1_000_000


# --- QS-01 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestTimes:
    """Requests of one site on one Paris day: how many had a time taken, how many under 2 s."""

    site: str
    day: date
    requests: int
    timed: int
    fast: int


def request_times(rows: Iterable[tuple[str, datetime, float | None]]) -> list[RequestTimes]:
    """Aggregate (site, time, seconds taken or None) request rows, as the SQL side does per day."""
    acc: dict[tuple[str, date], list[int]] = {}
    for site, ts, taken in rows:
        a = acc.setdefault((site, local_day(ts)), [0, 0, 0])
        a[0] += 1
        if taken is not None:
            a[1] += 1
            a[2] += taken < FAST_S
    return [RequestTimes(s, d, *v) for (s, d), v in sorted(acc.items())]


def qs01(times: Iterable[RequestTimes], year: int, month: int, site: str | None = None) -> Indicator:
    per_day: dict[date, list[int]] = {}
    for t in times:
        if (site is None or t.site == site) and (t.day.year, t.day.month) == (year, month):
            a = per_day.setdefault(t.day, [0, 0, 0])
            a[0] += t.requests
            a[1] += t.timed
            a[2] += t.fast
    requests = sum(a[0] for a in per_day.values())
    timed = sum(a[1] for a in per_day.values())
    fast = sum(a[2] for a in per_day.values())
    details = [{"id": d.isoformat(), "requests": r, "timed": tm, "under_2s": f, "share": _pct(f, tm),
                "passed": None if tm == 0 else f * 100 >= QS01_TARGET * tm}
               for d, (r, tm, f) in sorted(per_day.items())]
    note = ""
    if timed < requests:
        note = f"{requests - timed} request(s) without a time taken are not counted"
    if timed == 0:
        note = "no request with a time taken in this month"
    return Indicator("QS-01", "Requests answered in < 2 s at the edge", _pct(fast, timed), "%", ">=",
                     QS01_TARGET, None if timed == 0 else fast * 100 >= QS01_TARGET * timed, details, note,
                     {"requests": requests, "timed": timed, "under_2s": fast})


# --- QS-02 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One record's contribution to availability: an unavailable or an excluded window."""

    id: str
    site: str
    kind: str            # "incident" | "probes"
    effect: str          # "unavailable" | "excluded" | "available"
    reason: str
    start: datetime
    end: datetime | None  # None: still open at as_of


def probe_outages(probes: Iterable[Probe], interval: timedelta = PROBE_INTERVAL) -> list[Source]:
    """Runs of failed probes as unavailable windows (see the module docstring)."""
    out: list[Source] = []
    run: list[Probe] = []

    def close(next_ok: Probe | None) -> None:
        cap = run[-1].at + interval
        end = cap if next_ok is None or next_ok.site != run[0].site else min(next_ok.at, cap)
        first = run[0]
        out.append(Source(f"probes:{first.site}@{paris_iso(first.at)}", first.site, "probes", "unavailable",
                          f"{len(run)} failed probe(s)", first.at, end))

    for p in sorted(probes, key=lambda p: (p.site, p.at)):
        if run and p.site != run[0].site:
            close(None)
            run = []
        if not p.ok:
            run.append(p)
        elif run:
            close(p)
            run = []
    if run:
        close(None)
    return out


def incident_sources(incidents: Iterable[Incident], site: str) -> list[Source]:
    out = []
    for i in incidents:
        if not i.applies_to(site):
            continue
        if i.planned_maintenance:
            effect, reason = "excluded", "approved planned maintenance"
        elif i.impact is Impact.FULL and not i.provider_responsible:
            effect, reason = "excluded", "full outage not attributable to the provider"
        elif i.impact is Impact.FULL:
            effect, reason = "unavailable", "full impact"
        else:
            effect, reason = "available", f"{i.impact.value} impact counts as available"
        out.append(Source(i.id, site, "incident", effect, reason, i.started_at, i.resolved_at))
    return out


@dataclass(frozen=True)
class Availability:
    measured_us: int
    unavailable_us: int
    outages: list[Interval]

    @property
    def available_us(self) -> int:
        return self.measured_us - self.unavailable_us

    @property
    def rate(self) -> float | None:
        return _pct(self.available_us, self.measured_us)

    @property
    def passed(self) -> bool | None:
        # > 99.99 % in integers: available / measured > 9999 / 10000, no float rounding.
        if self.measured_us == 0:
            return None
        return self.available_us * 10000 > 9999 * self.measured_us

    def __add__(self, other: Availability) -> Availability:
        return Availability(self.measured_us + other.measured_us, self.unavailable_us + other.unavailable_us,
                            self.outages + other.outages)


def _windows(sources: Iterable[Source], effect: str, as_of: datetime) -> list[Interval]:
    return [(s.start, s.end or as_of) for s in sources if s.effect == effect]


def availability(sources: Sequence[Source], start: datetime, end: datetime, as_of: datetime) -> Availability:
    """Availability of one site over [start, min(end, as_of))."""
    end = min(end, as_of)
    if end <= start:
        return Availability(0, 0, [])
    excluded = clip(merge(_windows(sources, "excluded", as_of)), start, end)
    down = subtract(clip(merge(_windows(sources, "unavailable", as_of)), start, end), excluded)
    measured = (end - start) // _US - total_us(excluded)
    return Availability(measured, total_us(down), down)


def qs02(sites: Sequence[str], incidents: Sequence[Incident], probes: Sequence[Probe], year: int, month: int,
         as_of: datetime, probe_interval: timedelta = PROBE_INTERVAL) -> Indicator:
    """Availability of one site (``sites=[site]``) or overall (every site), monthly with daily and yearly."""
    start, end = month_bounds(year, month)
    year_start = month_bounds(year, 1)[0]
    by_site = {s: incident_sources(incidents, s)
               + probe_outages([p for p in probes if p.site == s], probe_interval) for s in sites}
    monthly = sum((availability(by_site[s], start, end, as_of) for s in sites), Availability(0, 0, []))
    yearly = sum((availability(by_site[s], year_start, end, as_of) for s in sites), Availability(0, 0, []))
    daily = []
    for d in days(month_first_day(year, month), month_last_day(year, month)):
        lo, hi = day_bounds(d)
        if lo >= as_of:
            break
        a = sum((availability(by_site[s], lo, hi, as_of) for s in sites), Availability(0, 0, []))
        daily.append({"day": d.isoformat(), "availability": a.rate, "unavailable_s": _secs(a.unavailable_us),
                      "measured_s": _secs(a.measured_us), "passed": a.passed})
    details: list[dict[str, object]] = []
    for s in sites:
        excluded = merge(_windows(by_site[s], "excluded", as_of))
        for src in sorted(by_site[s], key=lambda x: (x.start, x.id)):
            window = clip([(src.start, src.end or as_of)], start, min(end, as_of))
            if not window:
                continue
            if src.effect == "unavailable":
                window = subtract(window, excluded)
            counted = total_us(window)
            details.append({
                "id": src.id, "site": s, "kind": src.kind, "effect": src.effect, "reason": src.reason,
                "start": _iso(src.start), "end": _iso(src.end), "seconds_in_month": _secs(counted),
                "passed": not (src.effect == "unavailable" and counted > 0)})
    outages = [{"start": _iso(a), "end": _iso(b), "seconds": _secs((b - a) // _US)}
               for a, b in monthly.outages]
    extra: dict[str, object] = {
        "measured_s": _secs(monthly.measured_us), "unavailable_s": _secs(monthly.unavailable_us),
        "allowed_unavailable_s": _secs(monthly.measured_us // 10000), "outages": outages,
        "daily": daily, "year_to_date": {"availability": yearly.rate, "passed": yearly.passed,
                                         "unavailable_s": _secs(yearly.unavailable_us),
                                         "measured_s": _secs(yearly.measured_us)}}
    note = "" if sites else "no site to measure"
    return Indicator("QS-02", "Availability", monthly.rate, "%", ">", QS02_TARGET, monthly.passed, details,
                     note, extra)


# --- QS-03 .. QS-05 ---------------------------------------------------------------------


def _month_incidents(incidents: Iterable[Incident], year: int, month: int,
                     site: str | None) -> list[Incident]:
    seen: dict[str, Incident] = {}
    for i in incidents:
        if (site is None or i.applies_to(site)) and in_month(i.started_at, year, month):
            seen[i.id] = i
    return sorted(seen.values(), key=lambda i: (i.started_at, i.id))


def _not_counted(i: Incident) -> str | None:
    if i.planned_maintenance:
        return "planned maintenance"
    if not i.provider_responsible:
        return "not attributable to the provider"
    return None


def _share_indicator(id_: str, title: str, details: list[dict[str, object]], none_note: str) -> Indicator:
    decided = [d["passed"] for d in details if d.get("applicable", True) and d["passed"] is not None]
    pending = sum(1 for d in details if d.get("applicable", True) and d["passed"] is None)
    late = decided.count(False)
    value = _pct(decided.count(True), len(decided))
    passed: bool | None = False if late else (None if pending else True)
    note = none_note if not decided and not pending else (f"{pending} pending" if pending else "")
    return Indicator(id_, title, value, "%", ">=", 100, passed, details, note,
                     {"on_time": decided.count(True), "late": late, "pending": pending})


def qs03(incidents: Iterable[Incident], year: int, month: int, site: str | None = None) -> Indicator:
    details = []
    rank = 0
    for i in _month_incidents(incidents, year, month, site):
        reason = _not_counted(i)
        if reason is None:
            rank += 1
        details.append({"id": i.id, "site": i.site, "started_at": _iso(i.started_at),
                        "impact": i.impact.value,
                        "counted": reason is None, "rank": rank if reason is None else None,
                        "reason": reason or "", "description": i.description,
                        # the 5th counted incident is the one that breaks the limit
                        "passed": reason is not None or rank <= QS03_MAX})
    return Indicator("QS-03", "Incidents in the month", rank, "incidents", "<=", QS03_MAX, rank <= QS03_MAX,
                     details)


def qs04(incidents: Iterable[Incident], year: int, month: int, as_of: datetime,
         site: str | None = None) -> Indicator:
    details = []
    for i in _month_incidents(incidents, year, month, site):
        due = i.started_at + RESTORE_LIMIT
        reason = _not_counted(i)
        if reason is None and i.impact is Impact.NONE:
            reason = "no service impact: nothing to restore"
        restore = None if i.resolved_at is None else i.resolved_at - i.started_at
        if reason is not None:
            passed: bool | None = True
        elif i.resolved_at is not None:
            passed = i.resolved_at < due
        else:
            passed = None if as_of < due else False
        details.append({"id": i.id, "site": i.site, "applicable": reason is None, "reason": reason or "",
                        "started_at": _iso(i.started_at), "resolved_at": _iso(i.resolved_at),
                        "restore_s": None if restore is None else restore.total_seconds(),
                        "due_before": _iso(due), "passed": passed})
    return _share_indicator("QS-04", "Service restored in < 4 h (24/7)", details, "no incident to restore")


def qs05(incidents: Iterable[Incident], year: int, month: int, as_of: datetime,
         site: str | None = None) -> Indicator:
    details = []
    for i in _month_incidents(incidents, year, month, site):
        if i.detected_by is not DetectedBy.PROVIDER or i.planned_maintenance:
            continue
        due = i.detected_at + NOTIFY_LIMIT
        if i.notified_at is not None:
            passed: bool | None = i.notified_at <= due
        else:
            passed = None if as_of <= due else False
        delay = None if i.notified_at is None else (i.notified_at - i.detected_at).total_seconds()
        details.append({"id": i.id, "site": i.site, "detected_at": _iso(i.detected_at),
                        "notified_at": _iso(i.notified_at), "notification_s": delay,
                        "due_by": _iso(due), "passed": passed})
    return _share_indicator("QS-05", "Provider-detected incidents notified within 4 h", details,
                            "no incident detected by the provider")


# --- QS-06, QS-07 -----------------------------------------------------------------------


def _deadline_detail(c: Change, done: datetime | None, due: datetime, as_of: datetime,
                     what: str) -> dict[str, object]:
    if done is not None:
        passed: bool | None = done < due
    else:
        passed = None if as_of < due else False
    return {"id": c.id, "site": c.site, "requested_at": _iso(c.requested_at),
            "effective_at": _iso(c.effective_at),
            "dossier_updated_at": _iso(c.dossier_updated_at), "checked": what, "due_before": _iso(due),
            "description": c.description, "passed": passed}


def _for_site(changes: Iterable[Change], site: str | None) -> list[Change]:
    return [c for c in changes if site is None or c.applies_to(site)]


def qs06(changes: Iterable[Change], year: int, month: int, as_of: datetime, site: str | None = None,
         subdiv: str | None = None) -> Indicator:
    chosen = sorted((c for c in _for_site(changes, site) if in_month(c.requested_at, year, month)),
                    key=lambda c: (c.requested_at, c.id))
    details = [_deadline_detail(c, c.effective_at, qs06_due_before(c.requested_at, subdiv), as_of,
                                "effective_at") for c in chosen]
    return _share_indicator("QS-06", "Changes effective by the end of the next jour ouvrable", details,
                            "no change requested")


def qs07(changes: Iterable[Change], year: int, month: int, as_of: datetime, site: str | None = None,
         subdiv: str | None = None) -> Indicator:
    chosen = sorted((c for c in _for_site(changes, site)
                     if c.effective_at is not None and in_month(c.effective_at, year, month)),
                    key=lambda c: (c.effective_at or c.requested_at, c.id))
    details = []
    for c in chosen:
        assert c.effective_at is not None
        due = qs07_due_before(c.effective_at, subdiv)
        details.append(_deadline_detail(c, c.dossier_updated_at, due, as_of, "dossier_updated_at"))
    return _share_indicator("QS-07", "Dossier updated within 2 jours ouvrés", details,
                            "no change took effect")


# --- the monthly report -----------------------------------------------------------------


@dataclass
class QsReport:
    month: str
    site: str | None
    sites: list[str]
    as_of: datetime
    indicators: list[Indicator]
    per_site: dict[str, list[Indicator]]
    history: list[dict[str, object]]

    @property
    def passed(self) -> bool | None:
        results = [i.passed for i in self.indicators]
        return False if False in results else (None if None in results else True)

    def to_json(self) -> dict[str, object]:
        return {"month": self.month, "site": self.site, "sites": self.sites, "as_of": paris_iso(self.as_of),
                "timezone": "Europe/Paris", "passed": self.passed,
                "indicators": [i.to_json() for i in self.indicators],
                "per_site": {s: [{"id": i.id, "value": i.value, "passed": i.passed} for i in inds]
                             for s, inds in self.per_site.items()},
                "history": self.history}


def indicators(year: int, month: int, sites: Sequence[str], incidents: Sequence[Incident],
               changes: Sequence[Change], probes: Sequence[Probe], times: Sequence[RequestTimes],
               as_of: datetime, site: str | None = None, subdiv: str | None = None,
               probe_interval: timedelta = PROBE_INTERVAL) -> list[Indicator]:
    """The seven indicators of one month, for ``site`` or overall (``site=None`` over ``sites``)."""
    measured = [site] if site is not None else list(sites)
    return [
        qs01(times, year, month, site),
        qs02(measured, incidents, probes, year, month, as_of, probe_interval),
        qs03(incidents, year, month, site),
        qs04(incidents, year, month, as_of, site),
        qs05(incidents, year, month, as_of, site),
        qs06(changes, year, month, as_of, site, subdiv),
        qs07(changes, year, month, as_of, site, subdiv),
    ]


HISTORY_MONTHS = 13


def history_window(year: int, month: int) -> tuple[datetime, datetime]:
    """From the earlier of 12 months before and 1 January, to the end of the month: what a report reads."""
    y0, m0, _ = shift_month(year, month, -(HISTORY_MONTHS - 1))
    start = min(month_bounds(y0, m0)[0], month_bounds(year, 1)[0])
    return start, month_bounds(year, month)[1]


def qs_report(year: int, month: int, sites: Sequence[str], incidents: Sequence[Incident],
              changes: Sequence[Change], probes: Sequence[Probe], times: Sequence[RequestTimes] = (),
              as_of: datetime | None = None, site: str | None = None, subdiv: str | None = None,
              probe_interval: timedelta = PROBE_INTERVAL, with_history: bool = True) -> QsReport:
    as_of = as_of or datetime.now(UTC)
    sites = sorted(set(sites) | ({site} if site else set()))

    def month_of(y: int, m: int, for_site: str | None) -> list[Indicator]:
        return indicators(y, m, sites, incidents, changes, probes, times, as_of, for_site, subdiv,
                          probe_interval)

    main = month_of(year, month, site)
    per_site = {} if site is not None else {s: month_of(year, month, s) for s in sites}
    history = []
    if with_history:
        for back in range(HISTORY_MONTHS - 1, -1, -1):
            y, m, _first = shift_month(year, month, -back)
            if month_bounds(y, m)[0] >= as_of:
                continue
            inds = main if back == 0 else month_of(y, m, site)
            history.append({"month": month_label(y, m),
                            "indicators": [{"id": i.id, "value": i.value, "passed": i.passed} for i in inds]})
    return QsReport(month_label(year, month), site, sites, as_of, main, per_site, history)
