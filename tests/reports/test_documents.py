"""Weekly and monthly documents: the same figures in HTML, CSV, XLSX and JSON; escaping; French format."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reports import documents
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
    assert html.count('<svg role="img"') == 5 and '<title id="c0-time-t">Temps de réponse par jour (s)</title>' in html
    assert 'scope="col"' in html and "<caption>" in html
    # 75 % of the known-class requests are hits: "75,00 %" in French
    assert "75,00\u00a0%" in html or "75,00\u202f%" in html
    english = documents.render_html(weekly, "en")
    assert "Requests</th><td>7,021</td>" in english and "Monday, 6 April 2026" in english


def test_csv_and_json_agree(weekly: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(documents.render_csv(weekly))))
    totals = {r["metric"]: r["value"] for r in rows if r["day"] == ""}
    assert totals["requests"] == "7021" and totals["bytes"] == str(7021 * 1000)
    per_day = {r["day"]: int(r["value"]) for r in rows if r["metric"] == "requests" and r["day"]}
    assert per_day == {f"2026-04-{6 + k:02d}": 1000 + k for k in range(7)}
    assert json.loads(documents.render_json(weekly))["sites"][SITE]["requests"] == 7021


def test_xlsx(weekly: dict[str, Any], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "w.xlsx"
    documents.render_xlsx(weekly, path, "fr")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Synthèse", "Par jour"]
    summary = wb["Synthèse"]
    assert [c.value for c in summary[2]][:3] == [SITE, 7021, 7021 * 1000]
    days = list(wb["Par jour"].iter_rows(min_row=2, values_only=True))
    assert len(days) == 7 and days[0][1].date() == date(2026, 4, 6) and days[0][2] == 1000


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
    assert "INC-1" in html and "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "non conforme" in html     # 1 h down: QS-02 fails
    # 7 April: (86,400 − 3,600) / 86,400 = 95.8333 %; the 13-month history starts in April 2025
    assert "95,8333\u00a0%" in html and "Disponibilité par jour" in html
    assert "<th scope=\"row\">2025-04</th>" in html and "13 derniers mois" in html
    rows = list(csv.DictReader(io.StringIO(paths[1].read_text())))
    q2 = [r for r in rows if r["metric"] == "QS-02"]
    assert q2[0]["site"] == "*" and q2[0]["passed"] == "False"
    assert json.loads(paths[3].read_text())["qs"]["indicators"][2]["value"] == 1
    with pytest.raises(ValueError, match="format"):
        documents.write_documents(data, tmp_path, "m", ["pdf"])
