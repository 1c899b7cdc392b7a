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
  first failure to the next probe, but at most ``probe_interval`` (90 s: the 1-minute
  cron period and its jitter) after its last failure, so a stopped prober never invents
  downtime.
- Coverage (SPEC §6: without enough data an indicator is "not measured", never a pass).
  QS-02 only counts time someone observed: a probe result stands for the time until the
  next probe, at most ``probe_interval``; an incident record is an observation of its
  window. Availability = (observed − unavailable) / observed; the share of the period
  observed is the coverage, and below ``min_coverage`` (95 %) the indicator is not
  measured. The worst case (unobserved time counted as unavailable) is given beside.
  QS-01 counts the days a delivered log file covers (``loggest`` coverage: the day in its
  name, else its records' span) against the days of the month elapsed at ``as_of``, from
  the site's first covered day on; below ``min_coverage`` of those days it is not
  measured.
- QS-04..QS-07 with no record to judge are "n/a" (sans objet), never a pass.
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

from collections.abc import Collection, Iterable, Mapping, Sequence
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
from reports.coverage import day_coverage
from reports.registers import (
    PROBE_INTERVAL,
    Change,
    DetectedBy,
    Impact,
    Incident,
    Probe,
    ProbeSpan,
    probe_spans,
)

FAST_S = 2.0
QS01_TARGET = 90.0
QS02_TARGET = 99.99
QS03_MAX = 4
RESTORE_LIMIT = timedelta(hours=4)
NOTIFY_LIMIT = timedelta(hours=4)
MIN_COVERAGE = 0.95
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
    # What ``passed is None`` means: "not_measured" (not enough data), "pending" (a
    # deadline still running), "n/a" (nothing to judge).
    undecided: str = "not_measured"

    @property
    def target_text(self) -> str:
        sign = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}[self.comparator]
        unit = f" {self.unit}" if self.unit else ""
        return f"{sign} {self.target:g}{unit}"

    @property
    def status(self) -> str:
        """pass | fail | pending | not_measured | n/a."""
        return {True: "pass", False: "fail"}.get(self.passed, self.undecided)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "value": self.value, "unit": self.unit,
                "target": self.target, "comparator": self.comparator, "target_text": self.target_text,
                "passed": self.passed, "status": self.status, "note": self.note,
                "method": METHODS[self.id], **self.extra, "details": self.details}


METHODS = {
    "QS-01": "Requests with a time taken at the edge under 2 s, over the requests with a time taken, "
             "on the days of the month covered by delivered log files.",
    "QS-02": "Observed time (probes, incident records) less merged unavailable time (full-impact "
             "incidents, runs of failed probes), over the observed time; approved maintenance and "
             "outages not attributable to the provider excluded.",
    "QS-03": "Incidents the provider is responsible for, started in the month, planned maintenance "
             "excluded.",
    "QS-04": "Share of counted incidents with service impact restored less than 4 h after they "
             "started (24/7 calendar time).",
    "QS-05": "Share of provider-detected incidents notified within 4 h of detection.",
    "QS-06": "Share of changes requested in the month effective before the end of the next jour "
             "ouvrable (Monday to Saturday, French public holidays excluded).",
    "QS-07": "Share of changes effective in the month whose dossier was updated within 2 jours "
             "ouvrés (Monday to Friday, French public holidays excluded).",
}



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


# --- coverage ---------------------------------------------------------------------------


