"""Weekly and monthly documents: the same figures in HTML, CSV, XLSX and JSON; escaping; French format."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reports import documents
from reports.calendar import PARIS
from reports.coverage import day_coverage
from reports.metrics import reference_stats
from reports.qs import qs_report
from reports.registers import DetectedBy, Impact, Incident

SITE = "www.a.gouv.fr"
EVIL = "/<script>alert('x')</script>"
GENERATED = datetime(2026, 4, 13, 8, 0, tzinfo=UTC)


def records() -> list[dict[str, Any]]:
    # Monday 6 to Sunday 12 April 2026: day k has 1000 + k requests, one of them on EVIL.
    out = []
    for k in range(7):
        t0 = datetime(2026, 4, 6 + k, 8, 0, tzinfo=UTC)
        for i in range(1000 + k):
            out.append({"time": t0 + timedelta(seconds=i), "site": SITE, "client": f"c{i % 7}",
                        "user_agent": "ua", "path": EVIL if i == 0 else f"/p{i % 3}",
                        "status": 200 if i % 10 else 404, "bytes": 1000, "cache_class": "hit" if i % 4 else "miss",
                        "time_taken_us": 1000 * (i % 100)})
    return out


# --- the data contract's panels (notes/issue12-contract.md), by hand from the records ----------
# Until reports.metrics produces them, the tests add the new keys to reference_stats' output.

UAS = ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
       "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")


def rich_records(days: Iterable[date], site: str = SITE, scale: float = 1) -> list[dict[str, Any]]:
    """Traffic with pages and static files, bots, referrers, 404s, 5xx and cache statuses on ``days``."""
    out = []
    for day in days:
        k = day.toordinal() % 7
        for i in range(int((600 + 40 * k) * scale)):
            hour = (8 + (i * 7) % 15) if i % 5 else (i // 5) % 24
            t = datetime(day.year, day.month, day.day, hour, i % 60, tzinfo=PARIS).astimezone(UTC)
            static = i % 3 == 0
            status = 404 if i % 23 == 0 else 503 if i % 97 == 0 else 200
            raw = ("TCP_HIT", "TCP_MISS", "TCP_REFRESH_HIT", None, "TCP_MISS", "TCP_PASS")[(i // 2) % 6]
            out.append({"time": t, "site": site, "client": f"192.0.2.{i % 41}", "user_agent": UAS[i % 3],
                        "path": (EVIL if i == 1 else f"/static/app{i % 4}.css" if static else f"/page/{i % 9}"),
                        "status": status, "bytes": 180_000 + 9_000 * (i % 50) if static else 25_000,
                        "cache_class": {"TCP_HIT": "hit", "TCP_REFRESH_HIT": "hit", "TCP_MISS": "miss",
                                        "TCP_PASS": "pass", None: None}[raw], "cache_status": raw,
                        "referer": ("https://www.google.com/", "https://www.service-public.fr/particuliers",
                                     None, f"https://{site}/page/1")[i % 4],
                        "rule": (("static-assets" if static else "html-pages")
                                 if raw in ("TCP_MISS", "TCP_PASS") and i % 11 else None),
                        "time_taken_us": 2_000 + 1_000 * (i % 400)})
    return out


def misses_by_rule(recs: list[dict[str, Any]], first: date, last: date, site: str = SITE) -> dict[str, Any]:
    """The ``misses_by_rule`` entry (reports.misses' shape), counted plainly from ``recs``."""
    lo, hi = (datetime.combine(d, datetime.min.time(), tzinfo=PARIS) for d in (first, last + timedelta(days=1)))
    mine = [r for r in recs if r["site"] == site and lo <= r["time"] < hi]
    ttl = {"static-assets": 86_400, "html-pages": 300}
    rules = sorted({r["rule"] for r in mine if r["rule"]})
    rows = []
    for rule in rules:
        rs = [r for r in mine if r["rule"] == rule]
        miss = sum(r["cache_class"] == "miss" for r in rs)
        passed = sum(r["cache_class"] == "pass" for r in rs)
        rows.append({"site": site, "rule": rule, "rule_exists": True, "ttl_s": ttl[rule], "override": None,
                     "misses": miss + passed, "miss": miss, "pass": passed, "requests": len(rs)})
    rows.sort(key=lambda x: (-x["misses"], x["rule"]))
    origin = [r for r in mine if r["cache_class"] in ("miss", "pass")]
    return {"rows": rows, "with_rule": sum(r["rule"] is not None for r in mine),
            "without_rule": sum(r["rule"] is None for r in mine),
            "misses_with_rule": sum(r["rule"] is not None for r in origin),
            "misses_without_rule": sum(r["rule"] is None for r in origin)}


def coverage(recs: list[dict[str, Any]], first: date, last: date, site: str = SITE) -> dict[str, Any]:
    """The ``coverage`` entry (reports.coverage's shape): a day is covered when it has records here."""
    seen = {r["time"].astimezone(PARIS).date() for r in recs if r["site"] == site}
    period = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    have = seen & set(period)
    last_day = max(have) if have else None
    received = (None if last_day is None else
                datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=PARIS).replace(hour=2, minute=10))
    return {**day_coverage(have, period), "last_file": None if received is None else
            {"name": f"{site}-{last_day}.log.gz", "received_at": received.isoformat()}}


