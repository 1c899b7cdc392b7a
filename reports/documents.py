"""The weekly statistics report and the monthly quality report as files: HTML, CSV, XLSX, JSON.

One data dict per document (what the JSON file holds); every other format is rendered
from it, so the figures are the same in each. HTML is self-contained (charts inline as
SVG drawn by pygal, no script; each chart is an image named by its title, which names the
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

__all__ = ["FORMATS", "LABELS", "LOCALES", "Fmt", "SiteView", "monthly_data", "parse_week", "render_csv",
           "render_html", "render_json", "render_xlsx", "weekly_data", "write_documents"]

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
_STATUS_COLORS = ("#666666", "#18753c", "#0063cb", "#b34000", "#ce0500")


def _period_days(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [(a + timedelta(days=k)).isoformat() for k in range((b - a).days + 1)]


def _svg(chart: Any, title: str, chart_id: str) -> Markup:
    """pygal's SVG as an image named by ``title`` and described by the figure's caption (``-d``)."""
    svg = chart.render(is_unicode=True)
    # pygal still inlines its tooltip configuration as a script; the report needs none.
    svg = re.sub(r"<script\b[^>]*>.*?</script>", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)  # pygal's credits, with its web addresses
    svg = re.sub(r"<svg\b", f'<svg role="img" aria-labelledby="{chart_id}-t" aria-describedby="{chart_id}-d"',
                 svg, count=1)
    title_el = f'<title id="{chart_id}-t">{Markup.escape(title)}</title>'
    svg = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + title_el, svg, count=1)
    return Markup(svg)  # built by pygal, which escapes the labels it is given


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


def _chart(kind: Any, fmt: Fmt, title: str, y_title: str, x_labels: Sequence[str],
           series: Sequence[tuple[str, Sequence[float | None]]], colors: Sequence[str] = (_BLUE,),
           fixed: tuple[float, float] | None = None, stacked: bool = False,
           x_title: str | None = None) -> Any:
    """A pygal chart whose y axis starts at 0 and says its unit; ``None`` values are not drawn."""
    from pygal.style import Style

    if stacked:
        columns = zip(*(values for _, values in series), strict=True)
        largest = max((sum(v or 0 for v in col) for col in columns), default=0)
    else:
        largest = max((v for _, values in series for v in values if v is not None), default=0)
    labels, decimals = _axis(largest, fixed)
    style = Style(colors=tuple(colors), background="white", plot_background="white", font_family="Arial",
                  foreground="#161616", foreground_strong="#161616", foreground_subtle="#767676",
                  opacity=".9", opacity_hover=".9",
                  title_font_size=14, label_font_size=11, major_label_font_size=11, legend_font_size=11)
    c = kind(width=700, height=280, title=title, y_title=y_title, x_title=x_title, style=style, js=[],
             disable_xml_declaration=True, x_label_rotation=30 if sum(map(len, x_labels)) * 7 > 600 else 0,
             show_legend=len(series) > 1, legend_at_bottom=True, legend_at_bottom_columns=5,
             range=(labels[0], labels[-1]), y_labels=labels, include_x_axis=True, allow_interruptions=True,
             value_formatter=lambda v: fmt.num(v, decimals), no_data_text=fmt.t["not_available"],
             truncate_label=-1)
    c.x_labels = list(x_labels)
    for name, values in series:
        c.add(name, list(values))
    return c


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
        self.before_first = [d for d in period if first_day and d < first_day and d not in by_day]
        tail = int(cov.get("not_yet_due") or 0)
        self.not_due = [d for d in period[len(period) - tail:] if d not in by_day] if tail else []
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
        return self.f.pct(part / whole if part is not None and whole else None, 1)

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
        import pygal

        f, t, site = self.f, self.f.t, self.site
        # A day without a figure is marked on the axis too (∅), not only left blank. A month's days are
        # numbered, the month said once in the axis title.
        days = [c["day"] for c in self.calendar]
        month = len(days) > 14
        pattern = "dd/MM" if f.lang == "fr" else "dd MMM"
        # (A month's ∅ stands alone: a day number beside it would overlap its neighbours.)
        labels = [("∅" if c["row"] is None else str(int(c["day"][8:]))) if month else
                  f.day(c["day"], pattern) + ("\u00a0∅" if c["row"] is None else "") for c in self.calendar]
        x_title = None
        if month:
            x_title = f.day(days[0], "LLLL y")
            if days[-1][:7] != days[0][:7]:
                x_title = f"{f.day(days[0], 'LLLL')} – {f.day(days[-1], 'LLLL y')}"
        rows = [c["row"] for c in self.calendar]
        out: list[dict[str, Any]] = []

        def add(metric: str, name: str, chart: Any, table: str, table_title: str) -> None:
            if metric in self.show:
                title = chart.config.title
                cid = f"{self.key}-{name}"
                out.append({"id": cid, "title": title, "svg": _svg(chart, title, cid), "table": table,
                            "table_title": table_title, "y_title": chart.config.y_title,
                            "not_drawn": "" if name == "hours" else self.not_drawn})

        traffic, quality = f"{self.key}-days", f"{self.key}-quality"
        if not any(r for r in rows):
            return out
        req = _chart(pygal.Bar, f, f"{t['chart_requests']} — {site}", t["unit_requests"], labels,
                     [(t["requests"], [r["requests"] if r else None for r in rows])], x_title=x_title)
        add("requests", "req", req, traffic, t["days_traffic"])
        size = _chart(pygal.Bar, f, f"{t['chart_bytes']} — {site}", f.unit_symbol(self.day_unit), labels,
                      [(t["volume"], [r["bytes"] / self.day_div if r else None for r in rows])],
                      x_title=x_title)
        add("bytes", "bytes", size, traffic, t["days_traffic"])
        shares = [self.day_share(r) if r else None for r in rows]
        share = _chart(pygal.Line, f, f"{t['chart_share']} — {site}", t["unit_percent"], labels,
                       [(t["cdn_share_requests"], [None if s is None else 100 * s for s in shares])],
                       fixed=(0, 100), x_title=x_title)
        add("cdn_share", "share", share, traffic, t["days_traffic"])
        status = _chart(pygal.StackedBar, f, f"{t['chart_status']} — {site}", t["unit_requests"], labels,
                        [(f"{n}xx", [r[f"s{n}xx"] if r else None for r in rows]) for n in range(1, 6)],
                        colors=_STATUS_COLORS, stacked=True, x_title=x_title)
        add("status", "status", status, quality, t["days_quality"])
        times = _chart(pygal.Line, f, f"{t['chart_time']} — {site}", t["unit_seconds"], labels,
                       [(p, [r[p] if r else None for r in rows]) for p in ("p50", "p90", "p99")],
                       colors=(_BLUE, "#0063cb", "#6a6af4"), x_title=x_title)
        add("time_taken", "time", times, quality, t["days_quality"])
        hours = self.st.get("by_hour")
        if hours and self.shows("by_hour"):
            hour_labels = [f.hour(h["hour"]) for h in hours]
            if "requests" in self.show:
                metric, chart = "requests", _chart(
                    pygal.Bar, f, f"{t['chart_by_hour']} — {site}", t["unit_requests"], hour_labels,
                    [(t["requests"], [h["requests"] for h in hours])])
            else:
                metric, chart = "bytes", _chart(
                    pygal.Bar, f, f"{t['chart_bytes_by_hour']} — {site}", f.unit_symbol(self.hour_unit),
                    hour_labels, [(t["volume"], [h["bytes"] / self.hour_div for h in hours])])
            add(metric, "hours", chart, f"{self.key}-hours", t["by_hour"])
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
            path.write_text(render_csv(data), encoding="utf-8")
        elif fmt == "xlsx":
            render_xlsx(data, path, lang)
        elif fmt == "html":
            path.write_text(render_html(data, lang), encoding="utf-8")
        else:
            raise ValueError(f"format {fmt!r}: use {', '.join(FORMATS)}")
        written.append(path)
    return written
