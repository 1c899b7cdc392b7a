"""Exports of a report's data for spreadsheets: a CSV made for pivot tables and an XLSX workbook.

Both are rendered from the report's data dict (what the JSON file holds: ``sites`` →
one stats dict per site, ``qs`` → ``reports.qs.QsReport.to_json()`` in a monthly
report), so their figures are the JSON's. Nothing here computes a figure, except
counting the missing days the coverage lists and turning percentages into ratios.
A key absent from the data (a JSON written before a panel existed) gives no row and no
column, never a 0; a key present with ``None`` (a figure that could not be computed)
gives an empty value.

CSV: one tidy long table
------------------------

One row per figure, for pivot tables (Excel, LibreOffice, pandas)::

    report,period,site,level,key,subkey,indicator,metric,value,status

- ``report``: weekly | monthly; ``period``: ``2026-W15`` | ``2026-04``;
- ``site``: the site; on QS rows of all sites together ``*`` (the site in a one-site report);
- ``level``: what the row describes, with its ``key`` and ``subkey`` (table below).
  **Filter a pivot table on one level**: levels overlap (a period's requests are the
  sum of its days', and of its hours'), so a sum over every level counts them twice;
- ``indicator``: QS-01..QS-07 on QS rows, else empty;
- ``metric``: one name per figure, the same at every level, ending with its unit
  (:data:`UNITS`): ``requests``, ``bytes``, ``visitors``, ``lines``, ``days``,
  ``incidents``, ``records``, ``probes``, ``_s`` (seconds), ``requests_per_s``,
  ``mbit_per_s``, ``_ratio`` (0..1: a share is never written as a percentage, QS values
  in % included: 99.99 % is 0.9999);
- ``value``: a number, or empty when unknown (a day without logs, a share of nothing):
  never 0 for "unknown";
- ``status``: on QS rows, the verdict of what the row describes (the indicator, the
  record, the day, the month): pass | fail | pending | not_measured | n/a (empty on
  outages and unobserved spans, which have no verdict). Column names, levels, metrics
  and status words are the same in both languages: they are codes to filter on.

Levels, with their ``key`` / ``subkey`` and metrics:

- ``period`` (no key): requests, bytes, visitors, origin_requests, quarantined_lines,
  cdn_share_requests_ratio, cdn_share_bytes_ratio, cache_{hit,miss,pass,error,unknown}_requests,
  status_{1..5}xx_requests, timed_requests, time_taken_p{50,90,99}_s,
  {human,bot}_{requests,bytes,visitors}, {page,static}_{requests,bytes}, expected_days,
  covered_days, missing_days, cache_miss_with_rule_requests, cache_miss_without_rule_requests;
- ``day`` (the day, ISO): the day rows' figures under the same names, plus
  cache_{hit,miss,pass}_bytes; a day the coverage lists as missing has missing_days = 1
  and its other figures empty (so the days' missing_days add up to the period's);
- ``hour`` (00..23, Paris clock hour of day): requests, bytes;
- ``peak_hour`` (its start, Paris ISO time): requests, bytes, requests_per_s, mbit_per_s;
- ``previous_period`` (first day / last day): requests, bytes, visitors, cdn_share_*_ratio;
- ``top_path`` (path): requests, bytes; ``not_found`` (path / 404) and ``server_error``
  (path / status): requests; ``referrer`` (referrer), ``referring_site`` (host),
  ``browser`` and ``os`` (family): requests; ``cache_status`` (raw status, empty when the
  log has none / class): requests, bytes; ``rule`` (rule id): ttl_s, cache_miss_requests,
  requests;
- ``qs`` (indicator): its value — under_2s_ratio (QS-01), availability_ratio (QS-02),
  incidents (QS-03), on_time_ratio (QS-04..07) —, target_ratio or target_incidents, and
  the figures it rests on: requests, timed_requests, under_2s_requests, expected_days,
  covered_days, log_coverage_ratio (QS-01); measured_s, unavailable_s,
  allowed_unavailable_s, availability_worst_case_ratio, probes, observed_s, period_s,
  unobserved_s, observed_ratio (QS-02); on_time_records, late_records, pending_records
  (QS-04..07). Rows of all sites together, then each site's;
- ``qs_year_to_date`` (year): availability_ratio, unavailable_s, measured_s, observed_ratio;
- ``qs_day`` (day): availability_ratio, unavailable_s, measured_s, period_s, observed_ratio;
- ``qs_outage`` (start / end, Paris ISO): unavailable_s; ``qs_unobserved`` (start / end):
  unobserved_s;
- ``qs_record`` (record id / its site): records (1 each: a pivot counts them by status),
  and by indicator requests, timed_requests, under_2s_requests, under_2s_ratio (QS-01),
  in_month_s (QS-02), restore_s (QS-04), notification_s (QS-05);
- ``qs_history`` (month, YYYY-MM): the indicator's value.

Text format: ``lang="fr"`` (the default, what French Excel opens in columns) writes
``;`` between fields and a decimal comma; ``lang="en"`` writes ``,`` and ``.``. Both are
UTF-8 **with a BOM** (without it Excel reads UTF-8 as the local code page, paths and
referrers included) and CRLF line ends (RFC 4180); numbers have no thousands separator
and no exponent. A text field a spreadsheet would run as a formula (starting with
``=``, ``+``, ``@``, a tab, or ``-`` followed by more) — a logged path or referrer is
chosen by whoever sent the request — is written with a leading ``'``.

XLSX: one sheet per table
-------------------------

Sheet names, headers and words in the report's language (French by default): summary
(one row per site), per day, per hour, top paths, 404 and 5xx, referrers, browsers and
OS, cache statuses, misses by rule, previous period (each when its panel is present),
then in a monthly report the QS indicators (all sites, then each site), one sheet of
justifying records per indicator (its own columns), QS-02 per day and its merged
outages, the 13-month history, and "about" (report, period, generation and as-of
dates). The QS words, names, methods and reasons are those of the HTML
(``reports.qs_view``). Every column has a distinct header and a width fitted to its
content (a date never prints "###"); the header row is frozen with a filter; sheets
print in landscape, one page wide when legible. Numbers are numbers with a format
(ratios as percentages, sizes and counts grouped, seconds); dates and times are real
Excel dates in Europe/Paris time (Excel has no time zones: the headers say so);
durations are given in seconds and as ``[h]:mm``. Text is always stored as text (a path
"=1+1" is not a formula).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from reports.calendar import PARIS

# --- the CSV ----------------------------------------------------------------------------

CSV_HEADER = ["report", "period", "site", "level", "key", "subkey", "indicator", "metric", "value",
              "status"]

# The unit of a metric is the end of its name; the longest ending wins (requests_per_s
# before _s). A metric the exports write must end with one of these (a test checks it).
UNITS: dict[str, str] = {
    "requests_per_s": "requests per second", "mbit_per_s": "megabits per second",
    "_ratio": "ratio 0..1", "_s": "seconds",
    "requests": "requests", "bytes": "bytes", "visitors": "visitors", "lines": "log lines",
    "days": "days", "incidents": "incidents", "records": "records", "probes": "probe results",
}


_ENDINGS = sorted(UNITS, key=len, reverse=True)


@functools.cache
def unit_of(metric: str) -> str:
    """The unit a metric name carries (ValueError when it carries none)."""
    for end in _ENDINGS:
        if metric == end or metric.endswith(end if end.startswith("_") else f"_{end}"):
            return UNITS[end]
    raise ValueError(f"metric {metric!r} does not end with a unit ({', '.join(UNITS)})")


Value = int | float | None


class Row(NamedTuple):
    """One figure of the CSV, before ``report`` and ``period`` are added."""

    site: str
    level: str
    key: str
    subkey: str
    indicator: str
    metric: str
    value: Value
    status: str = ""


# The day rows' keys (reports.metrics) → metric names; keys not listed are not figures.
DAY_METRICS = {
    "requests": "requests", "bytes": "bytes", "visitors": "visitors", "timed": "timed_requests",
    **{c: f"cache_{c}_requests" for c in ("hit", "miss", "pass", "error", "unknown")},
    **{f"{c}_bytes": f"cache_{c}_bytes" for c in ("hit", "miss", "pass")},
    **{f"s{n}xx": f"status_{n}xx_requests" for n in range(1, 6)},
    **{p: f"time_taken_{p}_s" for p in ("p50", "p90", "p99")},
    "bot_requests": "bot_requests", "human_visitors": "human_visitors", "bot_visitors": "bot_visitors",
}

# The metric of an indicator's value (the JSON gives % values in percent: written as ratios).
QS_VALUE = {"QS-01": "under_2s_ratio", "QS-02": "availability_ratio", "QS-03": "incidents",
            "QS-04": "on_time_ratio", "QS-05": "on_time_ratio", "QS-06": "on_time_ratio",
            "QS-07": "on_time_ratio"}


def _ratio(percent: Any) -> float | None:
    return None if percent is None else float(percent) / 100


def _num(value: Any) -> Value:
    if value is None or isinstance(value, bool):
        return None
    return value if isinstance(value, int | float) else float(value)


class _Rows:
    """Collects the rows of one site (or QS scope); ``put`` skips what the data does not have."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.rows: list[Row] = []

    def add(self, level: str, metric: str, value: Any, key: Any = "", subkey: Any = "", indicator: str = "",
            status: str = "") -> None:
        unit_of(metric)  # every metric carries its unit
        self.rows.append(Row(self.site, level, "" if key is None else str(key),
                             "" if subkey is None else str(subkey), indicator, metric, _num(value), status))

    def put(self, level: str, source: Mapping[str, Any] | None, names: Mapping[str, str], key: Any = "",
            subkey: Any = "", indicator: str = "", status: str = "") -> None:
        """One row per ``names`` key present in ``source`` (JSON key → metric)."""
        if not isinstance(source, Mapping):
            return
        for k, metric in names.items():
            if k in source:
                self.add(level, metric, source[k], key, subkey, indicator, status)