def with_previous(days: list[date], site: str = SITE) -> list[dict[str, Any]]:
    """Records of ``days`` and, a little less busy, of as many days just before (the previous period)."""
    span = (days[-1] - days[0]).days + 1 if days else 0
    before = [days[0] - timedelta(days=span - k) for k in range(span)] if days else []
    return rich_records(before, site, scale=0.9) + rich_records(days, site)


def full_stats(recs: list[dict[str, Any]], first: date, last: date, site: str = SITE) -> dict[str, Any]:
    """Every key of the data contract: reports.metrics' own, misses_by_rule and coverage added as
    the CLI adds them (reports.misses, reports.coverage)."""
    stats = reference_stats(recs, [site], first, last)
    return {**stats, "misses_by_rule": misses_by_rule(recs, first, last, site),
            "coverage": coverage(recs, first, last, site)}


# What stats held before the contract's keys (JSON written by older versions).
OLD_KEYS = ("sites", "from", "to", "timezone", "requests", "bytes", "visitors", "cdn_share", "origin_requests",
            "cache", "status", "time_taken", "top_paths", "quarantined", "days")
OLD_DAY_KEYS = ("day", "requests", "bytes", "visitors", "timed", "hit", "miss", "pass", "error", "unknown",
                "hit_bytes", "miss_bytes", "pass_bytes", "s1xx", "s2xx", "s3xx", "s4xx", "s5xx", "p50", "p90", "p99")


def older_stats(recs: list[dict[str, Any]], first: date, last: date, site: str = SITE) -> dict[str, Any]:
    """reference_stats' figures as an older version wrote them: none of the contract's new keys."""
    stats = reference_stats(recs, [site], first, last)
    old = {k: v for k, v in stats.items() if k in OLD_KEYS}
    old["days"] = [{k: v for k, v in d.items() if k in OLD_DAY_KEYS} for d in stats["days"]]
    return old


WEEK = [date(2026, 4, 6) + timedelta(days=k) for k in range(7)]
APRIL = [date(2026, 4, 1) + timedelta(days=k) for k in range(30)]
GAPPED_WEEK = [d for d in WEEK if d.day not in (8, 9)]  # logs of Wednesday 8 and Thursday 9 never came


@pytest.fixture(scope="module")
def weekly() -> dict[str, Any]:
    stats = reference_stats(records(), [SITE], date(2026, 4, 6), date(2026, 4, 12))
    return documents.weekly_data({SITE: stats}, "2026-W15", GENERATED)


def test_parse_week() -> None:
    assert documents.parse_week("2026-W15") == (date(2026, 4, 6), date(2026, 4, 12))
    assert documents.parse_week("2026-W53") == (date(2026, 12, 28), date(2027, 1, 3))  # 2026 has 53 ISO weeks
    for bad in ("2025-W53", "2026-15", "2026-W1", "W15"):
        with pytest.raises(ValueError, match="ISO week"):
            documents.parse_week(bad)


