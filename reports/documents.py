"""The weekly statistics report and the monthly quality report as files: HTML, CSV, XLSX, JSON.

One data dict per document (what the JSON file holds); every other format is rendered
from it, so the figures are the same in each. HTML is self-contained (charts inline as
SVG drawn by pygal, no script; each chart has a title and the data table
beside it as its text alternative) and autoescaped: request paths from the logs are
data, never markup. Numbers and dates are formatted with Babel, French by default.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from reports.calendar import PARIS, month_first_day, month_last_day, parse_month
from reports.config import METRICS
from reports.exports import render_csv, render_xlsx
from reports.qs import QsReport

TEMPLATES = Path(__file__).with_name("templates")
FORMATS = ("html", "csv", "xlsx", "json")

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "weekly": "Rapport hebdomadaire de trafic", "monthly": "Rapport mensuel de qualité de service",
        "site": "Site", "period": "Période", "generated": "Généré le", "day": "Jour", "requests": "Requêtes",
        "bytes": "Octets", "visitors": "Visiteurs", "cdn_share_requests": "Part CDN (requêtes)",
        "cdn_share_bytes": "Part CDN (octets)", "origin_requests": "Requêtes vers l'origine",
        "status": "Classes de statut", "time_taken": "Temps de réponse",
        "top_paths": "Chemins les plus demandés",
        "path": "Chemin", "quarantined": "Lignes en quarantaine", "summary": "Synthèse", "days": "Par jour",
        "indicator": "Indicateur", "value": "Valeur", "target": "Cible", "result": "Résultat",
        "pass": "conforme", "fail": "non conforme", "pending": "en attente", "n/a": "sans objet",
        "records": "Enregistrements justificatifs", "qs": "Indicateurs de qualité (QS-01 à QS-07)",
        "chart_requests": "Requêtes par jour", "chart_bytes": "Octets servis par jour",
        "chart_share": "Part CDN par jour (%)", "chart_status": "Classes de statut par jour",
        "chart_time": "Temps de réponse par jour (s)", "traffic": "Trafic", "id": "Identifiant",
        "passed": "Conforme", "yes": "oui", "no": "non", "overall": "Ensemble des sites",
        "availability": "Disponibilité", "availability_daily": "Disponibilité par jour",
        "unavailable_s": "Indisponibilité (s)", "year_to_date": "Depuis le 1er janvier",
        "history": "13 derniers mois", "month": "Mois",
        "QS-01": "Requêtes servies en moins de 2 s par le CDN", "QS-02": "Disponibilité",
        "QS-03": "Incidents dans le mois", "QS-04": "Service rétabli en moins de 4 h (24 h/24, 7 j/7)",
        "QS-05": "Incidents détectés par le titulaire notifiés sous 4 h",
        "QS-06": "Changements effectifs avant la fin du jour ouvrable suivant",
        "QS-07": "Dossier de définition mis à jour sous 2 jours ouvrés",
    },
    "en": {
        "weekly": "Weekly traffic report", "monthly": "Monthly quality of service report",
        "site": "Site", "period": "Period", "generated": "Generated on", "day": "Day", "requests": "Requests",
        "bytes": "Bytes", "visitors": "Visitors", "cdn_share_requests": "CDN share (requests)",
        "cdn_share_bytes": "CDN share (bytes)", "origin_requests": "Origin requests",
        "status": "Status classes", "time_taken": "Time taken", "top_paths": "Top paths", "path": "Path",
        "quarantined": "Quarantined lines", "summary": "Summary", "days": "Per day",
        "indicator": "Indicator", "value": "Value", "target": "Target", "result": "Result",
        "pass": "pass", "fail": "fail", "pending": "pending", "n/a": "n/a",
        "records": "Justifying records", "qs": "Quality indicators (QS-01 to QS-07)",
        "chart_requests": "Requests per day", "chart_bytes": "Bytes served per day",
        "chart_share": "CDN share per day (%)", "chart_status": "Status classes per day",
        "chart_time": "Time taken per day (s)", "traffic": "Traffic", "id": "Id",
        "passed": "Passed", "yes": "yes", "no": "no", "overall": "All sites",
        "availability": "Availability", "availability_daily": "Availability per day",
        "unavailable_s": "Unavailable (s)", "year_to_date": "Year to date", "history": "Last 13 months",
        "month": "Month",
    },
}
LOCALES = {"fr": "fr_FR", "en": "en_GB"}


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


# --- formatting -------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _percent_pattern(locale: str) -> str:
    return Locale.parse(locale).percent_formats[None].pattern


class Fmt:
    def __init__(self, lang: str) -> None:
        if lang not in LABELS:
            raise ValueError(f"language {lang!r}: use one of {', '.join(LABELS)}")
        self.lang = lang
        self.locale = LOCALES[lang]
        self.t = LABELS[lang]

    def num(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def pct(self, value: float | None, digits: int = 2) -> str:
        """A ratio (0..1) as a percentage."""
        if value is None:
            return "—"
        # The locale's own pattern (fr: "#,##0 %" with a no-break space, en: "#,##0%"), with decimals.
        pattern = _percent_pattern(self.locale)
        pattern = pattern.replace("0", "0." + "0" * digits, 1) if digits else pattern
        return format_percent(value, format=pattern, locale=self.locale)

    def pct100(self, value: float | None, digits: int = 4) -> str:
        """A value already in percent (QS indicators)."""
        return "—" if value is None else self.pct(value / 100, digits)

    def day(self, iso: str, fmt: str = "full") -> str:
        return format_date(date.fromisoformat(iso), format=fmt, locale=self.locale)

    def detail(self, value: object) -> str:
        """A field of a justifying record: numbers in the locale, at most 4 decimals."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return str(value)
        if float(value).is_integer():
            return self.num(value)
        return self.num(value, 4).rstrip("0").rstrip(",.")

    def indicator_value(self, ind: dict[str, Any]) -> str:
        if ind["unit"] == "%":
            return self.pct100(ind["value"])
        return "—" if ind["value"] is None else f"{self.num(ind['value'])} {ind['unit']}"