def _same(*names: str) -> dict[str, str]:
    """JSON keys that are already metric names."""
    return {n: n for n in names}


def _missing_days(cov: Mapping[str, Any]) -> list[str]:
    # Several sites reported together name their missing days "site day".
    return sorted({str(d).split()[-1] for d in cov.get("missing_days", [])})


def _traffic_rows(site: str, st: Mapping[str, Any]) -> list[Row]:
    r = _Rows(site)
    p = "period"
    r.put(p, st, {**_same("requests", "bytes", "visitors", "origin_requests"),
                  "quarantined": "quarantined_lines"})
    r.put(p, st.get("cdn_share"), {"requests": "cdn_share_requests_ratio", "bytes": "cdn_share_bytes_ratio"})
    r.put(p, st.get("cache"), {c: f"cache_{c}_requests" for c in ("hit", "miss", "pass", "error", "unknown")})
    r.put(p, st.get("status"), {f"{n}xx": f"status_{n}xx_requests" for n in range(1, 6)})
    r.put(p, st.get("time_taken"), {"records": "timed_requests",
                                     **{q: f"time_taken_{q}_s" for q in ("p50", "p90", "p99")}})
    audience = st.get("audience") or {}
    for who, prefix in (("humans", "human"), ("bots", "bot")):
        r.put(p, audience.get(who), {k: f"{prefix}_{k}" for k in ("requests", "bytes", "visitors")})
    content = st.get("content") or {}
    for what, prefix in (("pages", "page"), ("static", "static")):
        r.put(p, content.get(what), {k: f"{prefix}_{k}" for k in ("requests", "bytes")})
    cov = st.get("coverage")
    missing = _missing_days(cov) if isinstance(cov, Mapping) else []
    if isinstance(cov, Mapping):
        r.put(p, cov, {"expected_days": "expected_days", "days_with_logs": "covered_days"})
        r.add(p, "missing_days", len(missing))
    rules = st.get("misses_by_rule")
    r.put(p, rules, {"with_rule": "cache_miss_with_rule_requests",
                     "without_rule": "cache_miss_without_rule_requests"})

    day_rows = st.get("days") or []
    seen = set()
    for d in day_rows:
        seen.add(d["day"])
        r.put("day", d, DAY_METRICS, key=d["day"])
    present = [k for k in DAY_METRICS if any(k in d for d in day_rows)] or ["requests", "bytes", "visitors"]
    for day in missing:
        r.add("day", "missing_days", 1, key=day)
        if day not in seen:
            for k in present:
                r.add("day", DAY_METRICS[k], None, key=day)

    for h in st.get("by_hour") or []:
        r.put("hour", h, _same("requests", "bytes"), key=f"{int(h['hour']):02d}")
    peak = st.get("peak")
    if isinstance(peak, Mapping):
        r.put("peak_hour", peak, _same("requests", "bytes", "requests_per_s", "mbit_per_s"),
              peak.get("start"))
    prev = st.get("previous")
    if isinstance(prev, Mapping):
        key, sub = prev.get("from"), prev.get("to")
        r.put("previous_period", prev, _same("requests", "bytes", "visitors"), key, sub)
        r.put("previous_period", prev.get("cdn_share"),
              {"requests": "cdn_share_requests_ratio", "bytes": "cdn_share_bytes_ratio"}, key, sub)
    top = st.get("top_paths") or {}
    listed: set[str] = set()
    for entry in [*top.get("by_requests", []), *top.get("by_bytes", [])]:
        if entry["path"] not in listed:
            listed.add(entry["path"])
            r.put("top_path", entry, _same("requests", "bytes"), key=entry["path"])
    for e in st.get("not_found") or []:
        r.put("not_found", e, _same("requests"), e["path"], 404)
    for e in st.get("server_errors") or []:
        r.put("server_error", e, _same("requests"), e["path"], e.get("status"))
    lists = (("referrer", "referrers", "referrer"), ("referring_site", "referring_sites", "host"),
             ("browser", "browsers", "family"), ("os", "os", "family"))
    for level, list_key, name in lists:
        for e in st.get(list_key) or []:
            r.put(level, e, _same("requests"), key=e.get(name))
    for e in st.get("cache_statuses") or []:
        r.put("cache_status", e, _same("requests", "bytes"), e.get("status"), e.get("class"))
    if isinstance(rules, Mapping):
        for e in rules.get("rows", []):
            r.put("rule", e, {"ttl_s": "ttl_s", "misses": "cache_miss_requests", "requests": "requests"},
                  e.get("rule"))
    return r.rows


