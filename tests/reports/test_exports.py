"""CSV and XLSX exports read back as a spreadsheet user would: pivot sums, units, formats, sheets.

The data is what ``report weekly|monthly`` writes: ``reports.metrics.reference_stats`` on
the generated logs of ``test_documents.records`` (plus the coverage and misses-by-rule
panels other modules add, by hand), and ``reports.qs.qs_report`` on hand-made registers
(the helpers of ``test_qs``: sites watched by probes all the time and complete log days).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reports import documents, exports
from reports.metrics import reference_stats
from reports.qs import Observations, RequestTimes, qs_report
from reports.registers import Change, Probe
from tests.reports.test_documents import SITE, records
from tests.reports.test_qs import ALL_DAYS, LATER, WATCHED, inc, ts

GENERATED = datetime(2026, 4, 13, 8, 0, tzinfo=UTC)
EVIL_REFERRER = "=HYPERLINK(\"http://x\";\"clic\")"
RULES = {"rows": [{"rule": "html-pages", "ttl_s": 300, "misses": 1200, "requests": 2000},
                  {"rule": "static-assets", "ttl_s": 90_000, "misses": 58, "requests": 900}],
         "with_rule": 1258, "without_rule": 500}
NEW_KEYS = ("audience", "by_hour", "peak", "content", "not_found", "server_errors", "referrers",
            "referring_sites", "browsers", "os", "cache_statuses", "previous", "misses_by_rule", "coverage")


def _coverage(have: list[date], period: list[date]) -> dict[str, Any]:
    missing = [d.isoformat() for d in period if d not in have]
    return {"expected_days": len(period), "days_with_logs": len(period) - len(missing), "missing_days": missing,
            "first_day": period[0].isoformat(), "before_first_day": 0, "not_yet_due": 0,
            "last_file": {"name": "www.a.gouv.fr-2026-04-12.log.gz", "received_at": "2026-04-13T02:10:00+02:00"},
            "complete": not missing}


WEEK = [date(2026, 4, 6) + timedelta(days=k) for k in range(7)]


def weekly_stats(drop: tuple[int, ...] = ()) -> dict[str, Any]:
    """A week of stats with every panel; the days of April in ``drop`` have no log."""
    recs = [r for r in records() if r["time"].day not in drop]
    for i, r in enumerate(recs[:40]):
        r["referer"] = EVIL_REFERRER if i % 2 else "https://www.service-public.fr/particuliers"
    st = reference_stats(recs, [SITE], WEEK[0], WEEK[-1])
    st["misses_by_rule"] = RULES
    st["coverage"] = _coverage([d for d in WEEK if d.day not in drop], WEEK)
    return st


@pytest.fixture(scope="module")
def weekly() -> dict[str, Any]:
    return documents.weekly_data({SITE: weekly_stats(drop=(8, 9))}, "2026-W15", GENERATED)


def month_records(site: str, every: int = 1) -> list[dict[str, Any]]:
    # test_documents' week moved to April 2025 (364 days back keeps the weekdays).
    return [{**r, "site": site, "time": r["time"] - timedelta(days=364)} for i, r in enumerate(records())
            if i % every == 0]


def qs_registers() -> tuple[list[Any], list[Change], list[Probe]]:
    incidents = [
        # a.fr down 1 h (QS-02 fails, QS-04 on time), notified after 5 h (QS-05 late)
        inc("INC-1", "2025-04-03T10:00:00", "2025-04-03T11:00:00", notified="2025-04-03T15:00:00"),
        # b.fr partial impact for 5 h: available, QS-04 late
        inc("INC-2", "2025-04-10T08:00:00", "2025-04-10T13:00:00", "partial", site="b.fr",
            notified="2025-04-10T09:00:00"),
        inc("MAINT", "2025-04-20T02:00:00", "2025-04-20T03:00:00", planned=True),
    ]
    changes = [Change("C1", "a.fr", ts("2025-04-18T16:00:00"), ts("2025-04-19T23:59:00"), ts("2025-04-23T18:00:00"),
                      "TTL des pages à 5 min"),
               Change("C2", "b.fr", ts("2025-04-30T09:00:00"), None, None, "nouvelle règle")]
    probes = [Probe("b.fr", ts("2025-04-15T12:00:00") + timedelta(minutes=k), k == 3) for k in range(4)]
    return incidents, changes, probes


@pytest.fixture(scope="module")
def monthly() -> dict[str, Any]:
    incidents, changes, probes = qs_registers()
    times = [RequestTimes(s, date(2025, 4, d), 1000, 1000, 950 if s == "a.fr" else 800)
             for s in ("a.fr", "b.fr") for d in range(1, 31)]
    qs = qs_report(2025, 4, ["a.fr", "b.fr"], incidents, changes, probes, times, as_of=LATER,
                   seen=Observations(WATCHED, ALL_DAYS))
    stats = {s: reference_stats(month_records(s, every), [s], date(2025, 4, 1), date(2025, 4, 30))
             for s, every in (("a.fr", 1), ("b.fr", 3))}
    return documents.monthly_data(stats, qs, GENERATED)


def read_csv(text: str, lang: str) -> list[dict[str, Any]]:
    """The CSV as a spreadsheet reads it: BOM, the language's separator and decimal mark."""
    assert text.startswith("\ufeff")
    sep, decimal = exports.CSV_FORMATS[lang]
    rows = list(csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=sep))
    for r in rows:
        v = r["value"]
        assert "." not in v if decimal == "," else "," not in v, v
        r["value"] = None if v == "" else float(v.replace(decimal, ".")) if decimal in v else int(v)
    return rows