def test_html_french_escaped_accessible(weekly: dict[str, Any]) -> None:
    html = documents.render_html(weekly, "fr")
    assert '<html lang="fr">' in html
    assert "<script" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    # 7 days of 1000..1006 requests = 7021, written the French way with a narrow no-break space
    assert "Requêtes</th><td>7\u202f021</td>" in html
    assert "lundi 6 avril 2026" in html and "Rapport hebdomadaire de trafic" in html
    assert html.count('<svg role="img"') == 5 + ("by_hour" in weekly["sites"][SITE])  # per day (+ per hour)
    assert f'<title id="s1-time-t">Temps de réponse par jour — {SITE}</title>' in html
    assert 'scope="col"' in html and "<caption>" in html
    # 75 % of Monday's known-class requests are hits: "75,0 %" in French
    assert "<td>75,0\u00a0%</td>" in html
    assert "Volume servi</th><td>7,02\u202fMo</td>" in html  # 7,021,000 bytes, not "7 021 000"
    english = documents.render_html(weekly, "en")
    assert "Requests</th><td>7,021</td>" in english and "Monday, 6 April 2026" in english
    assert "Data served</th><td>7.02 MB</td>" in english


def test_csv_xlsx_and_json_agree(weekly: dict[str, Any], tmp_path: Path) -> None:
    """The same figures in every format (the CSV and XLSX layouts are tests/reports/test_exports.py's)."""
    paths = documents.write_documents(weekly, tmp_path, "w", ["csv", "xlsx", "json"], "en")
    rows = list(csv.DictReader(io.StringIO(paths[0].read_text(encoding="utf-8-sig"))))  # en: ',' and '.'
    period = {r["metric"]: r["value"] for r in rows if r["level"] == "period"}
    assert period["requests"] == "7021" and period["bytes"] == str(7021 * 1000)
    per_day = {r["key"]: int(r["value"]) for r in rows if r["metric"] == "requests" and r["level"] == "day"}
    assert per_day == {f"2026-04-{6 + k:02d}": 1000 + k for k in range(7)}
    assert json.loads(paths[2].read_text())["sites"][SITE]["requests"] == 7021
    from openpyxl import load_workbook

    assert load_workbook(paths[1]).sheetnames[0] == "Summary"
    french = documents.write_documents(weekly, tmp_path, "f", ["csv"], "fr")[0].read_text(encoding="utf-8-sig")
    assert french.startswith("report;period;")  # the language's CSV: ';' and decimal comma in French


def test_monthly_with_qs(tmp_path: Path) -> None:
    inc = Incident("INC-1", SITE, datetime(2026, 4, 7, 8, tzinfo=UTC), datetime(2026, 4, 7, 8, tzinfo=UTC),
                   DetectedBy.PROVIDER, Impact.FULL, resolved_at=datetime(2026, 4, 7, 9, tzinfo=UTC),
                   description="<b>bold</b>")
    qs = qs_report(2026, 4, [SITE], [inc], [], [], as_of=datetime(2026, 6, 1, tzinfo=UTC))
    stats = reference_stats(records(), [SITE], date(2026, 4, 1), date(2026, 4, 30))
    data = documents.monthly_data({SITE: stats}, qs, GENERATED)
    paths = documents.write_documents(data, tmp_path, "m", documents.FORMATS, "fr")
    assert [p.name for p in paths] == ["m.html", "m.csv", "m.xlsx", "m.json"]
    html = paths[0].read_text()
    for n in range(1, 8):
        assert f"QS-0{n}" in html
    # The QS section's wording is reports.qs_view's (tests/reports/test_qs.py); here: escaped, verdicts.
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "non conforme" in html     # QS-05: the provider's incident was never notified
    assert 'class="verdict-fail' in html or 'class="fail"' in html
    rows = list(csv.DictReader(io.StringIO(paths[1].read_text(encoding="utf-8-sig")), delimiter=";"))
    q2 = [r for r in rows if r["level"] == "qs" and r["indicator"] == "QS-02"]
    assert q2[0]["site"] == "*" and q2[0]["status"] != "pass"  # down 1 h, and no probe: never a pass
    assert json.loads(paths[3].read_text())["qs"]["indicators"][2]["value"] == 1
    with pytest.raises(ValueError, match="format"):
        documents.write_documents(data, tmp_path, "m", ["pdf"])


# --- readable: units, typography, both languages -------------------------------------------

NB, NNB = "\u00a0", "\u202f"


@pytest.mark.parametrize(("lang", "value", "text"), [
    ("fr", 0, f"0{NB}octet"), ("fr", 999, f"999{NB}octets"), ("fr", 1000, f"1,00{NNB}ko"),
    ("fr", 4_599_080_834, f"4,60{NNB}Go"), ("fr", 46_000_000, f"46,0{NNB}Mo"), ("fr", 460e9, f"460{NNB}Go"),
    ("en", 1, "1 byte"), ("en", 4_599_080_834, "4.60 GB"), ("en", 12_300, "12.3 kB"), ("en", None, "—"),
])
def test_sizes_in_decimal_units(lang: str, value: int | None, text: str) -> None:
    assert documents.Fmt(lang).size(value) == text