def _verdict(passed: Any, undecided: str = "pending") -> str:
    return {True: "pass", False: "fail"}.get(passed, undecided)  # type: ignore[call-overload]


def record_status(indicator: str, d: Mapping[str, Any]) -> str:
    """A justifying record's verdict: a record the indicator does not count is n/a."""
    if d.get("applicable", True) is False or d.get("counted", True) is False:
        return "n/a"
    return _verdict(d.get("passed"), "not_measured" if indicator == "QS-01" else "pending")


def _qs_indicator_rows(r: _Rows, ind: Mapping[str, Any], unit: str) -> None:
    i, status = str(ind["id"]), str(ind.get("status") or _verdict(ind.get("passed"), "not_measured"))
    percent = unit == "%"
    value = ind.get("value")
    r.add("qs", QS_VALUE[i], _ratio(value) if percent else value, indicator=i, status=status)
    if "target" in ind:
        target = ind["target"]
        r.add("qs", "target_ratio" if percent else "target_incidents", _ratio(target) if percent else target,
              indicator=i, status=status)
    put = {"indicator": i, "status": status}
    r.put("qs", ind, {"requests": "requests", "timed": "timed_requests", "under_2s": "under_2s_requests",
                      "measured_s": "measured_s", "unavailable_s": "unavailable_s",
                      "allowed_unavailable_s": "allowed_unavailable_s", "on_time": "on_time_records",
                      "late": "late_records", "pending": "pending_records"}, **put)
    if "worst_case" in ind:
        r.add("qs", "availability_worst_case_ratio", _ratio(ind["worst_case"]), **put)
    cov = ind.get("coverage")
    if isinstance(cov, Mapping):
        if i == "QS-01":
            r.put("qs", cov, {"expected_days": "expected_days", "days_with_logs": "covered_days",
                              "share": "log_coverage_ratio"}, **put)
        else:
            r.put("qs", cov, {"probes": "probes", "observed_s": "observed_s", "period_s": "period_s",
                              "unobserved_s": "unobserved_s", "share": "observed_ratio"}, **put)


def _qs_rows(qs: Mapping[str, Any]) -> list[Row]:
    scope = str(qs.get("site") or "*")
    units = {str(i["id"]): str(i.get("unit", "")) for i in qs.get("indicators", [])}
    main = _Rows(scope)
    for ind in qs.get("indicators", []):
        i = str(ind["id"])
        _qs_indicator_rows(main, ind, units[i])
        ytd = ind.get("year_to_date")
        if isinstance(ytd, Mapping):
            year = str(qs.get("month", ""))[:4]
            main.add("qs_year_to_date", "availability_ratio", _ratio(ytd.get("availability")), year,
                     indicator=i, status=_verdict(ytd.get("passed"), "not_measured"))
            main.put("qs_year_to_date", ytd,
                     {**_same("unavailable_s", "measured_s"), "coverage": "observed_ratio"},
                     year, indicator=i, status=_verdict(ytd.get("passed"), "not_measured"))
        for d in ind.get("daily") or []:
            st = _verdict(d.get("passed"), "not_measured")
            main.add("qs_day", "availability_ratio", _ratio(d.get("availability")), d["day"], indicator=i,
                     status=st)
            main.put("qs_day", d,
                     {**_same("unavailable_s", "measured_s", "period_s"), "coverage": "observed_ratio"},
                     d["day"], indicator=i, status=st)
        for o in ind.get("outages") or []:
            main.add("qs_outage", "unavailable_s", o.get("seconds"), o.get("start"), o.get("end"), i)
        cov = ind.get("coverage")
        for g in (cov.get("longest_unobserved") or []) if isinstance(cov, Mapping) else []:
            main.add("qs_unobserved", "unobserved_s", g.get("seconds"), g.get("start"), g.get("end"), i)
        for d in ind.get("details") or []:
            st = record_status(i, d)
            key, sub = d.get("id"), d.get("site")
            main.add("qs_record", "records", 1, key, sub, i, st)
            main.put("qs_record", d, {"requests": "requests", "timed": "timed_requests",
                                      "under_2s": "under_2s_requests", "seconds_in_month": "in_month_s",
                                      "restore_s": "restore_s", "notification_s": "notification_s"},
                     key, sub, i, st)
            if "share" in d:
                main.add("qs_record", "under_2s_ratio", _ratio(d["share"]), key, sub, i, st)
    rows = main.rows
    for site, inds in (qs.get("per_site") or {}).items():
        r = _Rows(site)
        for ind in inds:
            _qs_indicator_rows(r, ind, units.get(str(ind["id"]), ""))
        rows += r.rows
    for h in qs.get("history") or []:
        for ind in h.get("indicators", []):
            i = str(ind["id"])
            value = ind.get("value")
            main_unit = units.get(i, "%")
            rows.append(Row(scope, "qs_history", str(h["month"]), "", i, QS_VALUE[i],
                            _num(_ratio(value) if main_unit == "%" else value),
                            str(ind.get("status") or _verdict(ind.get("passed"), "not_measured"))))
    return rows


def rows(data: Mapping[str, Any]) -> list[Row]:
    """Every figure of a report, traffic (per site) then QS."""
    out: list[Row] = []
    for site, st in data["sites"].items():
        out += _traffic_rows(site, st)
    qs = data.get("qs")
    if isinstance(qs, Mapping):
        out += _qs_rows(qs)
    return out


CSV_FORMATS = {"fr": (";", ","), "en": (",", ".")}
_FORMULA_START = ("=", "+", "@", "\t", "\r")


def number_text(value: Value, decimal: str = ".") -> str:
    """A number as a spreadsheet reads it: no grouping, no exponent, 15 significant digits."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = f"{value:.15g}"
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text.replace(".", decimal)


def safe_text(text: str) -> str:
    """Text a spreadsheet would run as a formula gets a leading ``'`` (CSV injection)."""
    if text.startswith(_FORMULA_START) or (text.startswith("-") and len(text) > 1):
        return "'" + text
    return text


def render_csv(data: Mapping[str, Any], lang: str = "fr") -> str:
    """The CSV text (BOM first): ``;`` and decimal comma in French, ``,`` and ``.`` in English."""
    if lang not in CSV_FORMATS:
        raise ValueError(f"language {lang!r}: use one of {', '.join(CSV_FORMATS)}")
    sep, decimal = CSV_FORMATS[lang]
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    # level, indicator, metric and status are this module's codes: only the site, the key and
    # the subkey (paths, referrers, user agents from the logs) can need a leading "'".
    kind, period = safe_text(str(data["kind"])), safe_text(_period(data))
    safe = functools.cache(safe_text)
    writer.writerows((kind, period, safe(r.site), r.level, safe(r.key), safe(r.subkey), r.indicator, r.metric,
                      "" if (v := r.value) is None else str(v) if type(v) is int else number_text(v, decimal),
                      r.status) for r in rows(data))
    return buf.getvalue()