def pivot(rows: list[dict[str, Any]], level: str, **where: str) -> dict[str, dict[str, float]]:
    """SUM(value) by site and metric over one level (what a pivot table with a level filter gives)."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        if r["level"] == level and all(r[k] == v for k, v in where.items()) and r["value"] is not None:
            out[r["site"]][r["metric"]] += r["value"]
    return out


# JSON path of a site's period figure → its metric.
PERIOD_FIGURES = {
    ("requests",): "requests", ("bytes",): "bytes", ("visitors",): "visitors",
    ("origin_requests",): "origin_requests", ("quarantined",): "quarantined_lines",
    ("cdn_share", "requests"): "cdn_share_requests_ratio", ("cdn_share", "bytes"): "cdn_share_bytes_ratio",
    **{("cache", c): f"cache_{c}_requests" for c in ("hit", "miss", "pass", "error", "unknown")},
    **{("status", f"{n}xx"): f"status_{n}xx_requests" for n in range(1, 6)},
    ("time_taken", "records"): "timed_requests",
    **{("time_taken", q): f"time_taken_{q}_s" for q in ("p50", "p90", "p99")},
    **{("audience", w + "s", k): f"{w}_{k}" for w in ("human", "bot") for k in ("requests", "bytes", "visitors")},
    ("content", "pages", "requests"): "page_requests", ("content", "static", "bytes"): "static_bytes",
    ("coverage", "expected_days"): "expected_days", ("coverage", "days_with_logs"): "covered_days",
    ("misses_by_rule", "with_rule"): "cache_miss_with_rule_requests",
}


def dig(d: Any, path: tuple[str, ...]) -> Any:
    for k in path:
        d = d[k]
    return d


def documented_metrics() -> set[str]:
    """The metric names of the exports' docstring, its shorthands expanded: ``cache_{hit,miss}_bytes``,
    ``status_{1..5}xx_requests``, ``cache_miss_with{,out}_rule_requests``, ``cdn_share_*_ratio``."""
    doc = exports.__doc__ or ""
    names: set[str] = set()
    for word in re.findall(r"[a-z0-9_{},.*]*[a-z_}*][a-z0-9_{},.*]*", doc):
        parts = re.split(r"(\{[^}]*\}|\*)", word.strip(",."))
        options = []
        for part in parts:
            if part == "*":
                options.append(["requests", "bytes"])
            elif part.startswith("{"):
                inner = part[1:-1]
                m = re.fullmatch(r"(\d+)\.\.(\d+)", inner)
                options.append([str(n) for n in range(int(m[1]), int(m[2]) + 1)] if m else inner.split(","))
            else:
                options.append([part])
        names |= {"".join(combo) for combo in itertools.product(*options)}
    return names


# --- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("kind", ["weekly", "monthly"])
def test_csv_pivot_sum_over_the_period_level_equals_the_json(kind: str, lang: str, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue(kind)
    rows = read_csv(exports.render_csv(data, lang), lang)
    sums = pivot(rows, "period")
    for site, st in data["sites"].items():
        for path, metric in PERIOD_FIGURES.items():
            try:
                want = dig(st, path)
            except KeyError:
                assert metric not in sums[site], metric   # absent from the JSON: no row
                continue
            assert sums[site][metric] == pytest.approx(want, rel=1e-12), (site, metric)
        # the days and the hours add up to the period, under the same metric names
        days, hours = pivot(rows, "day", site=site)[site], pivot(rows, "hour", site=site)[site]
        for metric in ("requests", "bytes", "cache_hit_requests", "status_4xx_requests", "bot_requests"):
            assert days[metric] == sums[site][metric if metric != "bot_requests" else "bot_requests"], metric
        assert hours["requests"] == sums[site]["requests"] and hours["bytes"] == sums[site]["bytes"]
        assert days["missing_days"] == sums[site].get("missing_days", 0)
    assert {r["report"] for r in rows} == {kind} and {r["period"] for r in rows} == {data.get("week") or data["month"]}


def test_csv_every_metric_carries_one_unit_and_ratios_stay_ratios(weekly: dict[str, Any],
                                                                  monthly: dict[str, Any]) -> None:
    rows = read_csv(exports.render_csv(weekly), "fr") + read_csv(exports.render_csv(monthly), "fr")
    units: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        units[r["metric"]].add(exports.unit_of(r["metric"]))
        if r["metric"].endswith("_ratio") and r["value"] is not None:
            assert 0 <= r["value"] <= 1, r          # never a percentage in a ratio column
        if r["value"] is not None:
            assert isinstance(r["value"], int | float)
    assert all(len(u) == 1 for u in units.values())
    # The same figure has one name at every level: requests per day, per hour and in total.
    levels = defaultdict(set)
    for r in rows:
        levels[r["metric"]].add(r["level"])
    assert {"period", "day", "hour", "top_path", "previous_period", "peak_hour"} <= levels["requests"]
    assert {"period", "day"} <= levels["time_taken_p50_s"] and {"period", "day"} <= levels["cache_hit_requests"]
    assert {"qs", "qs_day", "qs_history", "qs_year_to_date"} <= levels["availability_ratio"]
    # the module docstring names every metric written
    assert set(units) <= documented_metrics()


def test_csv_french_and_english_text_formats(weekly: dict[str, Any]) -> None:
    fr, en = exports.render_csv(weekly), exports.render_csv(weekly, "en")
    assert fr.encode("utf-8").startswith(b"\xef\xbb\xbf") and en.startswith("\ufeff")
    assert fr.splitlines()[0] == "\ufeff" + ";".join(exports.CSV_HEADER) and "\r\n" in fr
    assert en.splitlines()[0] == "\ufeff" + ",".join(exports.CSV_HEADER)
    share = weekly["sites"][SITE]["cdn_share"]["requests"]
    line = next(x for x in fr.splitlines() if ";period;;;;cdn_share_requests_ratio;" in x)
    assert line.endswith(";" + f"{share:.15g}".replace(".", ",") + ";")
    assert f"period,,,,cdn_share_requests_ratio,{share:.15g}," in en
    # no thousands separator, no exponent
    assert ";period;;;;bytes;" + str(weekly["sites"][SITE]["bytes"]) + ";" in fr
    assert exports.number_text(0.00001234, ",") == "0,00001234" and exports.number_text(7021) == "7021"
    # the same figures in both
    assert [(r["metric"], r["value"]) for r in read_csv(fr, "fr")] == [
        (r["metric"], r["value"]) for r in read_csv(en, "en")]
    # what documents.write_documents writes by default (render_csv(data)) is the French CSV
    assert exports.render_csv(weekly) == exports.render_csv(weekly, "fr")
    with pytest.raises(ValueError, match="language"):
        exports.render_csv(weekly, "de")


def test_csv_text_never_runs_as_a_formula(weekly: dict[str, Any]) -> None:
    rows = read_csv(exports.render_csv(weekly), "fr")
    refs = {r["key"] for r in rows if r["level"] == "referrer"}
    assert "'" + EVIL_REFERRER in refs and EVIL_REFERRER not in refs
    assert exports.safe_text("-") == "-" and exports.safe_text("-1+1") == "'-1+1"
    assert exports.safe_text("/a;b") == "/a;b"


def test_csv_unknown_is_empty_and_absent_is_no_row(weekly: dict[str, Any]) -> None:
    rows = read_csv(exports.render_csv(weekly), "fr")
    # 8 and 9 April have no log: counted missing, their figures empty (not 0)
    period = pivot(rows, "period")[SITE]
    assert (period["expected_days"], period["covered_days"], period["missing_days"]) == (7, 5, 2)
    gap = [r for r in rows if r["level"] == "day" and r["key"] == "2026-04-08"]
    assert {r["metric"]: r["value"] for r in gap}["missing_days"] == 1
    assert all(r["value"] is None for r in gap if r["metric"] != "missing_days")
    assert {"requests", "bytes", "visitors"} <= {r["metric"] for r in gap}
    # an older JSON without the contract's panels: no row for them, never zeros
    old = {k: v for k, v in weekly_stats().items() if k not in NEW_KEYS}
    for d in old["days"]:
        for k in ("bot_requests", "human_visitors", "bot_visitors"):
            d.pop(k, None)
    old["cdn_share"] = {"requests": None, "bytes": None}     # nothing with a known class
    data = documents.weekly_data({SITE: old}, "2026-W15", GENERATED)
    got = read_csv(exports.render_csv(data), "fr")
    assert {r["level"] for r in got} == {"period", "day", "top_path"}
    metrics = {r["metric"] for r in got}
    assert not metrics & {"human_requests", "missing_days", "expected_days", "bot_requests", "page_requests"}
    shares = [r for r in got if r["metric"] == "cdn_share_requests_ratio"]
    assert [r["value"] for r in shares] == [None]


def test_csv_qs_rows(monthly: dict[str, Any]) -> None:
    rows = read_csv(exports.render_csv(monthly), "fr")
    qs = monthly["qs"]
    statuses = {"pass", "fail", "pending", "not_measured", "n/a"}
    assert {r["status"] for r in rows if r["level"].startswith("qs")} <= statuses | {""}
    assert {r["level"] for r in rows if r["level"].startswith("qs") and not r["status"]} == {"qs_outage"}
    assert all(r["status"] == "" and r["indicator"] == "" for r in rows if not r["level"].startswith("qs"))
    overall = {(r["indicator"], r["metric"]): r for r in rows if r["level"] == "qs" and r["site"] == "*"}
    for ind in qs["indicators"]:
        metric = exports.QS_VALUE[ind["id"]]
        row = overall[(ind["id"], metric)]
        want = ind["value"] if ind["unit"] != "%" or ind["value"] is None else ind["value"] / 100
        assert row["value"] == pytest.approx(want) and row["status"] == ind["status"]
    q2 = next(i for i in qs["indicators"] if i["id"] == "QS-02")
    assert q2["status"] == "fail"
    # a.fr 3,600 s (INC-1) + b.fr 180 s (three failed probes)
    assert overall[("QS-02", "unavailable_s")]["value"] == 3780 == q2["unavailable_s"]
    assert overall[("QS-02", "allowed_unavailable_s")]["value"] == pytest.approx(q2["allowed_unavailable_s"])
    assert overall[("QS-02", "target_ratio")]["value"] == pytest.approx(0.9999)
    # per site: a.fr fails QS-02, b.fr passes (partial impact counts as available)
    per_site = {(r["site"], r["indicator"]): r for r in rows if r["level"] == "qs" and r["metric"] == "availability_ratio"}
    assert per_site[("a.fr", "QS-02")]["status"] == "fail" and per_site[("b.fr", "QS-02")]["status"] == "pass"
    # justifying records: a pivot counting them by status gives the on-time and late counts
    for ind in qs["indicators"]:
        if {"on_time", "late", "pending"} <= set(ind):
            count = defaultdict(int)
            for r in rows:
                if r["level"] == "qs_record" and r["indicator"] == ind["id"] and r["metric"] == "records":
                    count[r["status"]] += r["value"]
            assert (count["pass"], count["fail"], count["pending"]) == (ind["on_time"], ind["late"], ind["pending"]), ind["id"]
    restore = {r["key"]: r["value"] for r in rows if r["level"] == "qs_record" and r["metric"] == "restore_s"}
    assert restore == {"INC-1": 3600, "INC-2": 18000, "MAINT": 3600}
    # QS-02 per day and the 13-month history
    days = [r for r in rows if r["level"] == "qs_day" and r["metric"] == "availability_ratio"]
    assert len(days) == 30 and {r["key"]: r["status"] for r in days}["2025-04-03"] == "fail"
    assert {r["key"]: r["value"] for r in days}["2025-04-03"] == pytest.approx((2 * 86400 - 3600) / (2 * 86400))
    history = {r["key"] for r in rows if r["level"] == "qs_history"}
    assert len(history) == 13 and min(history) == "2024-04" and max(history) == "2025-04"
    outages = [r for r in rows if r["level"] == "qs_outage"]
    assert [(r["key"], r["subkey"], r["value"]) for r in outages] == [
        ("2025-04-03T10:00:00+02:00", "2025-04-03T11:00:00+02:00", 3600),
        ("2025-04-15T12:00:00+02:00", "2025-04-15T12:03:00+02:00", 180)]


# --- XLSX -----------------------------------------------------------------------------------

FRENCH_SHEETS = ["Synthèse", "Par jour", "Par heure", "Chemins les plus demandés", "Erreurs 404 et 5xx",
                 "Provenance", "Navigateurs et systèmes", "Statuts de cache", "Période précédente"]
QS_SHEETS = ["Indicateurs QS", *[f"QS-0{n} enregistrements" for n in range(1, 8)], "QS-02 par jour",
             "QS-02 indisponibilités", "Historique 13 mois"]


@pytest.fixture(scope="module")
def books(weekly: dict[str, Any], monthly: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("xlsx")
    paths = {}
    for name, data, lang in (("weekly", weekly, "fr"), ("monthly", monthly, "fr"), ("monthly_en", monthly, "en")):
        paths[name] = out / f"{name}.xlsx"
        exports.render_xlsx(data, paths[name], lang)
    return paths


def load(path: Path) -> Any:
    from openpyxl import load_workbook

    return load_workbook(path)


def header(ws: Any) -> list[Any]:
    return [c.value for c in ws[1]]


def widths(ws: Any) -> dict[int, float]:
    """Each column's width (1-based). A ``<col min max>`` entry gives several neighbouring columns
    of one width (what Excel and XlsxWriter write); openpyxl keys it by its first column only."""
    return {j: dim.width for dim in ws.column_dimensions.values() if dim.customWidth
            for j in range(dim.min, dim.max + 1)}


def test_xlsx_sheets_are_french(books: dict[str, Path]) -> None:
    weekly = load(books["weekly"])
    assert weekly.sheetnames == [*FRENCH_SHEETS[:8], "Échecs de cache par règle", "Période précédente", "À propos"]
    monthly = load(books["monthly"])
    assert monthly.sheetnames == [*[s for s in FRENCH_SHEETS if s != "Période précédente"], "Période précédente",
                                  *QS_SHEETS, "À propos"]
    english = load(books["monthly_en"])
    assert english.sheetnames[:2] == ["Summary", "Per day"] and "QS-02 per day" in english.sheetnames
    assert "13-month history" in english.sheetnames and english["QS indicators"]["A1"].value == "Scope"
    assert header(monthly["Synthèse"])[:3] == ["Site", "Requêtes", "Octets"]
    assert header(monthly["Indicateurs QS"])[:6] == ["Périmètre", "Indicateur", "Intitulé", "Valeur", "Cible",
                                                    "Résultat"]


@pytest.mark.parametrize("name", ["weekly", "monthly", "monthly_en"])
def test_xlsx_headers_widths_and_no_json(books: dict[str, Path], name: str) -> None:
    wb = load(books[name])
    for ws in wb.worksheets:
        heads = header(ws)
        assert heads and all(isinstance(h, str) and h.strip() for h in heads), ws.title
        assert len(set(heads)) == len(heads), ws.title          # a pivot needs distinct headers
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
        width = widths(ws)
        for j, head in enumerate(heads, start=1):
            assert width.get(j, 0) >= min(len(head), exports.MAX_WIDTH), (ws.title, head)
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("{", "[")), (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, datetime | timedelta):
                    # as wide as the date shown ("dd/mm/yyyy hh:mm": 16), or it shows "###"
                    assert cell.is_date and cell.number_format != "General"
                    need = len(cell.number_format.replace("[", "").replace("]", ""))
                    assert width[cell.column] >= need, (ws.title, cell.coordinate)


def test_xlsx_numbers_dates_and_durations(books: dict[str, Path], monthly: dict[str, Any]) -> None:
    wb = load(books["monthly"])
    summary = wb["Synthèse"]
    heads = header(summary)
    a = {h: c for h, c in zip(heads, summary[2], strict=True)}
    st = monthly["sites"]["a.fr"]
    assert a["Site"].value == "a.fr" and a["Requêtes"].value == st["requests"] and a["Octets"].value == st["bytes"]
    assert a["Part CDN (requêtes)"].value == pytest.approx(st["cdn_share"]["requests"])
    assert "%" in a["Part CDN (requêtes)"].number_format and a["Octets"].number_format == "#,##0"
    days = wb["Par jour"]
    col = header(days).index("Jour") + 1
    first = days.cell(row=2, column=col)
    assert isinstance(first.value, datetime) and first.value.date() == date(2025, 4, 7)
    assert first.number_format == "dd/mm/yyyy"
    # records: real Paris datetimes, durations in seconds and as [h]:mm
    q4 = wb["QS-04 enregistrements"]
    heads = header(q4)
    row = {h: c for h, c in zip(heads, q4[2], strict=True)}
    assert row["Identifiant"].value == "INC-1"
    assert row["Début (heure de Paris)"].value == datetime(2025, 4, 3, 10, 0)     # 10:00 CEST, not 08:00 UTC
    assert row["Début (heure de Paris)"].number_format == "dd/mm/yyyy hh:mm"
    assert row["Durée (s)"].value == 3600 and row["Durée (h:mm)"].value == timedelta(hours=1)
    assert row["Durée (h:mm)"].number_format == "[h]:mm" and row["Résultat"].value == "conforme"
    qs = wb["Indicateurs QS"]
    heads = header(qs)
    rows = [{h: c for h, c in zip(heads, r, strict=True)} for r in qs.iter_rows(min_row=2)]
    q2 = next(r for r in rows if r["Indicateur"].value == "QS-02" and r["Périmètre"].value == "Ensemble des sites")
    assert q2["Valeur"].number_format == "0.0000%" and q2["Résultat"].value == "non conforme"
    assert q2["Valeur"].value == pytest.approx(next(i for i in monthly["qs"]["indicators"] if i["id"] == "QS-02")["value"] / 100)
    assert q2["Indisponibilité constatée (s)"].value == 3780 and "Méthode" in heads and "Référence" in heads
    assert q2["Cible"].value == "> 99,99 %"
    q3 = next(r for r in rows if r["Indicateur"].value == "QS-03" and r["Périmètre"].value == "Ensemble des sites")
    assert q3["Valeur"].value == 2 and q3["Valeur"].number_format == "#,##0"
    assert {r["Périmètre"].value for r in rows} == {"Ensemble des sites", "a.fr", "b.fr"} and len(rows) == 21
    history = wb["Historique 13 mois"]
    months = [r[0].value for r in history.iter_rows(min_row=2)]
    assert len(months) == 13 and months[0] == datetime(2024, 4, 1) and months[-1] == datetime(2025, 4, 1)
    daily = wb["QS-02 par jour"]
    assert daily.max_row == 31 and daily.cell(row=4, column=1).value == datetime(2025, 4, 3)


def test_xlsx_text_is_stored_as_text(tmp_path: Path) -> None:
    st = weekly_stats()
    st["top_paths"]["by_requests"].insert(0, {"path": "=1+1", "requests": 1, "bytes": 1})
    st["referrers"].insert(0, {"referrer": "#N/A", "requests": 1})
    path = tmp_path / "t.xlsx"
    exports.render_xlsx(documents.weekly_data({SITE: st}, "2026-W15", GENERATED), path)
    wb = load(path)
    cells = [c for r in wb["Chemins les plus demandés"].iter_rows(min_row=2) for c in r if c.value == "=1+1"]
    assert cells and all(c.data_type == "s" for c in cells)
    refs = [c for r in wb["Provenance"].iter_rows(min_row=2) for c in r if c.value == "#N/A"]
    assert refs and refs[0].data_type == "s"


def test_xlsx_absent_panels_give_no_sheet_and_no_column(tmp_path: Path) -> None:
    old = {k: v for k, v in weekly_stats().items() if k not in NEW_KEYS}
    for d in old["days"]:
        for k in ("bot_requests", "human_visitors", "bot_visitors"):
            d.pop(k, None)
    path = tmp_path / "old.xlsx"
    exports.render_xlsx(documents.weekly_data({SITE: old}, "2026-W15", GENERATED), path)
    wb = load(path)
    assert wb.sheetnames == ["Synthèse", "Par jour", "Chemins les plus demandés", "À propos"]
    assert not {"Requêtes (robots)", "Jours manquants", "Heure de pointe (début, heure de Paris)"} & set(header(wb["Synthèse"]))
    assert "Journaux reçus" not in header(wb["Par jour"])


def test_xlsx_missing_days_are_rows_without_figures(books: dict[str, Path]) -> None:
    ws = load(books["weekly"])["Par jour"]
    heads = header(ws)
    rows = {r[heads.index("Jour")].date(): dict(zip(heads, r, strict=True))
            for r in ws.iter_rows(min_row=2, values_only=True)}
    assert sorted(rows) == WEEK
    gap = rows[date(2026, 4, 8)]
    assert gap["Journaux reçus"] == "non" and gap["Requêtes"] is None and gap["Octets"] is None
    assert rows[date(2026, 4, 6)]["Journaux reçus"] == "oui" and rows[date(2026, 4, 6)]["Requêtes"] == 1000
    summary = dict(zip(header(load(books["weekly"])["Synthèse"]),
                       next(load(books["weekly"])["Synthèse"].iter_rows(min_row=2, values_only=True)), strict=True))
    assert summary["Jours manquants"] == 2 and summary["Liste des jours manquants"] == "2026-04-08, 2026-04-09"


def test_write_documents_writes_the_french_csv_by_default(weekly: dict[str, Any], tmp_path: Path) -> None:
    paths = documents.write_documents(weekly, tmp_path, "w", ["csv", "xlsx"])
    raw = paths[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfreport;period;") and raw.count(b"\r\n") == len(raw.splitlines())
    assert load(paths[1]).sheetnames[0] == "Synthèse"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc-nogui) not installed")
def test_libreoffice_opens_the_workbook(books: dict[str, Path], tmp_path: Path) -> None:
    """A real spreadsheet engine reads the file: every sheet to CSV as shown (LibreOffice ≥ 7.2)."""
    # 44 = ",", 34 = '"', UTF-8, …, token 9 "as shown", token 12 = -1: every sheet to its own file
    target = "csv:Text - txt - csv (StarCalc):44,34,UTF8,1,,0,false,true,true,false,false,-1"
    soffice(books["monthly"], target, tmp_path)
    sheets = {p.stem.removeprefix("monthly-"): p for p in tmp_path.glob("monthly-*.csv")}
    assert set(load(books["monthly"]).sheetnames) <= set(sheets)
    days = list(csv.reader(sheets["Par jour"].open(encoding="utf-8")))
    assert days[0][:2] == ["Site", "Jour"] and days[1][1] == "07/04/2025"
    q4 = list(csv.DictReader(sheets["QS-04 enregistrements"].open(encoding="utf-8")))
    assert q4[0]["Début (heure de Paris)"] == "03/04/2025 10:00" and q4[0]["Durée (h:mm)"] == "1:00"
    qs = list(csv.DictReader(sheets["Indicateurs QS"].open(encoding="utf-8")))
    q2 = next(r for r in qs if r["Indicateur"] == "QS-02")
    assert q2["Valeur"].endswith("%") and q2["Résultat"] == "non conforme"


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice and pdftotext (poppler-utils) not installed")
@pytest.mark.parametrize("name", ["weekly", "monthly"])
def test_libreoffice_prints_no_cell_as_hashes(books: dict[str, Path], tmp_path: Path, name: str) -> None:
    """Printed, every sheet shows its dates and numbers: a column too narrow prints "###"."""
    soffice(books[name], "pdf", tmp_path)
    text = subprocess.run(["pdftotext", str(tmp_path / f"{name}.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Requêtes" in text and "2026" in text
    assert "###" not in text


def soffice(path: Path, target: str, out: Path) -> None:
    proc = subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{out}/profile", "--convert-to",
                           target, "--outdir", str(out), str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