def test_french_and_english_typography() -> None:
    fr, en = documents.Fmt("fr"), documents.Fmt("en")
    assert fr.day("2026-04-01") == "mercredi 1er avril 2026" and fr.day("2026-04-02") == "jeudi 2 avril 2026"
    assert fr.day("2026-05-01", "long") == "1er mai 2026" and en.day("2026-04-01") == "Wednesday, 1 April 2026"
    assert fr.moment("2026-04-13T18:54:00+00:00") == f"13 avril 2026 à 20{NB}h{NB}54"  # Paris time, CEST
    assert en.moment("2026-04-13T18:54:00+00:00") == "13 April 2026 at 20:54"
    assert [fr.count(n, "incidents") for n in (0, 1, 2)] == ["0 incident", "1 incident", "2 incidents"]
    assert [en.count(n, "incidents") for n in (0, 1, 2)] == ["0 incidents", "1 incident", "2 incidents"]
    assert "> " + fr.pct(0.9999, 2) == f"> 99,99{NB}%" and en.pct(0.9999, 2) == "99.99%"
    assert fr.num(4_599_080_834) == f"4{NNB}599{NNB}080{NNB}834"
    assert fr.days_list(["2026-04-08", "2026-04-07"]) == "mardi 7 et mercredi 8 avril 2026"
    assert fr.days_list([f"2026-04-{d:02d}" for d in (1, 2, 3, 4, 30)]) == \
        "du mercredi 1er au samedi 4 et jeudi 30 avril 2026"
    assert en.days_list(["2026-04-30", "2026-05-01"]) == "Thursday 30 April and Friday 1 May 2026"
    assert [fr.duration(s) for s in (45, 300, 16_200, 14_400, 93_600)] == \
        [f"45{NB}s", f"5{NB}min", f"4{NB}h{NB}30", f"4{NB}h", f"1{NB}j{NB}2{NB}h"]
    assert en.duration(16_200) == f"4{NB}h{NB}30{NB}min"
    assert fr.period_name({"week": "2026-W15"}) == "semaine 15 de 2026" and en.period_name({"month": "2026-04"}) == "April 2026"


# --- the contract's panels, metric choice, missing data -------------------------------------


def site_section(html: str, n: int = 1, charts: bool = True) -> str:
    """Site ``n``'s section, apostrophes unescaped; without the charts' SVG when ``charts`` is false."""
    start = html.index(f'<section class="site" aria-labelledby="s{n}">')
    section = html[start:html.index("</section>", start)].replace("&#39;", "'")
    return section if charts else re.sub(r"<svg\b.*?</svg>", "<svg/>", section, flags=re.S)


@pytest.fixture(scope="module")
def full_week() -> dict[str, Any]:
    return documents.weekly_data({SITE: full_stats(with_previous(WEEK), WEEK[0], WEEK[-1])}, "2026-W15", GENERATED)


def test_every_panel_of_the_contract(full_week: dict[str, Any]) -> None:
    html = documents.render_html(full_week, "fr")
    st = full_week["sites"][SITE]
    section = site_section(html)
    for heading in ("Couverture des journaux", "Comparaison avec la période précédente", "Humains et robots",
                    "Trafic par heure de la journée", "Pages et fichiers statiques", "Statuts de cache",
                    "Échecs de cache par règle", "Chemins les plus demandés", "Adresses les plus demandées en erreur 404",
                    "Adresses les plus demandées en erreur serveur (5xx)", "Pages de provenance", "Sites de provenance",
                    "Navigateurs", "Systèmes d'exploitation"):
        assert f">{heading}</h3>" in section, heading
    assert "non disponible" not in section and 'class="warning"' not in section
    assert f"Robots</th><td>{documents.Fmt('fr').num(st['audience']['bots']['requests'])}</td>" in section
    assert st["audience"]["bots"]["requests"] > 0 and "Googlebot" not in section  # bots are not browsers
    fr, peak = documents.Fmt("fr"), datetime.fromisoformat(st["peak"]["start"])
    assert (f"Heure de pointe</strong>\u00a0: {fr.day(peak.date().isoformat())}, de {peak.hour}\u00a0h\u00a000 "
            f"à {peak.hour + 1}\u00a0h\u00a000, {fr.count(st['peak']['requests'], 'requests')}, soit ") in section
    assert "<code>TCP_REFRESH_HIT</code></th><td class=\"text\">servi par le cache (hit)</td>" in section
    assert "(absent)</th>" in section  # a record without a cache status
    assert "<code>static-assets</code></th><td>1\u00a0j</td>" in section  # the rule's TTL in words
    assert "Journaux reçus pour 7 jours sur 7." in section
    assert f"Dernier fichier reçu\u00a0: <code>{SITE}-2026-04-12.log.gz</code>, reçu le 13 avril 2026 à 2\u00a0h\u00a010." in section
    assert "<td>503</td>" in section and "https://www.service-public.fr/particuliers" in section
    prev = st["previous"]
    assert prev["requests"] and st["requests"] > prev["requests"]  # the week before had 0.9 × the traffic
    assert f"<td>{fr.num(prev['requests'])}</td><td>+{fr.pct(st['requests'] / prev['requests'] - 1, 1)}</td>" in section
    assert f"<td>{fr.points(st['cdn_share']['requests'], prev['cdn_share']['requests'])}</td>" in section
    english = site_section(documents.render_html(full_week, "en"))
    assert ">Humans and bots</h3>" in english and ">Cache misses by rule</h3>" in english