# --- charts -----------------------------------------------------------------------------


_BLUE = "#000091"
_STATUS_COLORS = ("#999999", "#18753c", "#0063cb", "#b34000", "#ce0500")


def _svg(chart: Any, title: str, chart_id: str) -> Markup:
    # No script (js=[]) and no XML declaration: the SVG is inlined in a self-contained page.
    svg = chart.render(is_unicode=True)
    # pygal still inlines its tooltip configuration as a script; the report needs none.
    svg = re.sub(r"<script\b[^>]*>.*?</script>", "", svg, flags=re.S)
    # An image for assistive technology, named by its title; the table after it has the data.
    svg = re.sub(r"<svg\b", f'<svg role="img" aria-labelledby="{chart_id}-t"', svg, count=1)
    title_el = f'<title id="{chart_id}-t">{Markup.escape(title)}</title>'
    svg = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + title_el, svg, count=1)
    return Markup(svg)  # built by pygal, which escapes the labels it is given


def site_charts(stats: dict[str, Any], fmt: Fmt, key: str, show: Sequence[str] = METRICS) -> list[Markup]:
    import pygal
    from pygal.style import Style

    days = stats["days"]
    if not days:
        return []
    t = fmt.t

    def chart(kind: Any, title: str, colors: Sequence[str] = (_BLUE,), digits: int = 0,
              **options: Any) -> Any:
        style = Style(colors=tuple(colors), background="white", plot_background="white", font_family="Arial",
                      title_font_size=14, label_font_size=11, major_label_font_size=11, legend_font_size=11)
        c = kind(width=700, height=260, title=title, style=style, js=[], disable_xml_declaration=True,
                 x_label_rotation=30, show_legend=len(colors) > 1, legend_at_bottom=True, max_scale=6,
                 legend_at_bottom_columns=5,
                 value_formatter=lambda v: fmt.num(v, digits),
                 **options)
        c.x_labels = [fmt.day(d["day"], "dd/MM" if fmt.lang == "fr" else "dd MMM") for d in days]
        return c

    req = chart(pygal.Bar, t["chart_requests"])
    req.add(t["requests"], [d["requests"] for d in days])
    size = chart(pygal.Bar, t["chart_bytes"])
    size.add(t["bytes"], [d["bytes"] for d in days])
    share = chart(pygal.Line, t["chart_share"], digits=2, range=(0, 100))
    known = [d["hit"] + d["miss"] + d["pass"] for d in days]
    share.add(t["cdn_share_requests"],
              [100 * d["hit"] / k if k else None for d, k in zip(days, known, strict=True)])
    status = chart(pygal.StackedBar, t["chart_status"], colors=_STATUS_COLORS)
    for n in range(1, 6):
        status.add(f"{n}xx", [d[f"s{n}xx"] for d in days])
    times = chart(pygal.Line, t["chart_time"], colors=(_BLUE, "#0063cb", "#6a6af4"), digits=3)
    for p in ("p50", "p90", "p99"):
        times.add(p, [d[p] for d in days])
    charts = (("requests", req, "req"), ("bytes", size, "bytes"), ("cdn_share", share, "share"),
              ("status", status, "status"), ("time_taken", times, "time"))
    return [_svg(c, c.config.title, f"{key}-{name}") for metric, c, name in charts if metric in show]


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
    charts = {site: site_charts(st, fmt, f"c{i}", shown.get(site, METRICS))
              for i, (site, st) in enumerate(data["sites"].items())}
    return _template().render(data=data, f=fmt, t=fmt.t, charts=charts, lang=lang, METRICS=METRICS, zip=zip)


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