# --- the XLSX ---------------------------------------------------------------------------

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        # sheet names (at most 31 characters, none of []:*?/\)
        "sh_summary": "Synthèse", "sh_days": "Par jour", "sh_hours": "Par heure",
        "sh_top": "Chemins les plus demandés", "sh_errors": "Erreurs 404 et 5xx",
        "sh_referrers": "Provenance", "sh_agents": "Navigateurs et systèmes", "sh_cache": "Statuts de cache",
        "sh_rules": "Échecs de cache par règle", "sh_previous": "Période précédente",
        "sh_qs": "Indicateurs QS", "sh_records": "{id} enregistrements", "sh_daily": "QS-02 par jour",
        "sh_outages": "QS-02 indisponibilités", "sh_history": "Historique 13 mois", "sh_about": "À propos",
        # headers and words
        "site": "Site", "day": "Jour", "logs": "Journaux reçus", "requests": "Requêtes", "bytes": "Octets",
        "visitors": "Visiteurs", "human_requests": "Requêtes (humains)", "bot_requests": "Requêtes (robots)",
        "human_bytes": "Octets (humains)", "bot_bytes": "Octets (robots)",
        "human_visitors": "Visiteurs (humains)", "bot_visitors": "Visiteurs (robots)",
        "page_requests": "Requêtes (pages)", "page_bytes": "Octets (pages)",
        "static_requests": "Requêtes (fichiers statiques)", "static_bytes": "Octets (fichiers statiques)",
        "cdn_share_requests": "Part CDN (requêtes)", "cdn_share_bytes": "Part CDN (octets)",
        "origin_requests": "Requêtes vers l'origine", "cache_requests": "Cache {c} (requêtes)",
        "cache_bytes": "Cache {c} (octets)", "status_requests": "Statut {c} (requêtes)",
        "timed": "Requêtes avec temps mesuré", "time_taken": "Temps de réponse {q} (s)",
        "peak_start": "Heure de pointe (début, heure de Paris)",
        "peak_requests": "Requêtes à l'heure de pointe", "peak_bytes": "Octets à l'heure de pointe",
        "peak_rps": "Requêtes par seconde (pointe)", "peak_mbps": "Débit à l'heure de pointe (Mbit/s)",
        "quarantined": "Lignes en quarantaine", "expected_days": "Jours attendus",
        "covered_days": "Jours avec journaux", "missing_days": "Jours manquants",
        "missing_list": "Liste des jours manquants", "last_file": "Dernier fichier reçu",
        "last_file_at": "Reçu le (heure de Paris)", "with_rule": "Échecs de cache avec règle",
        "without_rule": "Échecs de cache sans règle", "hour": "Heure (début, heure de Paris)",
        "ranking": "Classement", "by_requests": "par requêtes", "by_bytes": "par octets", "rank": "Rang",
        "path": "Chemin", "status": "Statut HTTP", "kind": "Type", "referrer": "Page de provenance",
        "referring_site": "Site de provenance", "origin": "Provenance", "browser": "Navigateur",
        "os": "Système d'exploitation", "family": "Famille", "raw_status": "Statut de cache brut",
        "class": "Classe", "rule": "Règle", "ttl_s": "TTL (s)", "ttl_hmm": "TTL (h:mm)",
        "misses": "Échecs de cache", "figure": "Chiffre", "this_period": "Cette période",
        "previous_period": "Période précédente", "previous_from": "Début de la période précédente",
        "previous_to": "Fin de la période précédente", "scope": "Périmètre", "name": "Intitulé",
        "late": "En retard", "pending": "En attente", "seconds": "{what} (s)", "hmm": "{what} (h:mm)",
        "at": "{what} (heure de Paris)", "period_s": "Temps mesurable (s)", "resolved": "Rétabli le",
        "applicable": "Applicable", "record_id": "Identifiant", "checked": "Date contrôlée", "field": "Champ",
        "value_col": "Valeur", "report": "Rapport", "period": "Période", "from": "Du", "to": "Au",
        "generated": "Généré le", "as_of": "Situation au", "timezone": "Fuseau horaire", "sites": "Sites",
        "timezone_value": "Europe/Paris (dates et heures des feuilles en heure de Paris)",
        "weekly": "Rapport hebdomadaire de trafic", "monthly": "Rapport mensuel de qualité de service",
        "history_value": "{id} valeur", "history_result": "{id} résultat", "yes": "oui", "no": "non",
        "availability": "Disponibilité",
    },
    "en": {
        # sheet names (at most 31 characters, none of []:*?/\)
        "sh_summary": "Summary", "sh_days": "Per day", "sh_hours": "Per hour", "sh_top": "Top paths",
        "sh_errors": "404 and 5xx errors", "sh_referrers": "Referrers", "sh_agents": "Browsers and OS",
        "sh_cache": "Cache statuses", "sh_rules": "Cache misses by rule", "sh_previous": "Previous period",
        "sh_qs": "QS indicators", "sh_records": "{id} records", "sh_daily": "QS-02 per day",
        "sh_outages": "QS-02 outages", "sh_history": "13-month history", "sh_about": "About",
        # headers and words
        "site": "Site", "day": "Day", "logs": "Logs received", "requests": "Requests", "bytes": "Bytes",
        "visitors": "Visitors", "human_requests": "Requests (humans)", "bot_requests": "Requests (bots)",
        "human_bytes": "Bytes (humans)", "bot_bytes": "Bytes (bots)", "human_visitors": "Visitors (humans)",
        "bot_visitors": "Visitors (bots)", "page_requests": "Requests (pages)", "page_bytes": "Bytes (pages)",
        "static_requests": "Requests (static files)", "static_bytes": "Bytes (static files)",
        "cdn_share_requests": "CDN share (requests)", "cdn_share_bytes": "CDN share (bytes)",
        "origin_requests": "Origin requests", "cache_requests": "Cache {c} (requests)",
        "cache_bytes": "Cache {c} (bytes)", "status_requests": "Status {c} (requests)",
        "timed": "Requests with a time taken", "time_taken": "Time taken {q} (s)",
        "peak_start": "Peak hour (start, Paris time)", "peak_requests": "Requests in the peak hour",
        "peak_bytes": "Bytes in the peak hour", "peak_rps": "Requests per second (peak)",
        "peak_mbps": "Peak hour throughput (Mbit/s)", "quarantined": "Quarantined lines",
        "expected_days": "Expected days", "covered_days": "Days with logs", "missing_days": "Missing days",
        "missing_list": "Missing days (list)", "last_file": "Last file received",
        "last_file_at": "Received at (Paris time)", "with_rule": "Cache misses with a rule",
        "without_rule": "Cache misses without a rule", "hour": "Hour (start, Paris time)",
        "ranking": "Ranking", "by_requests": "by requests", "by_bytes": "by bytes", "rank": "Rank",
        "path": "Path", "status": "HTTP status", "kind": "Kind", "referrer": "Referrer",
        "referring_site": "Referring site", "origin": "Origin", "browser": "Browser",
        "os": "Operating system", "family": "Family", "raw_status": "Raw cache status", "class": "Class",
        "rule": "Rule", "ttl_s": "TTL (s)", "ttl_hmm": "TTL (h:mm)", "misses": "Cache misses",
        "figure": "Figure", "this_period": "This period", "previous_period": "Previous period",
        "previous_from": "Previous period start", "previous_to": "Previous period end", "scope": "Scope",
        "name": "Name", "late": "Late", "pending": "Pending", "seconds": "{what} (s)", "hmm": "{what} (h:mm)",
        "at": "{what} (Paris time)", "period_s": "Measurable time (s)", "resolved": "Restored",
        "applicable": "Applicable", "record_id": "Id", "checked": "Date checked", "field": "Field",
        "value_col": "Value", "report": "Report", "period": "Period", "from": "From", "to": "To",
        "generated": "Generated", "as_of": "As of", "timezone": "Time zone", "sites": "Sites",
        "timezone_value": "Europe/Paris (the sheets' dates and times are Paris time)",
        "weekly": "Weekly traffic report", "monthly": "Monthly quality of service report",
        "history_value": "{id} value", "history_result": "{id} result", "yes": "yes", "no": "no",
        "availability": "Availability",
    },
}