def _share(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _elapsed_days(year: int, month: int, as_of: datetime | None) -> list[date]:
    """Days of the month wholly elapsed at ``as_of`` (a day still running is not yet due)."""
    return [d for d in days(month_first_day(year, month), month_last_day(year, month))
            if as_of is None or day_bounds(d)[1] <= as_of]


def log_coverage(site_days: Mapping[str, Collection[date]], sites: Sequence[str], year: int, month: int,
                 as_of: datetime | None, min_coverage: float = MIN_COVERAGE) -> dict[str, object]:
    """Days with a log file against the days expected (``reports.coverage.day_coverage``),
    per site and summed over ``sites``; a site with no file at all has every elapsed day
    missing."""
    elapsed = _elapsed_days(year, month, as_of)
    per_site = {s: day_coverage(site_days.get(s, ()), elapsed) for s in sites}
    expected_n = sum(int(v["expected_days"]) for v in per_site.values())
    with_logs = sum(int(v["days_with_logs"]) for v in per_site.values())
    share = _share(with_logs, expected_n)
    return {"expected_days": expected_n, "days_with_logs": with_logs, "share": share,
            "min_share": min_coverage, "complete": expected_n > 0 and with_logs == expected_n,
            "enough": share is not None and share >= min_coverage, "sites": per_site}


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


def qs01(times: Iterable[RequestTimes], year: int, month: int, site: str | None = None,
         as_of: datetime | None = None, log_days: Mapping[str, Collection[date]] | None = None,
         sites: Sequence[str] | None = None, min_coverage: float = MIN_COVERAGE) -> Indicator:
    """``log_days``: per site, the days delivered log files cover (``None``: the days that
    have requests stand in for them, and the coverage says so)."""
    times = list(times)
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
    source = "files"
    if log_days is None:
        source = "records"
        found: dict[str, set[date]] = {}
        for t in times:
            if t.requests:
                found.setdefault(t.site, set()).add(t.day)
        log_days = found
    scope = [site] if site is not None else sorted(set(sites or ()) | set(log_days) | {t.site for t in times})
    coverage = {**log_coverage(log_days, scope, year, month, as_of, min_coverage), "source": source}
    notes = []
    if timed < requests:
        notes.append(f"{requests - timed} request(s) without a time taken are not counted")
    passed: bool | None = None if timed == 0 else fast * 100 >= QS01_TARGET * timed
    if timed == 0:
        notes.insert(0, "not measured: no request with a time taken in this month")
    elif not coverage["enough"]:
        passed = None
        notes.insert(0, f"not measured: logs cover {coverage['days_with_logs']} of "
                        f"{coverage['expected_days']} day(s) expected (at least {min_coverage:.0%} needed)")
    elif not coverage["complete"]:
        notes.insert(0, f"logs cover {coverage['days_with_logs']} of {coverage['expected_days']} day(s)")
    return Indicator("QS-01", "Requests answered in < 2 s at the edge", _pct(fast, timed), "%", ">=",
                     QS01_TARGET, passed, details, "; ".join(notes),
                     {"requests": requests, "timed": timed, "under_2s": fast, "coverage": coverage})


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
    measured_us: int          # observed time
    unavailable_us: int
    outages: list[Interval]
    period_us: int = 0        # the period less excluded windows: what could have been observed
    unobserved: list[Interval] = field(default_factory=list)

    @property
    def available_us(self) -> int:
        return self.measured_us - self.unavailable_us

    @property
    def rate(self) -> float | None:
        return _pct(self.available_us, self.measured_us)

    @property
    def worst_rate(self) -> float | None:
        """Availability if every unobserved moment had been an outage."""
        return _pct(self.available_us, self.period_us)

    @property
    def coverage(self) -> float | None:
        return _share(self.measured_us, self.period_us)

    def verdict(self, min_coverage: float = MIN_COVERAGE) -> bool | None:
        # > 99.99 % in integers: available / measured > 9999 / 10000, no float rounding.
        if self.measured_us == 0 or self.measured_us < min_coverage * self.period_us:
            return None
        return self.available_us * 10000 > 9999 * self.measured_us

    @property
    def passed(self) -> bool | None:
        return self.verdict()

    def __add__(self, other: Availability) -> Availability:
        return Availability(self.measured_us + other.measured_us, self.unavailable_us + other.unavailable_us,
                            self.outages + other.outages, self.period_us + other.period_us,
                            self.unobserved + other.unobserved)


_NONE = Availability(0, 0, [])


def _windows(sources: Iterable[Source], effect: str, as_of: datetime) -> list[Interval]:
    return [(s.start, s.end or as_of) for s in sources if s.effect == effect]


def availability(sources: Sequence[Source], start: datetime, end: datetime, as_of: datetime,
                 observed: Iterable[Interval] = ()) -> Availability:
    """Availability of one site over [start, min(end, as_of)), observed by ``observed`` windows
    (probe spans) and by the incident records themselves."""
    end = min(end, as_of)
    if end <= start:
        return _NONE
    excluded = clip(merge(_windows(sources, "excluded", as_of)), start, end)
    down = subtract(clip(merge(_windows(sources, "unavailable", as_of)), start, end), excluded)
    seen = [*observed, *_windows(sources, "available", as_of), *down]
    obs = subtract(clip(merge(seen), start, end), excluded)
    period = subtract([(start, end)], excluded)
    return Availability(total_us(obs), total_us(down), down, total_us(period), subtract(period, obs))


def qs02(sites: Sequence[str], incidents: Sequence[Incident], probes: Sequence[Probe], year: int, month: int,
         as_of: datetime, probe_interval: timedelta = PROBE_INTERVAL,
         spans: Sequence[ProbeSpan] | None = None, min_coverage: float = MIN_COVERAGE) -> Indicator:
    """Availability of one site (``sites=[site]``) or overall (every site), monthly with daily and yearly.

    ``probes`` needs only the failures and the first success after each run (what
    ``probe_failures`` returns); ``spans`` are the observed spans from every probe (``None``:
    computed from ``probes``, which must then be complete).
    """
    start, end = month_bounds(year, month)
    year_start = month_bounds(year, 1)[0]
    if spans is None:
        spans = probe_spans(probes, probe_interval)
    by_site = {s: incident_sources(incidents, s)
               + probe_outages([p for p in probes if p.site == s], probe_interval) for s in sites}
    seen = {s: [(p.start, p.end) for p in spans if p.site == s] for s in sites}

    def total(lo: datetime, hi: datetime) -> Availability:
        return sum((availability(by_site[s], lo, hi, as_of, seen[s]) for s in sites), _NONE)

    monthly = total(start, end)
    yearly = total(year_start, end)
    daily = []
    for d in days(month_first_day(year, month), month_last_day(year, month)):
        lo, hi = day_bounds(d)
        if lo >= as_of:
            break
        a = total(lo, hi)
        daily.append({"day": d.isoformat(), "availability": a.rate, "unavailable_s": _secs(a.unavailable_us),
                      "measured_s": _secs(a.measured_us), "period_s": _secs(a.period_us),
                      "coverage": a.coverage, "passed": a.verdict(min_coverage)})
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
    month_spans = [p for p in spans if p.site in by_site and p.end > start and p.start < end]
    gaps = sorted(monthly.unobserved, key=lambda i: (i[0] - i[1], i[0]))[:20]
    coverage: dict[str, object] = {
        "probes": sum(p.probes for p in month_spans), "observed_s": _secs(monthly.measured_us),
        "period_s": _secs(monthly.period_us), "share": monthly.coverage, "min_share": min_coverage,
        "enough": monthly.coverage is not None and monthly.coverage >= min_coverage,
        "unobserved_s": _secs(monthly.period_us - monthly.measured_us),
        "longest_unobserved": [{"start": _iso(a), "end": _iso(b), "seconds": _secs((b - a) // _US)}
                               for a, b in sorted(gaps)],
        "sites": {s: {"probes": sum(p.probes for p in month_spans if p.site == s),
                      "share": a.coverage}
                  for s in sites for a in [availability(by_site[s], start, end, as_of, seen[s])]}}
    passed = monthly.verdict(min_coverage)
    notes = []
    if not sites:
        notes.append("no site to measure")
    elif monthly.period_us == 0:
        notes.append("not measured: the month has not started")
    elif monthly.measured_us == 0:
        notes.append("not measured: no probe result and no incident record in the month")
    elif not coverage["enough"]:
        notes.append(f"not measured: probes and incident records cover {monthly.coverage:.1%} of the month "
                     f"(at least {min_coverage:.0%} needed)")
    elif monthly.measured_us < monthly.period_us:
        notes.append(f"observed {monthly.coverage:.2%} of the month")
    extra: dict[str, object] = {
        "measured_s": _secs(monthly.measured_us), "unavailable_s": _secs(monthly.unavailable_us),
        "allowed_unavailable_s": _secs(monthly.measured_us // 10000), "outages": outages,
        "worst_case": monthly.worst_rate, "coverage": coverage,
        "daily": daily, "year_to_date": {"availability": yearly.rate, "passed": yearly.verdict(min_coverage),
                                         "unavailable_s": _secs(yearly.unavailable_us),
                                         "measured_s": _secs(yearly.measured_us),
                                         "coverage": yearly.coverage}}
    return Indicator("QS-02", "Availability", monthly.rate, "%", ">", QS02_TARGET, passed, details,
                     "; ".join(notes), extra)


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
    # Nothing to judge is "n/a", never a pass: a month without any record reads as such.
    passed: bool | None = False if late else (True if decided and not pending else None)
    undecided = "pending" if pending else "n/a"
    note = none_note if not decided and not pending else (f"{pending} pending" if pending else "")
    return Indicator(id_, title, value, "%", ">=", 100, passed, details, note,
                     {"on_time": decided.count(True), "late": late, "pending": pending}, undecided)


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


def _brief(i: Indicator) -> dict[str, object]:
    return {"id": i.id, "value": i.value, "passed": i.passed, "status": i.status, "note": i.note}


@dataclass
class QsReport:
    month: str
    site: str | None
    sites: list[str]
    as_of: datetime
    indicators: list[Indicator]
    per_site: dict[str, list[Indicator]]
    history: list[dict[str, object]]
    min_coverage: float = MIN_COVERAGE

    @property
    def passed(self) -> bool | None:
        """False when one indicator fails; None when one is not measured or pending; "n/a" ones
        (nothing to judge) neither pass nor fail the month."""
        status = [i.status for i in self.indicators]
        if "fail" in status:
            return False
        return None if "not_measured" in status or "pending" in status else True

    @property
    def not_measured(self) -> list[str]:
        """Indicators (and sites) without enough data: what the exit code reports."""
        out = [i.id for i in self.indicators if i.status == "not_measured"]
        out += [f"{i.id} {s}" for s, inds in self.per_site.items() for i in inds
                if i.status == "not_measured"]
        return out

    def to_json(self) -> dict[str, object]:
        return {"month": self.month, "site": self.site, "sites": self.sites, "as_of": paris_iso(self.as_of),
                "timezone": "Europe/Paris", "passed": self.passed, "min_coverage": self.min_coverage,
                "not_measured": self.not_measured,
                "indicators": [i.to_json() for i in self.indicators],
                "per_site": {s: [{**_brief(i), **({"coverage": i.extra["coverage"]} if "coverage" in i.extra
                                                  else {}),
                                  **({k: i.extra[k] for k in ("on_time", "late", "pending") if k in i.extra})}
                                 for i in inds]
                             for s, inds in self.per_site.items()},
                "history": self.history}


@dataclass(frozen=True)
class Observations:
    """What the indicators were measured from, beyond the registers: probe spans and log days."""

    spans: Sequence[ProbeSpan] | None = None               # None: computed from the probes given
    log_days: Mapping[str, Collection[date]] | None = None  # None: days with requests stand in


def indicators(year: int, month: int, sites: Sequence[str], incidents: Sequence[Incident],
               changes: Sequence[Change], probes: Sequence[Probe], times: Sequence[RequestTimes],
               as_of: datetime, site: str | None = None, subdiv: str | None = None,
               probe_interval: timedelta = PROBE_INTERVAL, seen: Observations = Observations(),
               min_coverage: float = MIN_COVERAGE) -> list[Indicator]:
    """The seven indicators of one month, for ``site`` or overall (``site=None`` over ``sites``)."""
    measured = [site] if site is not None else list(sites)
    return [
        qs01(times, year, month, site, as_of, seen.log_days, measured, min_coverage),
        qs02(measured, incidents, probes, year, month, as_of, probe_interval, seen.spans, min_coverage),
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
              probe_interval: timedelta = PROBE_INTERVAL, with_history: bool = True,
              seen: Observations = Observations(), min_coverage: float = MIN_COVERAGE) -> QsReport:
    as_of = as_of or datetime.now(UTC)
    sites = sorted(set(sites) | ({site} if site else set()))
    if seen.spans is None:  # computed once, not per month and site
        seen = Observations(probe_spans(probes, probe_interval), seen.log_days)

    def month_of(y: int, m: int, for_site: str | None) -> list[Indicator]:
        return indicators(y, m, sites, incidents, changes, probes, times, as_of, for_site, subdiv,
                          probe_interval, seen, min_coverage)

    main = month_of(year, month, site)
    per_site = {} if site is not None else {s: month_of(year, month, s) for s in sites}
    history = []
    if with_history:
        for back in range(HISTORY_MONTHS - 1, -1, -1):
            y, m, _first = shift_month(year, month, -back)
            if month_bounds(y, m)[0] >= as_of:
                continue
            inds = main if back == 0 else month_of(y, m, site)
            history.append({"month": month_label(y, m), "indicators": [_brief(i) for i in inds]})
    return QsReport(month_label(year, month), site, sites, as_of, main, per_site, history, min_coverage)