def test_absent_keys_read_not_available_never_zero() -> None:
    """Stats written before the contract's keys existed: each panel says so, with the reason."""
    older = older_stats(rich_records(WEEK), WEEK[0], WEEK[-1])
    html = documents.render_html(documents.weekly_data({SITE: older}, "2026-W15", GENERATED), "fr")
    section = site_section(html)
    reason = "non disponible\u00a0: ces chiffres ne figurent pas dans les statistiques de cette période"
    for key in ("coverage", "previous", "audience", "by-hour", "content", "cache_statuses", "misses_by_rule",
                "not_found", "server_errors", "referrers", "referring_sites", "browsers", "os"):
        heading = section.index(f'<h3 id="s1-{key}">')
        assert reason in section[heading:heading + 400], key
    assert "Humains</th>" not in section and "Requêtes de robots" not in section
    english = site_section(documents.render_html(documents.weekly_data({SITE: older}, "2026-W15", GENERATED), "en"))
    assert english.count("not available: these figures are not in this period's statistics") == 13


def test_small_shares_are_not_rounded_to_zero() -> None:
    view = documents.SiteView(SITE, older_stats([], WEEK[0], WEEK[-1]), documents.Fmt("fr"), "s1", ["requests"],
                              "2026-04-06", "2026-04-12")
    assert view.share_of(20, 56_000) == "<\u00a00,1\u00a0%" and view.share_of(0, 56_000) == "0,0\u00a0%"
    assert view.share_of(28, 56_000) == "<\u00a00,1\u00a0%"  # 0,05 % rounds half to even: 0,0
    assert view.share_of(29, 56_000) == "0,1\u00a0%" and view.share_of(1, 0) == "—"


def test_a_period_without_logs_has_no_figure() -> None:
    """No log for any day: the warning, the coverage, and no traffic figure at all (never 0 requests)."""
    stats = full_stats([], WEEK[0], WEEK[-1])
    section = site_section(documents.render_html(documents.weekly_data({SITE: stats}, "2026-W15", GENERATED), "fr"),
                           charts=False)
    assert "journaux reçus pour 0 jour sur 7\u202f; 7 jours manquants\u00a0: du lundi 6 au dimanche 12 avril 2026" in section
    assert "non disponible\u00a0: aucun journal ni enregistrement pour cette période" in section
    assert "<td>0</td>" not in section and "<svg" not in section and "Synthèse" not in section
    # Logs not due yet (a period in the future) and days before the site's first log: said, not counted.
    cov = day_coverage({date(2026, 4, 9)}, WEEK, today=date(2026, 4, 11))
    stats = {**reference_stats(rich_records([date(2026, 4, 9)]), [SITE], WEEK[0], WEEK[-1]), "coverage": {**cov, "last_file": None}}
    section = site_section(documents.render_html(documents.weekly_data({SITE: stats}, "2026-W15", GENERATED), "fr"))
    assert cov["before_first_day"] == 3 and cov["not_yet_due"] == 2
    assert "3 jours avant le premier journal reçu pour ce site (le 9 avril 2026), non comptés." in section
    assert "2 jours pas encore échus, non comptés." in section and "aucun fichier reçu" in section
    assert section.count("avant le premier journal reçu pour ce site</td>") == 6  # 3 days × 2 tables
    assert section.count("journal pas encore attendu</td>") == 4  # Saturday 11 and Sunday 12
    assert "journaux reçus pour 1 jour sur 2\u202f; 1 jour manquant\u00a0: vendredi 10 avril 2026." in section


