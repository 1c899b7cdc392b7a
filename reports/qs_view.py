"""The monthly QS report as a contract manager reads it: French (or English) tables.

A pure function from the report's JSON (``reports.qs.QsReport.to_json``) to rows of
formatted cells for the HTML template: readable dates ("21/04/2026 10:00 → 14:30, 4 h 30"),
durations, reasons in the report's language, each indicator's method and contract
reference, the QS-02 budget (measured time, allowed and actual downtime, merged outages),
on-time / late / pending counts, coverage beside every value and a verdict carried by a
word and a symbol, never by colour alone. Nothing here computes a figure: every number
comes from ``reports.qs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from reports.calendar import PARIS

LOCALES = {"fr": "fr_FR", "en": "en_GB"}
REFERENCE = {"fr": "Marché H-Web, lot 2 — indicateur {id}", "en": "H-Web contract, lot 2 — indicator {id}"}

NAMES = {
    "fr": {
        "QS-01": "Requêtes servies en moins de 2 s par le CDN",
        "QS-02": "Disponibilité",
        "QS-03": "Incidents dans le mois",
        "QS-04": "Service rétabli en moins de 4 h (24 h/24, 7 j/7)",
        "QS-05": "Incidents détectés par le titulaire notifiés sous 4 h",
        "QS-06": "Changements effectifs avant la fin du jour ouvrable suivant",
        "QS-07": "Dossier de définition mis à jour sous 2 jours ouvrés",
    },
    "en": {
        "QS-01": "Requests answered in under 2 s at the edge",
        "QS-02": "Availability",
        "QS-03": "Incidents in the month",
        "QS-04": "Service restored in under 4 h (24/7)",
        "QS-05": "Provider-detected incidents notified within 4 h",
        "QS-06": "Changes effective by the end of the next jour ouvrable",
        "QS-07": "Definition dossier updated within 2 jours ouvrés",
    },
}

METHODS = {
    "fr": {
        "QS-01": "Part des requêtes dont le temps de réponse mesuré en bordure est inférieur à 2 s, sur les "
        "requêtes ayant un temps mesuré, les jours couverts par des fichiers de logs reçus.",
        "QS-02": "Temps observé (sondes, incidents enregistrés) moins les indisponibilités fusionnées "
        "(incidents à impact total, séries de sondes en échec), rapporté au temps observé ; "
        "maintenances approuvées et pannes non imputables au titulaire exclues.",
        "QS-03": "Incidents imputables au titulaire commencés dans le mois, maintenances programmées "
        "exclues.",
        "QS-04": "Part des incidents comptés avec impact sur le service rétablis moins de 4 h après leur "
        "début (temps calendaire, 24 h/24).",
        "QS-05": "Part des incidents détectés par le titulaire notifiés moins de 4 h après leur détection.",
        "QS-06": "Part des changements demandés dans le mois effectifs avant la fin du jour ouvrable suivant "
        "la demande (lundi au samedi, jours fériés exclus).",
        "QS-07": "Part des changements effectifs dans le mois dont le dossier a été mis à jour sous 2 jours "
        "ouvrés (lundi au vendredi, jours fériés exclus).",
    },
    "en": {
        "QS-01": "Share of requests with an edge time taken under 2 s, over the requests with a time taken, "
        "on the days covered by delivered log files.",
        "QS-02": "Observed time (probes, incident records) less merged unavailable time (full-impact "
        "incidents, runs of failed probes), over the observed time; approved maintenance and "
        "outages not attributable to the provider excluded.",
        "QS-03": "Incidents the provider is responsible for, started in the month, planned maintenance "
        "excluded.",
        "QS-04": "Share of counted incidents with service impact restored less than 4 h after they started "
        "(24/7 calendar time).",
        "QS-05": "Share of provider-detected incidents notified less than 4 h after detection.",
        "QS-06": "Share of changes requested in the month effective by the end of the next jour ouvrable "
        "(Monday to Saturday, public holidays excluded).",
        "QS-07": "Share of changes effective in the month whose dossier was updated within 2 jours ouvrés "
        "(Monday to Friday, public holidays excluded).",
    },
}

WORDS = {
    "fr": {
        "pass": "conforme",
        "fail": "non conforme",
        "pending": "en attente",
        "not_measured": "non mesuré",
        "n/a": "sans objet",
        "yes": "oui",
        "no": "non",
        "open": "en cours",
        "all": "tous les sites",
        "overall": "Ensemble des sites",
        "as_of": "Situation au {when}",
        "site": "Site",
        "indicator": "Indicateur",
        "value": "Valeur",
        "target": "Cible",
        "result": "Résultat",
        "coverage": "Couverture",
        "note": "Observations",
        "method": "Méthode",
        "reference": "Référence",
        "records": "Enregistrements justificatifs",
        "per_site": "Résultats par site",
        "history": "Historique des 13 derniers mois",
        "month": "Mois",
        "budget": "QS-02 — budget d'indisponibilité",
        "measured": "Temps observé",
        "allowed": "Indisponibilité admise",
        "actual": "Indisponibilité constatée",
        "outages": "Indisponibilités (fusionnées)",
        "worst": "Si tout le temps non observé avait été indisponible",
        "daily": "QS-02 — disponibilité par jour",
        "day": "Jour",
        "unavailable": "Indisponibilité",
        "observed": "Observé",
        "ytd": "Depuis le 1er janvier",
        "counts": "{on_time} dans les délais, {late} en retard, {pending} en attente",
        "logs_cov": "logs : {n} {unit} sur {of}",
        "probes_cov": "observé {share} du mois ({probes} sondes)",
        "not_enough": "données insuffisantes (moins de {min} de couverture)",
        "missing_days": "jours sans logs : {days}",
        "none_to_judge": "aucun enregistrement à juger",
        "register": "registre des incidents : {n} {unit} dans le mois",
        "untimed": "{n} {unit} sans temps mesuré non {counted}",
        "no_timed": "aucune requête avec un temps mesuré",
        "period": "Période",
        "reason": "Motif",
        "impact": "Impact",
        "start": "Début",
        "end": "Fin",
        "duration": "Durée",
        "due": "Échéance",
        "done_at": "Réalisé le",
        "requested": "Demandé le",
        "effective": "Effectif le",
        "dossier": "Dossier mis à jour le",
        "detected": "Détecté le",
        "notified": "Notifié le",
        "delay": "Délai",
        "description": "Description",
        "counted": "Compté",
        "rank": "Rang",
        "requests": "Requêtes",
        "timed": "Avec temps mesuré",
        "fast": "En moins de 2 s",
        "share": "Part",
        "effect": "Effet",
        "kind": "Source",
        "in_month": "Dans le mois",
        "on_time": "Dans les délais",
    },
    "en": {
        "pass": "pass",
        "fail": "fail",
        "pending": "pending",
        "not_measured": "not measured",
        "n/a": "n/a",
        "yes": "yes",
        "no": "no",
        "open": "open",
        "all": "all sites",
        "overall": "All sites",
        "as_of": "As of {when}",
        "site": "Site",
        "indicator": "Indicator",
        "value": "Value",
        "target": "Target",
        "result": "Result",
        "coverage": "Coverage",
        "note": "Notes",
        "method": "Method",
        "reference": "Reference",
        "records": "Justifying records",
        "per_site": "Results per site",
        "history": "Last 13 months",
        "month": "Month",
        "budget": "QS-02 — downtime budget",
        "measured": "Observed time",
        "allowed": "Allowed downtime",
        "actual": "Actual downtime",
        "outages": "Outages (merged)",
        "worst": "If all unobserved time had been down",
        "daily": "QS-02 — availability per day",
        "day": "Day",
        "unavailable": "Downtime",
        "observed": "Observed",
        "ytd": "Year to date",
        "counts": "{on_time} on time, {late} late, {pending} pending",
        "logs_cov": "logs: {n} of {of} {unit}",
        "probes_cov": "observed {share} of the month ({probes} probes)",
        "not_enough": "not enough data (under {min} coverage)",
        "missing_days": "days without logs: {days}",
        "none_to_judge": "no record to judge",
        "register": "incident register: {n} {unit} started in the month",
        "untimed": "{n} {unit} without a time taken not counted",
        "no_timed": "no request with a time taken",
        "period": "Period",
        "reason": "Reason",
        "impact": "Impact",
        "start": "Start",
        "end": "End",
        "duration": "Duration",
        "due": "Due",
        "done_at": "Done at",
        "requested": "Requested",
        "effective": "Effective",
        "dossier": "Dossier updated",
        "detected": "Detected",
        "notified": "Notified",
        "delay": "Delay",
        "description": "Description",
        "counted": "Counted",
        "rank": "Rank",
        "requests": "Requests",
        "timed": "With a time taken",
        "fast": "Under 2 s",
        "share": "Share",
        "effect": "Effect",
        "kind": "Source",
        "in_month": "In the month",
        "on_time": "On time",
    },
}

# The fixed reasons reports.qs gives, in the report's language.
REASONS = {
    "fr": {
        "planned maintenance": "maintenance programmée",
        "not attributable to the provider": "non imputable au titulaire",
        "no service impact: nothing to restore": "sans impact sur le service : rien à rétablir",
        "approved planned maintenance": "maintenance programmée approuvée (exclue)",
        "full outage not attributable to the provider": "panne totale non imputable au titulaire (exclue)",
        "full impact": "impact total",
        "partial impact counts as available": "impact partiel : disponible",
        "none impact counts as available": "sans impact : disponible",
        "unavailable": "indisponible",
        "excluded": "exclu",
        "available": "disponible",
        "incident": "incident",
        "probes": "sondes",
        "full": "total",
        "partial": "partiel",
        "none": "aucun",
    },
    "en": {"unavailable": "unavailable", "excluded": "excluded", "available": "available"},
}

SYMBOL = {"pass": "✔", "fail": "✘", "pending": "⌛", "not_measured": "?", "n/a": "–"}
CSS = {
    "pass": "verdict-pass",
    "fail": "verdict-fail",
    "pending": "verdict-pending",
    "not_measured": "verdict-not-measured",
    "n/a": "verdict-na",
}


class Words:
    """Formatting in one language: numbers, dates, durations, words."""

    def __init__(self, lang: str, symbols: bool = False) -> None:
        self.lang = lang
        self.symbols = symbols  # put the verdict's symbol in the text (a terminal has no CSS to add it)
        self.locale = LOCALES[lang]
        self.w = WORDS[lang]

    def num(self, value: float | int, digits: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def pct(self, value: float | None, digits: int = 2) -> str:
        """A value already in percent; no-break space before % in both languages' tables."""
        return "—" if value is None else f"{self.num(value, digits)}\u00a0%"

    def plural(self, n: int, word: str) -> str:
        # French: 0 and 1 take the singular ("0 incident", "1 jour"); English: only 1 does.
        one = n <= 1 if self.lang == "fr" else n == 1
        return word if one else word + "s"

    def ratio(self, value: float | None, digits: int = 2) -> str:
        return "—" if value is None else self.pct(value * 100, digits)

    def when(self, iso: str | None) -> str:
        if not iso:
            return "—"
        ts = datetime.fromisoformat(iso).astimezone(PARIS)
        return format_datetime(
            ts, "dd/MM/yyyy HH:mm" if self.lang == "fr" else "d MMM yyyy HH:mm", locale=self.locale
        )

    def as_of(self, iso: str) -> str:
        ts = datetime.fromisoformat(iso).astimezone(PARIS)
        day = format_date(ts.date(), "d MMMM yyyy", locale=self.locale)
        if self.lang == "fr":
            day = day.replace("1 ", "1er ", 1) if ts.day == 1 else day
            return f"{day} à {ts.hour} h {ts.minute:02d}"
        return f"{day} at {ts:%H:%M}"

    def day(self, iso: str) -> str:
        d = date.fromisoformat(iso)
        text = format_date(d, "EEEE d MMMM yyyy", locale=self.locale)
        if self.lang == "fr" and d.day == 1:
            text = text.replace(" 1 ", " 1er ", 1)
        return text

    def month(self, label: str) -> str:
        year, month = (int(x) for x in label.split("-"))
        return format_date(date(year, month, 1), "MMMM yyyy", locale=self.locale)

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "—"
        s = round(seconds)
        h, rem = divmod(s, 3600)
        m, sec = divmod(rem, 60)
        if h:
            return f"{h}\u00a0h\u00a0{m:02d}" + (
                f"\u00a0min\u00a0{sec:02d}\u00a0s" if sec else ("" if self.lang == "fr" else "\u00a0min")
            )
        if m:
            return f"{m}\u00a0min" + (f"\u00a0{sec:02d}\u00a0s" if sec else "")
        return f"{self.num(seconds, 1 if seconds != s else 0)}\u00a0s"

    def span(self, start: str | None, end: str | None) -> str:
        """21/04/2026 10:00 → 14:30, 4 h 30 (the end's date only when it differs)."""
        if not start:
            return "—"
        if not end:
            return f"{self.when(start)} → {self.w['open']}"
        a, b = (datetime.fromisoformat(x).astimezone(PARIS) for x in (start, end))
        tail = f"{b:%H:%M}" if a.date() == b.date() else self.when(end)
        return f"{self.when(start)} → {tail}, {self.duration((b - a).total_seconds())}"

    def reason(self, text: object) -> str:
        value = str(text or "")
        if value.endswith(" failed probe(s)"):
            n = int(value.split()[0])
            if self.lang == "fr":
                return f"{n} {self.plural(n, 'sonde')} en échec"
            return f"{n} failed {self.plural(n, 'probe')}"
        return REASONS[self.lang].get(value, value)

    def verdict(self, status: str) -> dict[str, str]:
        return {
            "text": f"{SYMBOL[status]} {self.w[status]}",
            "word": self.w[status],
            "css": CSS[status],
            "symbol": SYMBOL[status],
        }

    def passed(self, value: object) -> dict[str, str]:
        status = {True: "pass", False: "fail"}.get(value, "pending")  # type: ignore[call-overload]
        return self.verdict(status)