# Number formats by column kind; the codes are locale-neutral (Excel and LibreOffice show the
# reader's separators), dates are written the report language's way.
_FORMATS: dict[str, dict[str, str]] = {
    "fr": {"date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm", "month": "mm/yyyy"},
    "en": {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm", "month": "yyyy-mm"},
}
_NUMBER_FORMATS = {"int": "#,##0", "ratio": "0.00%", "ratio4": "0.0000%", "secs3": "0.000",
                   "rate": "#,##0.00", "time": "hh:mm", "hmm": "[h]:mm"}
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
MAX_WIDTH = 60
PRINT_WIDTH = 250


@dataclass(frozen=True)
class Typed:
    """A cell whose kind differs from its column's (a ratio in a column of values)."""

    value: Any
    kind: str


@dataclass(frozen=True)
class Column:
    header: str
    # text | int | ratio | ratio4 (QS-02) | secs3 (time taken) | seconds (durations) | rate | hmm
    # (a duration in seconds shown as [h]:mm) | date | datetime | time | month
    kind: str = "text"


def _paris(value: str | datetime) -> datetime:
    """An instant as the naive Paris wall-clock time Excel stores (it has no time zones)."""
    ts = datetime.fromisoformat(value) if isinstance(value, str) else value
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=PARIS)
    return ts.astimezone(PARIS).replace(tzinfo=None)


def _excel(kind: str, value: Any) -> Any:
    """The value written to the cell for a column kind (None and "" stay an empty cell)."""
    if value is None or value == "":
        return None
    if kind == "date":
        return date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if kind == "datetime":
        return _paris(value)
    if kind == "month":
        year, month = str(value).split("-")[:2]
        return date(int(year), int(month), 1)
    if kind == "time":
        return time(int(value)) if isinstance(value, int) else value
    if kind == "hmm":
        return float(value) / 86400
    if kind == "text":
        return _ILLEGAL.sub("\ufffd", str(value))
    return value


def _format(kind: str, value: Any, lang: str) -> str | None:
    if kind in _FORMATS[lang]:
        return _FORMATS[lang][kind]
    if kind == "seconds":
        return "#,##0" if float(value).is_integer() else "#,##0.000"
    return _NUMBER_FORMATS.get(kind)


def _shown_width(kind: str, value: Any) -> int:
    """About how many characters the cell shows (for the column width)."""
    if value is None:
        return 0
    if kind in ("ratio", "ratio4"):
        return len(f"{value * 100:,.{4 if kind == 'ratio4' else 2}f}") + 2
    if kind == "int":
        return len(f"{value:,.0f}")
    if kind in ("secs3", "seconds", "rate"):
        return len(f"{value:,.3f}")
    if kind == "hmm":
        return len(str(int(value * 24))) + 3
    return {"date": 10, "datetime": 16, "month": 7, "time": 5}.get(kind) or max(
        len(line) for line in str(value).splitlines() or [""])


def sheet_title(text: str) -> str:
    """A valid, at most 31-character sheet name."""
    return _SHEET_CHARS.sub("-", text)[:31]


