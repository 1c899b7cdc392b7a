"""The monthly QS report as handed to a contract manager: French tables, readable dates and
durations, verdicts in words, coverage and budget beside every value (reports.qs_view), and
the HTML built from them."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape

from reports import documents
from reports.qs import Observations, qs_report
from reports.qs_view import Words, view
from tests.reports.test_qs import ALL_DAYS, LATER, WATCHED, change, inc

AS_OF = datetime(2025, 6, 15, tzinfo=UTC)


def report(incidents: list, changes: list | None = None, seen: Observations | None = None,
           site: str | None = None) -> dict:
    r = qs_report(2025, 4, ["a.fr", "b.fr"], incidents, changes or [], [], as_of=LATER, site=site,
                  seen=seen or Observations(WATCHED, ALL_DAYS))
    return r.to_json()


def test_dates_durations_and_plurals_in_french_and_english() -> None:
    fr, en = Words("fr"), Words("en")
    assert fr.span("2026-04-21T10:00:00+02:00", "2026-04-21T14:30:00+02:00") == "21/04/2026 10:00 → 14:30, 4\xa0h\xa030"
    assert fr.span("2026-04-21T23:00:00+02:00", "2026-04-22T01:00:00+02:00") == (
        "21/04/2026 23:00 → 22/04/2026 01:00, 2\xa0h\xa000")
    assert en.span("2026-04-21T10:00:00+02:00", None) == "21 Apr 2026 10:00 → open"
    assert (fr.duration(150), fr.duration(259.2), fr.duration(16_200)) == ("2\xa0min\xa030\xa0s", "4\xa0min\xa019\xa0s",
                                                                           "4\xa0h\xa030")
    assert fr.duration(45.5) == "45,5\xa0s" and en.duration(45.5) == "45.5\xa0s"
    assert fr.as_of("2026-05-01T20:54:00+02:00") == "1er mai 2026 à 20 h 54"
    assert fr.day("2026-04-01") == "mercredi 1er avril 2026"
    assert [fr.plural(n, "incident") for n in (0, 1, 2)] == ["incident", "incident", "incidents"]
    assert [en.plural(n, "incident") for n in (0, 1, 2)] == ["incidents", "incident", "incidents"]
    assert fr.reason("1 failed probe(s)") == "1 sonde en échec" and fr.reason("3 failed probe(s)") == "3 sondes en échec"


def test_same_rounded_value_different_verdicts_show_their_downtime() -> None:
    ok = view(report([inc("I", "2025-04-03T10:00:00", "2025-04-03T10:04:19")], site="a.fr"))
    ko = view(report([inc("I", "2025-04-03T10:00:00", "2025-04-03T10:04:20")], site="a.fr"))
    q_ok, q_ko = ok["summary"][1], ko["summary"][1]
    assert (q_ok["value"], q_ko["value"]) == ("99,9900\xa0%", "99,9900\xa0%")   # the same 4 decimals…
    assert (q_ok["verdict"]["word"], q_ko["verdict"]["word"]) == ("conforme", "non conforme")
    # …told apart by the downtime against the allowance beside them
    assert "4\xa0min\xa019\xa0s / indisponibilité admise 4\xa0min\xa019\xa0s" in q_ok["note"]
    assert "4\xa0min\xa020\xa0s / indisponibilité admise 4\xa0min\xa019\xa0s" in q_ko["note"]
    assert (ko["budget"]["actual"], ko["budget"]["allowed"]) == ("4\xa0min\xa020\xa0s", "4\xa0min\xa019\xa0s")


def test_a_month_without_data_never_reads_conforme() -> None:
    blind = view(report([], seen=Observations([], {})))
    words = {row["id"]: row["verdict"]["word"] for row in blind["summary"]}
    assert words == {"QS-01": "non mesuré", "QS-02": "non mesuré", "QS-03": "conforme", "QS-04": "sans objet",
                     "QS-05": "sans objet", "QS-06": "sans objet", "QS-07": "sans objet"}
    assert blind["summary"][3]["note"] == "aucun enregistrement à juger"
    assert {c["verdict"]["word"] for h in blind["history"] for c in h["cells"][:2]} == {"non mesuré"}
    # every verdict has a symbol as well as a colour class
    assert all(row["verdict"]["text"].split()[0] in "✔✘⌛?–" for row in blind["summary"])


def test_records_are_french_tables_and_per_site_results() -> None:
    data = report([inc("I", "2025-04-21T10:00:00", "2025-04-21T14:30:00"),
                   inc("M", "2025-04-05T02:00:00", "2025-04-05T04:00:00", planned=True)],
                  [change("C1", "2025-04-18T16:00:00", "2025-04-19T23:59:00", "2025-04-23T18:00:00")])
    v = view(data)
    assert v["as_of"] == "Situation au 15 juin 2025 à 0 h 00"
    q4 = next(r for r in v["records"] if r["id"] == "QS-04")
    assert q4["columns"] == ["Site", "Période", "Échéance", "Motif", "Résultat"]
    assert [c["text"] for c in q4["rows"][1]] == ["a.fr", "21/04/2025 10:00 → 14:30, 4\xa0h\xa030", "21/04/2025 14:00",
                                                  "—", "non conforme"]
    assert [c["text"] for c in q4["rows"][0]][3:] == ["maintenance programmée", "sans objet"]
    assert v["summary"][3]["note"] == "0 dans les délais, 1 en retard, 0 en attente"
    assert [s["site"] for s in v["per_site"]] == ["a.fr", "b.fr"]
    assert [c["verdict"]["word"] for c in v["per_site"][1]["cells"]][1] == "conforme"   # b.fr was up
    assert v["summary"][2]["value"] == "1 incident"
    en = view(data, "en")
    assert en["summary"][2]["value"] == "1 incident"
    assert en["records"][0]["columns"] == ["Site", "Source", "Period", "Effect", "In the month", "Reason"]


def test_monthly_html_has_the_qs_tables(tmp_path) -> None:
    r = qs_report(2025, 4, ["a.fr", "b.fr"], [inc("I", "2025-04-21T10:00:00", "2025-04-21T14:30:00")], [], [],
                  as_of=AS_OF, seen=Observations(WATCHED, ALL_DAYS))
    html = unescape(documents.render_html(documents.monthly_data({}, r, AS_OF), "fr"))
    for text in ("Situation au 15 juin 2025 à 2 h 00", "QS-02 — budget d'indisponibilité", "Résultats par site",
                 "21/04/2025 10:00 → 14:30, 4\xa0h\xa030", "Marché H-Web, lot 2 — indicateur QS-07",
                 "non conforme"):
        assert text in html, text
    assert "key:" not in html and "started_at" not in html   # no raw record dumps