# --- the pieces ------------------------------------------------------------------------


def value_text(ind: Mapping[str, Any], w: Words) -> str:
    if ind["value"] is None:
        return "—"
    if ind["id"] == "QS-02":
        # 4 decimals and the downtime beside: 259 s and 260 s both read 99,9900 %.
        return w.pct(ind["value"], 4)
    if ind["unit"] == "%":
        return w.pct(ind["value"], 2)
    n = int(ind["value"])
    return f"{n} {w.plural(n, 'incident')}"


def coverage_text(ind: Mapping[str, Any], w: Words) -> str:
    cov = ind.get("coverage")
    if not isinstance(cov, Mapping):
        return ""
    if ind["id"] == "QS-01":
        n, of = int(cov["days_with_logs"]), int(cov["expected_days"])
        unit = w.plural(n if w.lang == "fr" else of, "jour" if w.lang == "fr" else "day")
        text = w.w["logs_cov"].format(n=n, of=of, unit=unit)
    else:
        text = w.w["probes_cov"].format(share=w.ratio(cov["share"]), probes=w.num(cov["probes"]))
    return text


def note_text(ind: Mapping[str, Any], w: Words) -> str:
    """Built from the figures, in the report's language (the JSON note is English)."""
    parts: list[str] = []
    status = ind["status"]
    cov = ind.get("coverage")
    if status == "not_measured":
        if ind["id"] == "QS-01" and not ind.get("timed"):
            parts.append(w.w["no_timed"])
        elif isinstance(cov, Mapping):
            parts.append(w.w["not_enough"].format(min=w.ratio(cov.get("min_share"), 0)))
    if ind["id"] == "QS-01":
        untimed = int(ind.get("requests", 0)) - int(ind.get("timed", 0))
        if untimed > 0:
            parts.append(
                w.w["untimed"].format(
                    n=w.num(untimed),
                    unit=w.plural(untimed, "requête" if w.lang == "fr" else "request"),
                    counted="comptée" + ("s" if untimed > 1 else ""),
                )
            )
        if isinstance(cov, Mapping):
            missing = [d for s in cov.get("sites", {}).values() for d in s.get("missing_days", [])]
            if missing:
                shown = ", ".join(
                    format_date(date.fromisoformat(d), "dd/MM", locale=w.locale)
                    for d in sorted(set(missing))[:15]
                )
                parts.append(
                    w.w["missing_days"].format(days=shown + (" …" if len(set(missing)) > 15 else ""))
                )
    if ind["id"] == "QS-02" and ind["value"] is not None:
        parts.append(
            f"{w.w['actual']} {w.duration(ind['unavailable_s'])} / {w.w['allowed'].lower()} "
            f"{w.duration(ind['allowed_unavailable_s'])}"
        )
    if ind["id"] == "QS-03" and "details" in ind:   # a per-site brief row has no records to count
        # A count rests on the register: say what it was read from, so 0 is not taken for a measurement.
        listed = len(ind["details"])
        parts.append(w.w["register"].format(n=listed, unit=w.plural(listed, "incident")))
    if {"on_time", "late", "pending"} <= set(ind):
        if ind["on_time"] or ind["late"] or ind["pending"]:
            parts.append(
                w.w["counts"].format(on_time=ind["on_time"], late=ind["late"], pending=ind["pending"])
            )
        else:
            parts.append(w.w["none_to_judge"])
    return " ; ".join(parts) if w.lang == "fr" else "; ".join(parts)