class _Book:
    """The XlsxWriter workbook being written, and its cell formats (one per number format and
    wrapping, made once)."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        # Cells are written with write_string/write_number/write_datetime: a text is never
        # turned into a formula, a number or a link.
        self.wb = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_formulas": False,
                                                  "strings_to_numbers": False, "strings_to_urls": False})
        self.bold = self.wb.add_format({"bold": True})
        self._formats: dict[tuple[str | None, bool], Any] = {}

    def format(self, number_format: str | None, wrap: bool) -> Any:
        key = (number_format, wrap)
        if key not in self._formats:
            props: dict[str, Any] = {"num_format": number_format} if number_format else {}
            if wrap:
                props.update(valign="top", text_wrap=True)
            self._formats[key] = self.wb.add_format(props) if props else None
        return self._formats[key]


def write_table(book: _Book, title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]],
                lang: str) -> Any:
    """One sheet: a bold frozen header with a filter, typed and formatted cells, fitted widths;
    text wraps in a column capped at :data:`MAX_WIDTH`."""
    ws = book.wb.add_worksheet(sheet_title(title))
    n = len(columns)
    kinds = [c.kind for c in columns]
    widths = [len(c.header) * 1.15 + 2 for c in columns]
    texts: list[list[tuple[int, str, str | None]]] = [[] for _ in columns]
    write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime
    r = 0
    for values in rows:
        r += 1
        if len(values) != n:
            raise ValueError(f"{title}: a row of {len(values)} values for {n} columns")
        for j, raw in enumerate(values):
            kind = kinds[j]
            if type(raw) is Typed:
                kind, raw = raw.kind, raw.value
            value = _excel(kind, raw)
            if value is None:
                continue
            number_format = _format(kind, value, lang)
            if isinstance(value, str):   # written once the column's width says whether it wraps
                texts[j].append((r, value, number_format))
            elif isinstance(value, date | time):
                write_datetime(r, j, value, book.format(number_format, False))
            else:
                write_number(r, j, value, book.format(number_format, False))
            if (width := _shown_width(kind, value) + 2) > widths[j]:
                widths[j] = width
    for j, (col, width) in enumerate(zip(columns, widths, strict=True)):
        ws.set_column(j, j, round(min(width, MAX_WIDTH), 1))
        ws.write_string(0, j, col.header, book.bold)
        wrap = width > MAX_WIDTH   # a capped column's texts wrap
        for row, text, number_format in texts[j]:
            # write_string: "=…" or "#N/A" from a log line is text, not a formula
            write_string(row, j, text, book.format(number_format, wrap))
    ws.freeze_panes(1, 0)
    # Printed in landscape, one page wide when that stays legible (about 250 characters).
    ws.set_landscape()
    if sum(min(x, MAX_WIDTH) for x in widths) <= PRINT_WIDTH:
        ws.fit_to_pages(1, 0)
    ws.autofilter(0, 0, r, n - 1)
    return ws


_ABSENT = object()


def _dig(source: Any, *path: str) -> Any:
    """``source[path...]``, or :data:`_ABSENT` when a key is missing (None stays None)."""
    for k in path:
        if not isinstance(source, Mapping) or k not in source:
            return _ABSENT
        source = source[k]
    return source


def _present_columns(specs: Sequence[tuple[Column, Callable[[Any], Any]]],
                     items: Sequence[Any]) -> tuple[list[Column], list[list[Any]]]:
    """The columns at least one item has a value for (absent ≠ 0), and the rows."""
    keep = [(c, get) for c, get in specs if any(get(x) is not _ABSENT for x in items)]
    return [c for c, _ in keep], [[None if (v := get(x)) is _ABSENT else v for _, get in keep] for x in items]


Getter = Callable[[Any], Any]


def _summary_specs(w: Mapping[str, str]) -> list[tuple[Column, Getter]]:
    """The summary's columns: (column, value of a (site, stats) item or _ABSENT)."""
    def st(*path: str) -> Getter:
        return lambda item: _dig(item[1], *path)

    def missing(item: Any) -> Any:
        cov = _dig(item[1], "coverage")
        return _missing_days(cov) if isinstance(cov, Mapping) else _ABSENT

    def count(item: Any) -> Any:
        days = missing(item)
        return days if days is _ABSENT else len(days)

    def listed(item: Any) -> Any:
        days = missing(item)
        return days if days is _ABSENT else ", ".join(days)

    classes = ("hit", "miss", "pass", "error", "unknown")
    specs: list[tuple[Column, Getter]] = [(Column(w["site"]), lambda item: item[0])]
    specs += [(Column(w[k], "int"), st(k)) for k in ("requests", "bytes", "visitors")]
    specs += [(Column(w[f"{who}_{k}"], "int"), st("audience", f"{who}s", k))
              for k in ("requests", "bytes", "visitors") for who in ("human", "bot")]
    specs += [(Column(w[f"{what}_{k}"], "int"), st("content", "pages" if what == "page" else what, k))
              for what in ("page", "static") for k in ("requests", "bytes")]
    specs += [(Column(w[f"cdn_share_{k}"], "ratio"), st("cdn_share", k)) for k in ("requests", "bytes")]
    specs += [(Column(w["origin_requests"], "int"), st("origin_requests"))]
    specs += [(Column(w["cache_requests"].format(c=c), "int"), st("cache", c)) for c in classes]
    specs += [(Column(w["status_requests"].format(c=f"{n}xx"), "int"), st("status", f"{n}xx"))
              for n in range(1, 6)]
    specs += [(Column(w["timed"], "int"), st("time_taken", "records"))]
    specs += [(Column(w["time_taken"].format(q=q), "secs3"), st("time_taken", q))
              for q in ("p50", "p90", "p99")]
    specs += [(Column(w["peak_start"], "datetime"), st("peak", "start")),
              (Column(w["peak_requests"], "int"), st("peak", "requests")),
              (Column(w["peak_bytes"], "int"), st("peak", "bytes")),
              (Column(w["peak_rps"], "rate"), st("peak", "requests_per_s")),
              (Column(w["peak_mbps"], "rate"), st("peak", "mbit_per_s")),
              (Column(w["with_rule"], "int"), st("misses_by_rule", "with_rule")),
              (Column(w["without_rule"], "int"), st("misses_by_rule", "without_rule")),
              (Column(w["quarantined"], "int"), st("quarantined")),
              (Column(w["expected_days"], "int"), st("coverage", "expected_days")),
              (Column(w["covered_days"], "int"), st("coverage", "days_with_logs")),
              (Column(w["missing_days"], "int"), count), (Column(w["missing_list"]), listed),
              (Column(w["last_file"]), st("coverage", "last_file", "name")),
              (Column(w["last_file_at"], "datetime"), st("coverage", "last_file", "received_at"))]
    return specs


Site = tuple[str, Mapping[str, Any]]


def _day_sheet(wb: Any, sites: Sequence[Site], lang: str) -> None:
    """The day rows, and a row without figures for each day the coverage says has no logs."""
    w = WORDS[lang]
    items: list[tuple[str, Mapping[str, Any], bool | None]] = []
    for site, st in sites:
        cov = st.get("coverage")
        missing = set(_missing_days(cov)) if isinstance(cov, Mapping) else set()
        days = {d["day"]: d for d in st.get("days") or []}
        for day in sorted(set(days) | missing):
            logs = (day not in missing) if isinstance(cov, Mapping) else None
            items.append((site, days.get(day, {"day": day}), logs))
    headers = {"requests": w["requests"], "bytes": w["bytes"], "visitors": w["visitors"],
               **{k: w[k] for k in ("human_visitors", "bot_visitors", "bot_requests", "timed")},
               **{c: w["cache_requests"].format(c=c) for c in ("hit", "miss", "pass", "error", "unknown")},
               **{f"{c}_bytes": w["cache_bytes"].format(c=c) for c in ("hit", "miss", "pass")},
               **{f"s{n}xx": w["status_requests"].format(c=f"{n}xx") for n in range(1, 6)},
               **{q: w["time_taken"].format(q=q) for q in ("p50", "p90", "p99")}}
    specs: list[tuple[Column, Getter]] = [
        (Column(w["site"]), lambda x: x[0]), (Column(w["day"], "date"), lambda x: x[1]["day"]),
        (Column(w["logs"]), lambda x: _ABSENT if x[2] is None else w["yes" if x[2] else "no"])]
    specs += [(Column(header, "secs3" if key in ("p50", "p90", "p99") else "int"),
               lambda x, k=key: _dig(x[1], k)) for key, header in headers.items()]
    write_table(wb, w["sh_days"], *_present_columns(specs, items), lang)


def _previous_rows(site: str, st: Mapping[str, Any], w: Mapping[str, str]) -> list[list[Any]]:
    prev = st["previous"]
    if not isinstance(prev, Mapping):
        return []
    out = []
    for label, path, kind in (("requests", ("requests",), "int"), ("bytes", ("bytes",), "int"),
                              ("visitors", ("visitors",), "int"),
                              ("cdn_share_requests", ("cdn_share", "requests"), "ratio"),
                              ("cdn_share_bytes", ("cdn_share", "bytes"), "ratio")):
        before = _dig(prev, *path)
        if before is not _ABSENT:
            now = _dig(st, *path)
            out.append([site, w[label], Typed(None if now is _ABSENT else now, kind), Typed(before, kind),
                        prev.get("from"), prev.get("to")])
    return out


