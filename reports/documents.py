"""The weekly statistics report and the monthly quality report as files: HTML, CSV, XLSX, JSON.

One data dict per document (what the JSON file holds); every other format is rendered
from it, so the figures are the same in each. HTML is self-contained (charts inline as
SVG drawn here (svg_chart), no script; each chart is an image named by its title, which names the
site, and described by a caption that links to the table holding its data) and autoescaped:
request paths from the logs are data, never markup. Words and formats are in
``reports.labels`` (Babel, French by default).

Each site's section follows the report configuration's metric choice in every part
(summary, charts, per-day tables, panels: see ``PANEL_METRICS``); a figure the stats do
not carry (older JSON) reads "non disponible" with the reason, never 0; days without
logs are listed at the top of the section and left out of the charts (a line breaks).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from reports import qs_view
from reports.calendar import PARIS, month_first_day, month_last_day, parse_month
from reports.config import METRICS
from reports.exports import render_csv, render_xlsx
from reports.labels import LABELS, LOCALES, Fmt
from reports.qs import QsReport

__all__ = ["FORMATS", "LABELS", "LOCALES", "Fmt", "Series", "SiteView", "monthly_data", "parse_week",
           "render_csv", "render_html", "render_json", "render_xlsx", "svg_chart", "weekly_data",
           "write_documents"]

TEMPLATES = Path(__file__).with_name("templates")
FORMATS = ("html", "csv", "xlsx", "json")



def parse_week(value: str) -> tuple[date, date]:
    """``YYYY-Www`` (ISO week) → (Monday, Sunday)."""
    m = re.fullmatch(r"(\d{4})-W(\d{2})", value)
    try:
        if not m:
            raise ValueError
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO week (YYYY-Www, e.g. 2026-W14)") from None
    return monday, monday + timedelta(days=6)


def month_days(value: str) -> tuple[date, date]:
    year, month = parse_month(value)
    return month_first_day(year, month), month_last_day(year, month)


# --- data -------------------------------------------------------------------------------


def weekly_data(stats_by_site: dict[str, dict[str, Any]], week: str, generated: datetime,
                show: dict[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """``show``: per site, the metrics its HTML report shows (default all, see ``reports.config``)."""
    first, last = parse_week(week)
    return {"kind": "weekly", "week": week, "from": first.isoformat(), "to": last.isoformat(),
            "generated": generated.astimezone(PARIS).isoformat(), "sites": stats_by_site,
            "show": {s: list(m) for s, m in (show or {}).items()}}


def monthly_data(stats_by_site: dict[str, dict[str, Any]], qs: QsReport,
                 generated: datetime) -> dict[str, Any]:
    first, last = month_days(qs.month)
    return {"kind": "monthly", "month": qs.month, "from": first.isoformat(), "to": last.isoformat(),
            "generated": generated.astimezone(PARIS).isoformat(), "sites": stats_by_site, "qs": qs.to_json()}


# --- the view of one site's section ---------------------------------------------------------

# Which of the configuration's metrics (reports.config.METRICS) each panel belongs to: a panel is
# shown when the site's report shows at least one of them, and its columns follow the same choice.
PANEL_METRICS: dict[str, tuple[str, ...]] = {
    "audience": ("requests", "bytes", "visitors"),
    "previous": ("requests", "bytes", "visitors", "cdn_share"),
    "by_hour": ("requests", "bytes"),
    "content": ("requests", "bytes"),
    "cache_statuses": ("cdn_share", "origin_requests"),
    "misses_by_rule": ("cdn_share", "origin_requests"),
    "top_paths": ("top_paths",),
    "not_found": ("status",),
    "server_errors": ("status",),
    "referrers": ("top_paths",),
    "referring_sites": ("top_paths",),
    "browsers": ("visitors",),
    "os": ("visitors",),
}

_BLUE = "#000091"
_INK = "#161616"
# Status classes: a colour and, for 3xx..5xx, a fill pattern, so a stack reads without colour too.
_STATUS = (("#666666", ""), ("#18753c", ""), ("#0063cb", "dots"), ("#b34000", "hatch"), ("#ce0500", "cross"))
# Time-taken lines: colour, dash and marker differ (p50 solid ●, p90 dashed ■, p99 dotted ▲).
_LINES = ((_BLUE, "", "circle"), ("#0063cb", "6 3", "square"), ("#6a6af4", "2 3", "triangle"))
_W, _H = 700, 280


def _period_days(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [(a + timedelta(days=k)).isoformat() for k in range((b - a).days + 1)]


def _axis(largest: float | None, fixed: tuple[float, float] | None = None) -> tuple[list[float], int]:
    """Y-axis graduations from 0 to a round value at or above ``largest`` (at most 6 steps of 1, 2,
    2.5 or 5 × 10^k), and the decimals they need; ``fixed`` gives the range (0..100 %)."""
    if fixed is not None:
        lo, hi = fixed
        return [lo + (hi - lo) * k / 5 for k in range(6)], 0
    if not largest or largest <= 0:
        return [0.0, 1.0], 0
    magnitude = 10 ** math.floor(math.log10(largest / 5))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude * 5 >= largest)
    steps = math.ceil(largest / step - 1e-9)
    exponent = Decimal(str(round(step, 10))).normalize().as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    return [round(k * step, 10) for k in range(steps + 1)], decimals


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str = _BLUE
    pattern: str = ""   # bars: "", "dots", "hatch", "cross"
    dash: str = ""      # lines: stroke-dasharray
    marker: str = "circle"


def _pattern(cid: str, n: int, s: Series) -> str:
    pid = f"{cid}-p{n}"
    marks = {"dots": '<circle cx="3" cy="3" r="1.3" fill="#fff"/>',
             "hatch": '<path d="M0 6 L6 0" stroke="#fff" stroke-width="1.5"/>',
             "cross": '<path d="M0 6 L6 0 M0 0 L6 6" stroke="#fff" stroke-width="1.2"/>'}[s.pattern]
    return (f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">'
            f'<rect width="6" height="6" fill="{s.color}"/>{marks}</pattern>')


def _marker(kind: str, x: float, y: float, color: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{color}"/>'
    if kind == "triangle":
        return (f'<path d="M{x:.1f} {y - 4:.1f} L{x + 4:.1f} {y + 3:.1f} L{x - 4:.1f} {y + 3:.1f} Z"'
                f' fill="{color}"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>'


def svg_chart(cid: str, kind: str, fmt: Fmt, title: str, y_title: str, x_labels: Sequence[str],
              series: Sequence[Series], fixed: tuple[float, float] | None = None, x_title: str | None = None,
              blank: Sequence[bool] = ()) -> Markup:
    """A bar, stacked-bar or line chart as inline SVG: an image (``role="img"``) named by its title
    (``{cid}-t``) and described by the figure caption (``{cid}-d``) that links to its data table.

    The y axis starts at 0 and its title is the unit; ``None`` values are not drawn (a line breaks
    there) and the ``blank`` slots (days without a figure) are shaded behind the plot. No script,
    every text escaped. Drawn here rather than by a charting library: 300 charts of a 50-site
    monthly report cost milliseconds, not seconds."""
    esc = Markup.escape
    n = max(len(x_labels), 1)
    if kind == "stacked":
        largest = max((sum(v or 0 for v in col) for col in zip(*(s.values for s in series), strict=True)),
                      default=0)
    else:
        largest = max((v for s in series for v in s.values if v is not None), default=0)
    ticks, decimals = _axis(largest, fixed)
    lo, hi = ticks[0], ticks[-1]
    legend = len(series) > 1
    rotate = sum(map(len, x_labels)) * 7 > 600
    height = _H + (22 if legend else 0)
    left, right, top = 66.0, 12.0, 34.0
    bottom = _H - 24 - (18 if x_title else 0) - (18 if rotate else 0)
    plot_w, plot_h = _W - left - right, bottom - top
    slot = plot_w / n

    def y(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * plot_h

    out = [f'<svg role="img" aria-labelledby="{cid}-t" aria-describedby="{cid}-d"'
           f' xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" height="{height}"'
           f' font-family="Arial, sans-serif" font-size="11" fill="{_INK}" class="chart">',
           f'<title id="{cid}-t">{esc(title)}</title>']
    patterns = [_pattern(cid, i, s) for i, s in enumerate(series) if s.pattern]
    if patterns:
        out.append("<defs>" + "".join(patterns) + "</defs>")

    def fill(i: int, s: Series) -> str:
        return f"url(#{cid}-p{i})" if s.pattern else s.color

    out.append(f'<text x="{_W / 2:.0f}" y="18" text-anchor="middle" font-size="14" class="chart-title">'
               f"{esc(title)}</text>")
    for i, b in enumerate(blank):  # no figure that day: shaded, never drawn as 0
        if b:
            out.append(f'<rect x="{left + i * slot:.1f}" y="{top:.1f}" width="{slot:.1f}"'
                       f' height="{plot_h:.1f}" fill="#eeeeee" class="blank"/>')
    out.append('<g class="y-axis">')
    for v in ticks:
        dash = "" if v == lo else ' stroke-dasharray="4 3"'
        out.append(f'<line x1="{left:.1f}" x2="{_W - right:.1f}" y1="{y(v):.1f}" y2="{y(v):.1f}"'
                   f' stroke="#c8c8c8"{dash}/>')
        out.append(f'<text x="{left - 6:.1f}" y="{y(v) + 4:.1f}" text-anchor="end" class="tick">'
                   f"{esc(fmt.num(v, decimals))}</text>")
    out.append(f'<text transform="translate(16 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle"'
               f' font-size="12" class="axis-title">{esc(y_title)}</text></g>')
    if kind in ("bar", "stacked"):
        width = slot * 0.72
        base = [0.0] * n
        for si, s in enumerate(series):
            out.append(f'<g class="series" fill="{fill(si, s)}">')
            for i, v in enumerate(s.values):
                if v is None or v == 0:
                    continue
                start = base[i] if kind == "stacked" else 0.0
                y0, y1 = y(start), y(start + v)
                out.append(f'<rect x="{left + i * slot + (slot - width) / 2:.1f}" y="{y1:.1f}"'
                           f' width="{width:.1f}" height="{max(y0 - y1, 0.5):.1f}"/>')
                if kind == "stacked":
                    base[i] += v
            out.append("</g>")
    else:
        for s in series:
            out.append(f'<g class="series" stroke="{s.color}" fill="none">')
            segment: list[str] = []
            points: list[tuple[float, float]] = []
            for i, v in enumerate([*s.values, None]):
                if v is None:
                    if len(segment) > 1:
                        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
                        out.append(f'<polyline class="series-line" stroke-width="2"{dash}'
                                   f' points="{" ".join(segment)}"/>')
                    segment = []
                    continue
                px, py = left + (i + 0.5) * slot, y(v)
                segment.append(f"{px:.1f},{py:.1f}")
                points.append((px, py))
            out.append("</g>")
            out.extend(_marker(s.marker, px, py, s.color) for px, py in points)
    out.append(f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="{_INK}"/>')
    out.append(f'<line x1="{left:.1f}" x2="{_W - right:.1f}" y1="{bottom:.1f}" y2="{bottom:.1f}"'
               f' stroke="{_INK}"/>')
    out.append('<g class="x-axis">')
    for i, label in enumerate(x_labels):
        cx = left + (i + 0.5) * slot
        if rotate:
            out.append(f'<text transform="translate({cx + 3:.1f} {bottom + 12:.1f}) rotate(-35)"'
                       f' text-anchor="end" class="tick">{esc(label)}</text>')
        else:
            out.append(f'<text x="{cx:.1f}" y="{bottom + 16:.1f}" text-anchor="middle" class="tick">'
                       f"{esc(label)}</text>")
    if x_title:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{_H - 10:.1f}" text-anchor="middle" font-size="12"'
                   f' class="axis-title">{esc(x_title)}</text>')
    out.append("</g>")
    if legend:
        x = left
        out.append('<g class="legend">')
        for si, s in enumerate(series):
            ly = height - 12
            if kind == "line":
                dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
                out.append(f'<line x1="{x:.1f}" x2="{x + 22:.1f}" y1="{ly:.1f}" y2="{ly:.1f}"'
                           f' stroke="{s.color}" stroke-width="2"{dash}/>')
                out.append(_marker(s.marker, x + 11, ly, s.color))
            else:
                out.append(f'<rect x="{x:.1f}" y="{ly - 6:.1f}" width="12" height="12"'
                           f' fill="{fill(si, s)}"/>')
            out.append(f'<text x="{x + 28:.1f}" y="{ly + 4:.1f}">{esc(s.name)}</text>')
            x += 40 + 7 * len(s.name)
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))


class SiteView:
    """What one site's section shows, prepared for the template: the calendar of the period with
    its missing days, the size units of the columns, the charts and which panels are shown."""

    def __init__(self, site: str, stats: dict[str, Any], fmt: Fmt, key: str, show: Sequence[str],
                 first: str, last: str) -> None:
        self.site, self.st, self.f, self.key = site, stats, fmt, key
        self.show = [m for m in METRICS if m in show]
        t = fmt.t
        by_day = {d["day"]: d for d in stats.get("days", [])}
        self.coverage: dict[str, Any] | None = stats.get("coverage")
        period = _period_days(stats.get("from", first), stats.get("to", last))
        cov = self.coverage or {}
        # Days reported together with their site ("site day") are one site's days here.
        self.missing = (sorted(str(d).split()[-1] for d in cov.get("missing_days", [])) if self.coverage
                        is not None else [d for d in period if d not in by_day])  # no coverage: no record
        first_day = cov.get("first_day")
        # As reports.coverage counts them: the days not due yet are the period's tail (from today on),
        # the days before the site's first log are among the others.
        tail = int(cov.get("not_yet_due") or 0)
        self.not_due = [d for d in period[len(period) - tail:] if d not in by_day] if tail else []
        self.before_first = [d for d in period if first_day and d < first_day and d not in by_day
                             and d not in self.not_due]
        # Nothing to report at all: no log for any day (coverage) or, without coverage, no record.
        self.no_data = not by_day and not stats.get("requests") and (
            self.coverage is None or not cov.get("days_with_logs"))
        zero = dict.fromkeys(("requests", "bytes", "visitors", "hit", "miss", "pass", "error", "unknown",
                              "s1xx", "s2xx", "s3xx", "s4xx", "s5xx"), 0)
        no_figure = set(self.missing) | set(self.before_first) | set(self.not_due)
        # A day with logs but no record had no traffic (0); a day without logs has no figure (None).
        self.calendar: list[dict[str, Any]] = [
            {"day": d, "row": by_day.get(d) or (None if d in no_figure else
                                                {"day": d, **zero, "p50": None, "p90": None, "p99": None})}
            for d in period]
        self.day_unit, self.day_div = fmt.size_unit(max((d["bytes"] for d in by_day.values()), default=0))
        hours = stats.get("by_hour") or []
        self.hour_unit, self.hour_div = fmt.size_unit(max((h["bytes"] for h in hours), default=0))
        self.day_columns = [c for c in ("requests", "bytes", "visitors", "cdn_share", "origin_requests")
                            if c in self.show]
        rows = [c["row"] for c in self.calendar if c["row"] is not None]
        self.bot_column = "requests" in self.show and bool(rows) and all("bot_requests" in r for r in rows)
        self.visitor_split = "visitors" in self.show and bool(rows) and all(
            "human_visitors" in r and "bot_visitors" in r for r in rows)
        self.traffic_span = len(self.day_columns) + self.bot_column + 2 * self.visitor_split
        self.quality_span = 5 * ("status" in self.show) + 3 * ("time_taken" in self.show)
        blank = [c["day"] for c in self.calendar if c["row"] is None]
        self.not_drawn = t["not_drawn"].format(days=fmt.days_list(blank)) if blank else ""
        self.charts = self._charts()

    # --- what the template asks ---

    def why_none(self, day: str) -> str:
        """Why a day of the period has no figure."""
        t = self.f.t
        if day in self.before_first:
            return t["before_first"]
        if day in self.not_due:
            return t["not_due"]
        return t["no_logs"] if self.coverage is not None else t["no_records"]

    def shows(self, panel: str) -> bool:
        return any(m in self.show for m in PANEL_METRICS.get(panel, (panel,)))

    def has(self, key: str) -> bool:
        return key in self.st

    @property
    def warning(self) -> str | None:
        """The text of the warning at the top of the section when logs are missing, or None."""
        t, f = self.f.t, self.f
        cov = self.coverage
        if cov is None:
            return t["no_record_warning"].format(days=f.days_list(self.missing)) if self.missing else None
        if self.missing:
            return t["missing_warning"].format(
                with_logs=f.count(cov.get("days_with_logs", 0), "days"),
                expected=f.num(cov.get("expected_days")),
                missing=f.count(len(self.missing), "missing_days"), days=f.days_list(self.missing))
        if not cov.get("expected_days"):
            return t["nothing_due"] if cov.get("not_yet_due") else t["no_file_period"]
        if cov.get("complete") is False:
            return t["incomplete_warning"]
        return None

    def day_share(self, row: dict[str, Any]) -> float | None:
        known = row["hit"] + row["miss"] + row["pass"]
        return row["hit"] / known if known else None

    def share_of(self, part: int | None, whole: int | None) -> str:
        """``part`` of ``whole`` to 0.1 %; a share that would round to 0 but is not 0 reads "< 0,1 %"."""
        if part is None or not whole:
            return "—"
        ratio, shown = part / whole, self.f.pct(part / whole, 1)
        return f"<\u00a0{self.f.pct(0.001, 1)}" if ratio > 0 and shown == self.f.pct(0, 1) else shown

    def peak_line(self) -> str:
        f, t = self.f, self.f.t
        peak = self.st.get("peak")
        if not peak:
            return t["no_peak"]
        start = datetime.fromisoformat(peak["start"])
        end = start + timedelta(hours=1)
        when = t["from_to_hour"].format(day=f.day(start.astimezone(PARIS).date().isoformat()),
                                         a=f.clock(start), b=f.clock(end))
        rps = peak.get("requests_per_s")
        return t["peak_line"].format(when=when, requests=f.count(peak["requests"], "requests"),
                                     rps=f"{f.num(rps, 2 if (rps or 0) < 10 else 0)}\u00a0{t['per_second']}",
                                     mbps=f.mbit(peak.get("mbit_per_s")))

    # --- charts ---

    def _charts(self) -> list[dict[str, Any]]:
        f, t, site = self.f, self.f.t, self.site
        # A day without a figure is marked on the axis too (∅) and shaded, not only left blank. A
        # month's days are numbered, the month said once in the axis title; its ∅ stands alone (a day
        # number beside it would overlap its neighbours).
        days = [c["day"] for c in self.calendar]
        month = len(days) > 14
        pattern = "dd/MM" if f.lang == "fr" else "dd MMM"
        labels = [("∅" if c["row"] is None else str(int(c["day"][8:]))) if month else
                  f.day(c["day"], pattern) + ("\u00a0∅" if c["row"] is None else "") for c in self.calendar]
        x_title = None
        if month:
            x_title = f.day(days[0], "LLLL y")
            if days[-1][:7] != days[0][:7]:
                x_title = f"{f.day(days[0], 'LLLL')} – {f.day(days[-1], 'LLLL y')}"
        rows = [c["row"] for c in self.calendar]
        blank = [r is None for r in rows]
        out: list[dict[str, Any]] = []
        if not any(rows):
            return out
        traffic, quality = f"{self.key}-days", f"{self.key}-quality"

        def add(metric: str, name: str, kind: str, title: str, unit: str, series: Sequence[Series],
                table: str, table_title: str, **options: Any) -> None:
            if metric not in self.show:
                return
            cid = f"{self.key}-{name}"
            title = f"{title} — {site}"
            hourly = name == "hours"
            svg = svg_chart(cid, kind, f, title, unit, options.pop("x_labels", labels), series,
                            x_title=options.pop("x_title", x_title), blank=() if hourly else blank, **options)
            out.append({"id": cid, "title": title, "svg": svg, "table": table, "table_title": table_title,
                        "y_title": unit, "not_drawn": "" if hourly else self.not_drawn})

        add("requests", "req", "bar", t["chart_requests"], t["unit_requests"],
            [Series(t["requests"], [r["requests"] if r else None for r in rows])], traffic, t["days_traffic"])
        add("bytes", "bytes", "bar", t["chart_bytes"], f.unit_symbol(self.day_unit),
            [Series(t["volume"], [r["bytes"] / self.day_div if r else None for r in rows])], traffic,
            t["days_traffic"])
        shares = [self.day_share(r) if r else None for r in rows]
        add("cdn_share", "share", "line", t["chart_share"], t["unit_percent"],
            [Series(t["cdn_share_requests"], [None if s is None else 100 * s for s in shares])], traffic,
            t["days_traffic"], fixed=(0, 100))
        add("status", "status", "stacked", t["chart_status"], t["unit_requests"],
            [Series(f"{n}xx", [r[f"s{n}xx"] if r else None for r in rows], color, pattern=fill)
             for n, (color, fill) in enumerate(_STATUS, start=1)], quality, t["days_quality"])
        add("time_taken", "time", "line", t["chart_time"], t["unit_seconds"],
            [Series(p, [r[p] if r else None for r in rows], color, dash=dash, marker=marker)
             for p, (color, dash, marker) in zip(("p50", "p90", "p99"), _LINES, strict=True)],
            quality, t["days_quality"])
        hours = self.st.get("by_hour")
        if hours and self.shows("by_hour"):
            hour_labels = [f.hour(h["hour"]) for h in hours]
            if "requests" in self.show:
                add("requests", "hours", "bar", t["chart_by_hour"], t["unit_requests"],
                    [Series(t["requests"], [h["requests"] for h in hours])], f"{self.key}-hours",
                    t["by_hour"], x_labels=hour_labels, x_title=t["paris_time"])
            else:
                add("bytes", "hours", "bar", t["chart_bytes_by_hour"], f.unit_symbol(self.hour_unit),
                    [Series(t["volume"], [h["bytes"] / self.hour_div for h in hours])], f"{self.key}-hours",
                    t["by_hour"], x_labels=hour_labels, x_title=t["paris_time"])
        return out

    def chart(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.charts if c["id"] == f"{self.key}-{name}"), None)

    def day_charts(self) -> list[dict[str, Any]]:
        return [c for c in self.charts if not c["id"].endswith("-hours")]

# --- renderers --------------------------------------------------------------------------


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


@lru_cache(maxsize=1)
def _template() -> Any:
    # Compiling the template costs more than rendering it: once per process.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2")


def render_html(data: dict[str, Any], lang: str = "fr") -> str:
    fmt = Fmt(lang)
    shown = data.get("show", {})
    views = [SiteView(site, st, fmt, f"s{i}", shown.get(site, METRICS), data["from"], data["to"])
             for i, (site, st) in enumerate(data["sites"].items(), start=1)]
    # The QS section's cells come formatted from reports.qs_view (lead's module).
    qsv = qs_view.view(data["qs"], lang) if data.get("qs") else None
    return _template().render(data=data, f=fmt, t=fmt.t, views=views, lang=lang, METRICS=METRICS, zip=zip,
                              qsv=qsv)


def write_documents(data: dict[str, Any], out_dir: Path, stem: str, formats: Sequence[str],
                    lang: str = "fr") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        if fmt == "json":
            path.write_text(render_json(data), encoding="utf-8")
        elif fmt == "csv":
            path.write_text(render_csv(data, lang), encoding="utf-8", newline="")
        elif fmt == "xlsx":
            render_xlsx(data, path, lang)
        elif fmt == "html":
            path.write_text(render_html(data, lang), encoding="utf-8")
        else:
            raise ValueError(f"format {fmt!r}: use {', '.join(FORMATS)}")
        written.append(path)
    return written