def _cell(text: object, css: str = "") -> dict[str, str]:
    return {"text": str(text), "css": css}


def record_table(ind: Mapping[str, Any], w: Words) -> dict[str, Any]:
    """Columns and rows of an indicator's justifying records."""
    t = w.w
    i = ind["id"]
    rows: list[list[dict[str, str]]] = []
    details: Sequence[Mapping[str, Any]] = ind["details"]
    if i == "QS-01":
        cols = [t["day"], t["requests"], t["timed"], t["fast"], t["share"], t["result"]]
        for d in details:
            v = w.passed(d["passed"]) if d["passed"] is not None else w.verdict("not_measured")
            rows.append(
                [
                    _cell(w.day(str(d["id"]))),
                    _cell(w.num(d["requests"])),
                    _cell(w.num(d["timed"])),
                    _cell(w.num(d["under_2s"])),
                    _cell(w.pct(d["share"])),
                    _cell(v["text"] if w.symbols else v["word"], v["css"]),
                ]
            )
    elif i == "QS-02":
        cols = [t["site"], t["kind"], t["period"], t["effect"], t["in_month"], t["reason"]]
        for d in details:
            rows.append(
                [
                    _cell(d["site"]),
                    _cell(w.reason(d["kind"])),
                    _cell(w.span(d["start"], d["end"])),
                    _cell(w.reason(d["effect"]), "verdict-fail" if not d["passed"] else ""),
                    _cell(w.duration(d["seconds_in_month"])),
                    _cell(w.reason(d["reason"])),
                ]
            )
    elif i == "QS-03":
        cols = [t["site"], t["start"], t["impact"], t["counted"], t["rank"], t["description"]]
        for d in details:
            counted = t["yes"] if d["counted"] else f"{t['no']} ({w.reason(d['reason'])})"
            rows.append(
                [
                    _cell(_site(d["site"], w)),
                    _cell(w.when(d["started_at"])),
                    _cell(w.reason(d["impact"])),
                    _cell(counted),
                    _cell(d["rank"] or "—", "verdict-fail" if not d["passed"] else ""),
                    _cell(d["description"]),
                ]
            )
    elif i == "QS-04":
        cols = [t["site"], t["period"], t["due"], t["reason"], t["result"]]
        for d in details:
            v = _verdict(d, w)
            rows.append(
                [
                    _cell(_site(d["site"], w)),
                    _cell(w.span(d["started_at"], d["resolved_at"])),
                    _cell(w.when(d["due_before"])),
                    _cell(w.reason(d["reason"]) or "—"),
                    _cell(v["text"] if w.symbols else v["word"], v["css"]),
                ]
            )
    elif i == "QS-05":
        cols = [t["site"], t["detected"], t["notified"], t["delay"], t["due"], t["result"]]
        for d in details:
            v = _verdict(d, w)
            rows.append(
                [
                    _cell(_site(d["site"], w)),
                    _cell(w.when(d["detected_at"])),
                    _cell(w.when(d["notified_at"])),
                    _cell(w.duration(d["notification_s"])),
                    _cell(w.when(d["due_by"])),
                    _cell(v["text"] if w.symbols else v["word"], v["css"]),
                ]
            )
    else:  # QS-06, QS-07
        cols = [
            t["site"],
            t["requested"],
            t["effective"],
            t["dossier"],
            t["due"],
            t["result"],
            t["description"],
        ]
        for d in details:
            v = _verdict(d, w)
            rows.append(
                [
                    _cell(_site(d["site"], w)),
                    _cell(w.when(d["requested_at"])),
                    _cell(w.when(d["effective_at"])),
                    _cell(w.when(d["dossier_updated_at"])),
                    _cell(w.when(d["due_before"])),
                    _cell(v["text"] if w.symbols else v["word"], v["css"]),
                    _cell(d["description"]),
                ]
            )
    return {"id": i, "name": NAMES[w.lang][i], "columns": cols, "rows": rows}