def _traffic_sheets(wb: Any, data: Mapping[str, Any], lang: str) -> None:
    w = WORDS[lang]
    sites: list[Site] = list(data["sites"].items())
    write_table(wb, w["sh_summary"], *_present_columns(_summary_specs(w), sites), lang)
    _day_sheet(wb, sites, lang)

    def panel(title: str, columns: list[Column], keys: tuple[str, ...],
              make: Callable[[str, Mapping[str, Any]], Iterable[list[Any]]]) -> None:
        """A sheet when at least one site has one of the panels ``keys``."""
        if any(k in st for _, st in sites for k in keys):
            write_table(wb, title, columns, [row for site, st in sites for row in make(site, st)], lang)

    def listed(st: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        return list(st.get(key) or [])

    site, req, size = Column(w["site"]), Column(w["requests"], "int"), Column(w["bytes"], "int")
    panel(w["sh_hours"], [site, Column(w["hour"], "time"), req, size], ("by_hour",),
          lambda s, st: ([s, int(h["hour"]), h.get("requests"), h.get("bytes")]
                         for h in listed(st, "by_hour")))
    panel(w["sh_top"], [site, Column(w["ranking"]), Column(w["rank"], "int"), Column(w["path"]), req, size],
          ("top_paths",),
          lambda s, st: ([s, w[by], n, e["path"], e.get("requests"), e.get("bytes")]
                         for by in ("by_requests", "by_bytes")
                         for n, e in enumerate((st.get("top_paths") or {}).get(by, []), start=1)))
    panel(w["sh_errors"], [site, Column(w["status"], "int"), Column(w["path"]), req],
          ("not_found", "server_errors"),
          lambda s, st: ([s, e.get("status", 404), e["path"], e.get("requests")]
                         for key in ("not_found", "server_errors") for e in listed(st, key)))
    panel(w["sh_referrers"], [site, Column(w["kind"]), Column(w["origin"]), req],
          ("referrers", "referring_sites"),
          lambda s, st: ([s, w[kind], e.get(name), e.get("requests")]
                         for kind, key, name in (("referrer", "referrers", "referrer"),
                                                 ("referring_site", "referring_sites", "host"))
                         for e in listed(st, key)))
    panel(w["sh_agents"], [site, Column(w["kind"]), Column(w["family"]), req], ("browsers", "os"),
          lambda s, st: ([s, w[kind], e.get("family"), e.get("requests")]
                         for kind, key in (("browser", "browsers"), ("os", "os")) for e in listed(st, key)))
    panel(w["sh_cache"], [site, Column(w["raw_status"]), Column(w["class"]), req, size], ("cache_statuses",),
          lambda s, st: ([s, e.get("status"), e.get("class"), e.get("requests"), e.get("bytes")]
                         for e in listed(st, "cache_statuses")))
    panel(w["sh_rules"], [site, Column(w["rule"]), Column(w["ttl_s"], "seconds"), Column(w["ttl_hmm"], "hmm"),
                          Column(w["misses"], "int"), req], ("misses_by_rule",),
          lambda s, st: ([s, e.get("rule"), *[e.get("ttl_s")] * 2, e.get("misses"), e.get("requests")]
                         for e in (st.get("misses_by_rule") or {}).get("rows", [])))
    panel(w["sh_previous"], [site, Column(w["figure"]), Column(w["this_period"], "int"),
                             Column(w["previous_period"], "int"), Column(w["previous_from"], "date"),
                             Column(w["previous_to"], "date")], ("previous",),
          lambda s, st: _previous_rows(s, st, w) if "previous" in st else [])


def _qs_value(ind: Mapping[str, Any], unit: str) -> Typed:
    """An indicator's value as a ratio in percent format (4 decimals for QS-02, whose verdicts
    differ in the 5th digit), or a count."""
    if unit != "%":
        return Typed(ind.get("value"), "int")
    return Typed(_ratio(ind.get("value")), "ratio4" if ind["id"] == "QS-02" else "ratio")


def _status(ind: Mapping[str, Any]) -> str:
    return str(ind.get("status") or _verdict(ind.get("passed"), "not_measured"))


class _QsSheets:
    """The QS sheets of a monthly report; words from ``reports.qs_view`` (the HTML's)."""

    def __init__(self, wb: Any, qs: Mapping[str, Any], lang: str) -> None:
        from reports.qs_view import WORDS as QS_WORDS
        from reports.qs_view import Words

        self.wb, self.qs, self.lang = wb, qs, lang
        self.w, self.q, self.words = WORDS[lang], QS_WORDS[lang], Words(lang)
        self.inds: list[Mapping[str, Any]] = list(qs.get("indicators", []))
        self.units = {str(i["id"]): str(i.get("unit", "")) for i in self.inds}
        self.by_id = {str(i["id"]): i for i in self.inds}

    def pair(self, what: str) -> list[Column]:
        """A duration: in seconds, and as [h]:mm."""
        w = self.w
        return [Column(w["seconds"].format(what=what), "seconds"), Column(w["hmm"].format(what=what), "hmm")]

    def at(self, what: str) -> Column:
        return Column(self.w["at"].format(what=what), "datetime")

    def write(self) -> None:
        self.indicators()
        self.records()
        self.daily()
        self.history()

    def indicators(self) -> None:
        """All sites (or the report's site), then each site: one row per indicator."""
        from reports.qs_view import METHODS, NAMES, REFERENCE, note_text

        w, q, lang = self.w, self.q, self.lang
        cols = [Column(w["scope"]), Column(q["indicator"]), Column(w["name"]), Column(q["value"], "ratio"),
                Column(q["target"]), Column(q["result"]), Column(q["coverage"], "ratio"),
                Column(q["on_time"], "int"), Column(w["late"], "int"), Column(w["pending"], "int"),
                *self.pair(q["measured"]), *self.pair(q["actual"]), *self.pair(q["allowed"]),
                Column(q["worst"], "ratio4"), Column(q["ytd"], "ratio4"), Column(q["note"]),
                Column(q["method"]), Column(q["reference"])]

        def row(scope: str, ind: Mapping[str, Any]) -> list[Any]:
            i = str(ind["id"])
            cov, ytd = ind.get("coverage"), ind.get("year_to_date")
            target = str(self.by_id.get(i, {}).get("target_text", ""))
            # A site's row has no downtime figures (the JSON's per-site brief): its note goes without.
            note = note_text(ind if "unavailable_s" in ind else {**ind, "value": None}, self.words)
            # each duration twice: in seconds and as [h]:mm
            seconds = [ind.get(k) for k in ("measured_s", "unavailable_s", "allowed_unavailable_s")
                       for _ in range(2)]
            return [scope, i, NAMES[lang][i], _qs_value(ind, self.units.get(i, "")),
                    target.replace(".", ",") if lang == "fr" else target, q[_status(ind)],
                    cov.get("share") if isinstance(cov, Mapping) else None,
                    ind.get("on_time"), ind.get("late"), ind.get("pending"), *seconds,
                    _ratio(ind.get("worst_case")), _ratio(ytd.get("availability")) if isinstance(ytd, Mapping)
                    else None, note, METHODS[lang][i], REFERENCE[lang].format(id=i)]

        table = [row(str(self.qs.get("site") or q["overall"]), ind) for ind in self.inds]
        table += [row(site, ind) for site, inds in (self.qs.get("per_site") or {}).items() for ind in inds]
        write_table(self.wb, w["sh_qs"], cols, table, lang)

    def records(self) -> None:
        """The justifying records: one sheet per indicator, with its own columns."""
        w, q, words, at, pair = self.w, self.q, self.words, self.at, self.pair

        def verdict(i: str, d: Mapping[str, Any]) -> str:
            return q[record_status(i, d)]

        def site(d: Mapping[str, Any]) -> str:
            return q["all"] if d.get("site") == "*" else str(d.get("site", ""))

        def yes(flag: Any) -> str:
            return q["yes" if flag else "no"]

        ident, where, result = Column(w["record_id"]), Column(q["site"]), Column(q["result"])
        sheets: dict[str, tuple[list[Column], Getter]] = {
            "QS-01": ([Column(q["day"], "date"), Column(q["requests"], "int"), Column(q["timed"], "int"),
                       Column(q["fast"], "int"), Column(q["share"], "ratio"), result],
                      lambda d: [d["id"], d.get("requests"), d.get("timed"), d.get("under_2s"),
                                 _ratio(d.get("share")), verdict("QS-01", d)]),
            "QS-02": ([ident, where, Column(q["kind"]), Column(q["effect"]), Column(q["reason"]),
                       at(q["start"]), at(q["end"]), *pair(q["in_month"]), result],
                      lambda d: [d.get("id"), site(d), words.reason(d.get("kind")),
                                 words.reason(d.get("effect")), words.reason(d.get("reason")), d.get("start"),
                                 d.get("end"), *[d.get("seconds_in_month")] * 2, verdict("QS-02", d)]),
            "QS-03": ([ident, where, at(q["start"]), Column(q["impact"]), Column(q["counted"]),
                       Column(q["rank"], "int"), Column(q["reason"]), Column(q["description"]), result],
                      lambda d: [d.get("id"), site(d), d.get("started_at"), words.reason(d.get("impact")),
                                 yes(d.get("counted")), d.get("rank"), words.reason(d.get("reason")),
                                 d.get("description"), verdict("QS-03", d)]),
            "QS-04": ([ident, where, at(q["start"]), at(w["resolved"]), *pair(q["duration"]), at(q["due"]),
                       Column(w["applicable"]), Column(q["reason"]), result],
                      lambda d: [d.get("id"), site(d), d.get("started_at"), d.get("resolved_at"),
                                 *[d.get("restore_s")] * 2, d.get("due_before"),
                                 yes(d.get("applicable", True)), words.reason(d.get("reason")),
                                 verdict("QS-04", d)]),
            "QS-05": ([ident, where, at(q["detected"]), at(q["notified"]), *pair(q["delay"]), at(q["due"]),
                       result],
                      lambda d: [d.get("id"), site(d), d.get("detected_at"), d.get("notified_at"),
                                 *[d.get("notification_s")] * 2, d.get("due_by"), verdict("QS-05", d)]),
        }
        changes = [ident, where, at(q["requested"]), at(q["effective"]), at(q["dossier"]), at(q["due"]),
                   result, Column(q["description"])]
        for i in ("QS-06", "QS-07"):
            sheets[i] = (changes, lambda d, i=i: [d.get("id"), site(d), d.get("requested_at"),
                                                  d.get("effective_at"), d.get("dossier_updated_at"),
                                                  d.get("due_before"), verdict(i, d), d.get("description")])
        for i, (columns, make) in sheets.items():
            if i in self.by_id:
                write_table(self.wb, w["sh_records"].format(id=i), columns,
                            [make(d) for d in self.by_id[i].get("details") or []], self.lang)

    def daily(self) -> None:
        """QS-02 per day, and its merged outages."""
        w, q = self.w, self.q
        q2 = self.by_id.get("QS-02", {})
        if "daily" in q2:
            cols = [Column(q["day"], "date"), Column(w["availability"], "ratio4"),
                    *self.pair(q["unavailable"]), Column(w["seconds"].format(what=q["measured"]), "seconds"),
                    Column(w["period_s"], "seconds"), Column(q["observed"], "ratio"), Column(q["result"])]
            write_table(self.wb, w["sh_daily"], cols,
                        [[d["day"], _ratio(d.get("availability")), *[d.get("unavailable_s")] * 2,
                          d.get("measured_s"), d.get("period_s"), d.get("coverage"),
                          q[_verdict(d.get("passed"), "not_measured")]] for d in q2["daily"]], self.lang)
        if "outages" in q2:
            write_table(self.wb, w["sh_outages"],
                        [self.at(q["start"]), self.at(q["end"]), *self.pair(q["duration"])],
                        [[o.get("start"), o.get("end"), *[o.get("seconds")] * 2]
                         for o in q2["outages"]], self.lang)

    def history(self) -> None:
        """13 months: one row per month, a value and a result column per indicator."""
        w, q = self.w, self.q
        history = self.qs.get("history") or []
        if not history:
            return
        ids = list(self.by_id)
        cols = [Column(q["month"], "month")]
        for i in ids:
            cols += [Column(w["history_value"].format(id=i), "ratio"),
                     Column(w["history_result"].format(id=i))]
        table = []
        for h in history:
            got = {str(i["id"]): i for i in h.get("indicators", [])}
            row: list[Any] = [h["month"]]
            for i in ids:
                ind = got.get(i)
                row += ([None, None] if ind is None
                        else [_qs_value({**ind, "id": i}, self.units.get(i, "")), q[_status(ind)]])
            table.append(row)
        write_table(self.wb, w["sh_history"], cols, table, self.lang)


def _period(data: Mapping[str, Any]) -> str:
    return str(data.get("week") or data.get("month") or "")


def _about_sheet(wb: Any, data: Mapping[str, Any], lang: str) -> None:
    """What the workbook is: the report, its period, when it was generated and as of when."""
    w = WORDS[lang]
    qs = data.get("qs")
    rows: list[list[Any]] = [
        [w["report"], w.get(data["kind"], data["kind"])], [w["period"], _period(data)],
        [w["from"], Typed(data.get("from"), "date")], [w["to"], Typed(data.get("to"), "date")],
        [w["generated"], Typed(data.get("generated"), "datetime")]]
    if isinstance(qs, Mapping) and qs.get("as_of"):
        rows.append([w["as_of"], Typed(qs["as_of"], "datetime")])
    rows += [[w["timezone"], w["timezone_value"]], [w["sites"], ", ".join(data["sites"])]]
    write_table(wb, w["sh_about"], [Column(w["field"]), Column(w["value_col"])], rows, lang)


def render_xlsx(data: Mapping[str, Any], path: Path, lang: str = "fr") -> None:
    """The report as an XLSX workbook (see the module docstring for its sheets)."""
    if lang not in WORDS:
        raise ValueError(f"language {lang!r}: use one of {', '.join(WORDS)}")
    book = _Book(path)
    _traffic_sheets(book, data, lang)
    qs = data.get("qs")
    if isinstance(qs, Mapping):
        _QsSheets(book, qs, lang).write()
    _about_sheet(book, data, lang)
    book.wb.set_properties({"title": f"{WORDS[lang].get(data['kind'], data['kind'])} — {_period(data)}"})
    book.wb.close()