def test_previous_period_without_records_is_no_comparison() -> None:
    """The days before had no record (logs not delivered yet): no table of zeros, said in words."""
    stats = full_stats(rich_records(WEEK), WEEK[0], WEEK[-1])
    assert stats["previous"]["requests"] == 0
    section = site_section(documents.render_html(documents.weekly_data({SITE: stats}, "2026-W15", GENERATED), "fr"))
    heading = section.index('<h3 id="s1-previous">')
    assert ("non disponible\u00a0: aucun enregistrement pour la période précédente (du 30 mars au 5 avril 2026)"
            in section[heading:heading + 400])
    assert "Période précédente" not in section


def test_metric_choice_applies_to_every_part() -> None:
    stats = full_stats(with_previous(WEEK), WEEK[0], WEEK[-1])
    data = documents.weekly_data({SITE: stats}, "2026-W15", GENERATED, show={SITE: ["requests"]})
    section = site_section(documents.render_html(data, "fr"), charts=False)
    for absent in ("Volume", "Visiteurs", "Part CDN", "2xx", "p50", "Statuts de cache", "Échecs de cache",
                   "Chemins les plus demandés", "404", "Navigateurs", "Pages de provenance", "Temps de réponse",
                   "Requêtes vers l'origine", "Lignes en quarantaine", "Statuts et temps de réponse par jour"):
        assert absent not in section, absent
    assert section.count("<svg/>") == 2  # requests per day and per hour
    assert "<th scope=\"col\">Requêtes</th><th scope=\"col\">Requêtes de robots</th></tr>" in section
    # Status alone: the per-day status table, its chart, the 404 and 5xx lists; no traffic table.
    data = documents.weekly_data({SITE: stats}, "2026-W15", GENERATED, show={SITE: ["status"]})
    section = site_section(documents.render_html(data, "fr"), charts=False)
    assert 'id="s1-quality"' in section and 'id="s1-days"' not in section and "p50" not in section
    assert ">Adresses les plus demandées en erreur 404</h3>" in section and "Humains et robots" not in section
    assert section.count("<svg/>") == 1


def test_missing_days_warned_and_not_drawn() -> None:
    stats = full_stats(with_previous(GAPPED_WEEK), WEEK[0], WEEK[-1])
    html = documents.render_html(documents.weekly_data({SITE: stats}, "2026-W15", GENERATED), "fr")
    section = site_section(html)
    # The warning comes first, right under the site's heading.
    assert re.search(r'^<section[^>]*>\n<h2 id="s1">Trafic — www\.a\.gouv\.fr</h2>\n<p class="warning">'
                     r"<strong>Attention</strong>\u00a0: journaux reçus pour 5 jours sur 7\u202f; 2 jours manquants\u00a0: "
                     r"mercredi 8 et jeudi 9 avril 2026\.", section)
    assert section.count("aucun journal pour ce jour") == 4  # two days × (traffic, statuses) tables
    assert "Cette période n'a pas de journaux pour 2 jours\u00a0: l'évolution compare des périodes" in section
    # The CDN-share line breaks over the gap: two pieces (6–7 and 10–12 April), no line across it.
    share = section[section.index('id="s1-share-t"'):]
    share = share[:share.index("</svg>")]
    assert len(re.findall(r'<polyline class="series-line"', share)) == 2
    assert share.count('class="blank"') == 2  # the two days shaded behind the plot
    assert "08/04\u00a0∅" in share and "Jours sans chiffre (∅), non tracés\u00a0: mercredi 8 et jeudi 9 avril 2026." in section
    # No coverage figure at all (older stats): days without a record are said so, never drawn as 0.
    older = older_stats(rich_records(GAPPED_WEEK), WEEK[0], WEEK[-1])
    section = site_section(documents.render_html(documents.weekly_data({SITE: older}, "2026-W15", GENERATED), "fr"))
    assert '<p class="warning"><strong>Attention</strong>\u00a0: aucun enregistrement pour mercredi 8 et jeudi 9 avril 2026.' in section
    assert section.count("aucun enregistrement pour ce jour") == 4