def _site(site: str, w: Words) -> str:
    return w.w["all"] if site == "*" else site


def _verdict(d: Mapping[str, Any], w: Words) -> dict[str, str]:
    if d.get("applicable", True) is False:
        return w.verdict("n/a")
    return w.passed(d["passed"])


def view(qs: Mapping[str, Any], lang: str = "fr") -> dict[str, Any]:
    """Everything the QS section of the HTML shows, formatted."""
    w = Words(lang)
    t = w.w
    inds = qs["indicators"]
    summary = [
        {
            "id": i["id"],
            "name": NAMES[lang][i["id"]],
            "value": value_text(i, w),
            "target": _target(i["target_text"], lang),
            "verdict": w.verdict(i["status"]),
            "coverage": coverage_text(i, w),
            "note": note_text(i, w),
            "method": METHODS[lang][i["id"]],
            "reference": REFERENCE[lang].format(id=i["id"]),
        }
        for i in inds
    ]
    q2 = next(i for i in inds if i["id"] == "QS-02")
    cov2 = q2.get("coverage") or {}
    budget = {
        "measured": w.duration(q2.get("measured_s")),
        "allowed": w.duration(q2.get("allowed_unavailable_s")),
        "actual": w.duration(q2.get("unavailable_s")),
        "value": value_text(q2, w),
        "verdict": w.verdict(q2["status"]),
        "coverage": coverage_text(q2, w),
        "worst": w.pct(q2.get("worst_case"), 4),
        "outages": [w.span(o["start"], o["end"]) for o in q2.get("outages", [])],
        "ytd": w.pct((q2.get("year_to_date") or {}).get("availability"), 4),
        "unobserved": [w.span(g["start"], g["end"]) for g in cov2.get("longest_unobserved", [])[:5]],
    }
    daily = [
        {
            "day": w.day(d["day"]),
            "availability": w.pct(d["availability"], 4),
            "unavailable": w.duration(d["unavailable_s"]),
            "observed": w.ratio(d.get("coverage")),
            "verdict": w.verdict({True: "pass", False: "fail"}.get(d["passed"], "not_measured")),
        }
        for d in q2.get("daily", [])
    ]
    per_site = [
        {
            "site": s,
            "cells": [
                {
                    "value": value_text({**i, "unit": _unit(inds, i["id"]), "id": i["id"]}, w),
                    "verdict": w.verdict(i["status"]),
                }
                for i in rows
            ],
        }
        for s, rows in qs.get("per_site", {}).items()
    ]
    history = [
        {
            "month": w.month(h["month"]),
            "cells": [
                {
                    "value": value_text({**i, "unit": _unit(inds, i["id"])}, w),
                    "verdict": w.verdict(i.get("status") or _status(i)),
                }
                for i in h["indicators"]
            ],
        }
        for h in qs.get("history", [])
    ]
    return {
        "as_of": t["as_of"].format(when=w.as_of(qs["as_of"])),
        "scope": qs["site"] or t["overall"],
        "words": t,
        "summary": summary,
        "budget": budget,
        "daily": daily,
        "per_site": per_site,
        "history": history,
        "ids": [i["id"] for i in inds],
        "records": [record_table(i, w) for i in inds if i["details"]],
    }


def _target(text: str, lang: str) -> str:
    # "> 99.99 %" → "> 99,99 %" in French, never wrapped between the sign, number and unit.
    text = text.replace(".", ",") if lang == "fr" else text
    return text.replace(" ", "\u00a0")


def _unit(inds: Sequence[Mapping[str, Any]], id_: str) -> str:
    return next(str(i["unit"]) for i in inds if i["id"] == id_)


def _status(i: Mapping[str, Any]) -> str:
    return {True: "pass", False: "fail"}.get(i.get("passed"), "not_measured")  # type: ignore[call-overload]