def test_charts_are_described_by_their_data_table(full_week: dict[str, Any]) -> None:
    html = documents.render_html(full_week, "fr")
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    charts = re.findall(r'<svg role="img" aria-labelledby="([^"]+)" aria-describedby="([^"]+)"', html)
    assert len(charts) == 6  # 5 per day, 1 per hour
    for title, described in charts:
        assert title in ids and described in ids
        caption = html[html.index(f'<figcaption id="{described}">'):]
        caption = caption[:caption.index("</figcaption>")]
        link = re.search(r'<a class="chart-link" href="#([^"]+)">Données du graphique', caption)
        assert link and link.group(1) in ids and f'<table id="{link.group(1)}">' in html
    titles = re.findall(r'<title id="[^"]+-t">([^<]+)</title>', html)
    assert titles and all(t.endswith(f"— {SITE}") for t in titles)
    for unit in ("requêtes", "Mo", "%", "secondes"):  # the unit in each y axis' title
        assert re.search(rf'class="axis-title">{unit}</text>', html), unit
    # Every y axis starts at 0.
    for svg in re.findall(r"<svg role=\"img\".*?</svg>", html, flags=re.S):
        axis = re.search(r'<g class="y-axis">(.*?)</g>', svg, flags=re.S)
        assert axis and re.search(r'class="tick">0(,0+)?</text>', axis.group(1))


def test_chart_svg() -> None:
    fr = documents.Fmt("fr")
    bars = documents.svg_chart("c", "bar", fr, "Requêtes <b> — x", "requêtes", ["a", "b", "c"],
                               [documents.Series("r", [10, None, 0])], blank=[False, True, False])
    assert bars.count("<rect") == 2  # one bar (None and 0 have none) and the blank day's shade
    assert "Requêtes &lt;b&gt; — x" in bars and "<b>" not in bars and "<script" not in bars
    assert [t for t in re.findall(r'class="tick">([^<]*)<', bars)][:3] == ["0", "2", "4"]  # 0..10 by 2
    line = documents.svg_chart("l", "line", fr, "t", "%", list("abcde"),
                               [documents.Series("p", [1, 2, None, 4, 5]), documents.Series("q", [1, None, 3, None, 5])],
                               fixed=(0, 100))
    assert line.count('<polyline class="series-line"') == 2  # p: a–b and d–e; q has no two points in a row
    assert 'class="legend"' in line and ">100</text>" in line
    stacked = documents.svg_chart("s", "stacked", fr, "t", "n", ["a"],
                                  [documents.Series("x", [3]), documents.Series("y", [5], pattern="hatch")])
    assert 'id="s-p1"' in stacked and 'fill="url(#s-p1)"' in stacked and ">8</text>" in stacked  # 3 + 5 stacked


def test_numbers_as_babel_formats_them() -> None:
    import random

    from babel.numbers import format_decimal, format_percent

    rng = random.Random(12)
    for lang, locale, percent in (("fr", "fr_FR", "\u00a0%"), ("en", "en_GB", "%")):
        f = documents.Fmt(lang)
        for _ in range(2000):
            value = rng.choice([rng.uniform(-1e7, 1e7), rng.randint(-10**9, 10**9), round(rng.uniform(0, 10), 3)])
            digits = rng.randint(0, 4)
            pattern = "#,##0" + ("." + "0" * digits if digits else "")
            assert f.num(value, digits) == format_decimal(value, format=pattern, locale=locale)
            ratio = rng.random()
            assert f.pct(ratio, digits) == format_percent(ratio, format=pattern + percent, locale=locale)


def test_monthly_site_section_and_print_stylesheet() -> None:
    april = [d for d in APRIL if d.day not in (14, 15, 16)]
    qs = qs_report(2026, 4, [SITE], [], [], [], as_of=datetime(2026, 6, 1, tzinfo=UTC))
    data = documents.monthly_data({SITE: full_stats(with_previous(april), APRIL[0], APRIL[-1])}, qs, GENERATED)
    html = documents.render_html(data, "fr")
    assert "<title>Rapport mensuel de qualité de service — avril 2026</title>" in html
    assert "du mercredi 1er avril 2026 au jeudi 30 avril 2026" in html
    assert "3 jours manquants\u00a0: du mardi 14 au jeudi 16 avril 2026" in html
    assert "@media print" in html and "break-before: page" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
