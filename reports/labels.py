"""The words and the number, size, date and time formats of the HTML reports, French and English.

Everything a reader sees goes through :class:`Fmt`, which formats with Babel in the
report's locale: grouping and decimal comma with the locale's no-break spaces
("7 021", "75,00 %"), sizes in decimal units with the locale's symbols ("4,6 Go" /
"4.6 GB"), plural forms from the locale's rules ("1 incident", "2 incidents"; French
counts 0 and 1 as singular), lists joined the locale's way ("a, b et c"), and French
typography for what Babel leaves to the writer: the first day of a month is "1er",
a time of day is "20 h 54".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.units import format_unit

from reports.calendar import PARIS

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "weekly": "Rapport hebdomadaire de trafic", "monthly": "Rapport mensuel de qualité de service",
        "site": "Site", "period": "Période", "generated": "Généré le", "day": "Jour", "requests": "Requêtes",
        "bytes": "Octets", "visitors": "Visiteurs", "cdn_share_requests": "Part CDN (requêtes)",
        "cdn_share_bytes": "Part CDN (volume)", "origin_requests": "Requêtes vers l'origine",
        "status": "Classes de statut", "time_taken": "Temps de réponse",
        "top_paths": "Chemins les plus demandés",
        "path": "Chemin", "quarantined": "Lignes en quarantaine", "summary": "Synthèse", "days": "Par jour",
        "indicator": "Indicateur", "value": "Valeur", "target": "Cible", "result": "Résultat",
        "pass": "conforme", "fail": "non conforme", "pending": "en attente", "n/a": "sans objet",
        "not_measured": "non mesuré",
        "records": "Enregistrements justificatifs", "qs": "Indicateurs de qualité (QS-01 à QS-07)",
        "chart_requests": "Requêtes par jour", "chart_bytes": "Volume servi par jour",
        "chart_share": "Part CDN des requêtes par jour", "chart_status": "Classes de statut par jour",
        "chart_time": "Temps de réponse par jour", "traffic": "Trafic", "id": "Identifiant",
        "passed": "Conforme", "yes": "oui", "no": "non", "overall": "Ensemble des sites",
        "availability": "Disponibilité", "availability_daily": "Disponibilité par jour",
        "unavailable_s": "Indisponibilité (s)", "year_to_date": "Depuis le 1er janvier",
        "history": "13 derniers mois", "month": "Mois",
        "QS-01": "Requêtes servies en moins de 2 s par le CDN", "QS-02": "Disponibilité",
        "QS-03": "Incidents dans le mois", "QS-04": "Service rétabli en moins de 4 h (24 h/24, 7 j/7)",
        "QS-05": "Incidents détectés par le titulaire notifiés sous 4 h",
        "QS-06": "Changements effectifs avant la fin du jour ouvrable suivant",
        "QS-07": "Dossier de définition mis à jour sous 2 jours ouvrés",
        # traffic section
        "volume": "Volume servi", "chart_data": "Données du graphique",
        "at": "à", "unit_requests": "requêtes", "unit_percent": "%", "unit_seconds": "secondes",
        "days_traffic": "Trafic par jour", "days_quality": "Statuts et temps de réponse par jour",
        "bot_requests": "Requêtes de robots", "human_visitors": "Visiteurs humains",
        "bot_visitors": "Visiteurs robots",
        "no_logs": "aucun journal pour ce jour",
        "not_drawn": "Jours sans chiffre (∅), non tracés\u00a0: {days}.",
        "not_available": "non disponible", "na_absent": "ces chiffres ne figurent pas dans les "
        "statistiques de cette période (calculées par une version qui ne les produisait pas)",
        "warning": "Attention", "missing_warning": "journaux reçus pour {with_logs} sur {expected}\u202f; "
        "{missing}\u00a0: {days}. Les chiffres de la période ne portent que sur les jours reçus.",
        "incomplete_warning": "la période n'est pas entièrement couverte par les journaux reçus.",
        "no_record_warning": "aucun enregistrement pour {days}.",
        "coverage": "Couverture des journaux", "coverage_line": "Journaux reçus pour {with_logs} sur "
        "{expected}.", "missing_line": "{missing}\u00a0: {days}.", "last_file": "Dernier fichier reçu",
        "no_file": "aucun fichier reçu",
        "audience": "Humains et robots", "humans": "Humains", "bots": "Robots", "total": "Total",
        "share": "Part",
        "by_hour": "Trafic par heure de la journée", "chart_by_hour": "Requêtes par heure de la journée",
        "hour": "Heure", "peak": "Heure de pointe", "no_peak": "aucune requête dans la période",
        "peak_line": "{when}, {requests}, soit {rps} et {mbps} en moyenne sur l'heure",
        "per_second": "req/s",
        "content": "Pages et fichiers statiques", "pages": "Pages", "static": "Fichiers statiques",
        "not_found": "Adresses les plus demandées en erreur 404", "server_errors":
        "Adresses les plus demandées en erreur serveur (5xx)", "status_code": "Statut",
        "referrers": "Pages de provenance", "referrer": "Page de provenance",
        "referring_sites": "Sites de provenance", "host": "Site",
        "browsers": "Navigateurs", "os": "Systèmes d'exploitation", "family": "Famille",
        "cache_statuses": "Statuts de cache", "cache_status": "Statut brut", "cache_class": "Classe",
        "no_status": "(absent)", "class_hit": "servi par le cache (hit)",
        "class_miss": "absent du cache (miss)", "class_pass": "non mis en cache (pass)",
        "class_error": "erreur", "class_unknown": "inconnu",
        "previous": "Comparaison avec la période précédente", "figure": "Chiffre",
        "this_period": "Cette période", "previous_period": "Période précédente", "change": "Évolution",
        "points": "pt", "previous_empty": "aucun enregistrement pour la période précédente ({period})",
        "previous_partial": "Cette période n'a pas de journaux pour {days}\u00a0: l'évolution compare des "
        "périodes inégalement couvertes.",
        "misses_by_rule": "Échecs de cache par règle", "rule": "Règle", "ttl": "Durée de cache (TTL)",
        "misses": "Échecs de cache", "miss_ratio": "Part d'échecs",
        "rule_requests": "Requêtes portant l'identifiant de la règle qui les a décidées\u00a0: "
        "{with_rule}\u202f; sans identifiant\u00a0: {without_rule}.",
        "rule_misses": "Échecs de cache attribués à une règle\u00a0: {with_rule}\u202f; sans règle\u00a0: "
        "{without_rule}.",
        "miss_col": "absents du cache (miss)", "pass_col": "non mis en cache (pass)",
        "rule_gone": "règle absente de la politique actuelle", "override": "fenêtre",
        "no_policy": "Durée de cache non indiquée\u00a0: la politique de cache n'a pas été fournie "
        "au rapport.",
        "no_rule_logged": "aucun journal de la période ne porte l'identifiant de la règle de cache",
        "none_listed": "aucun", "empty": "rien à signaler pour la période",
        "no_records": "aucun enregistrement pour ce jour",
        "before_first": "avant le premier journal reçu pour ce site", "not_due": "journal pas encore attendu",
        "before_first_line": "{days} avant le premier journal reçu pour ce site (le {first}), non comptés.",
        "not_due_line": "{days} pas encore échus, non comptés.",
        "nothing_due": "aucun jour de la période n'est encore échu.",
        "no_file_period": "aucun fichier de journal reçu pour cette période.",
        "no_data": "aucun journal ni enregistrement pour cette période, donc aucun chiffre de trafic",
        "from_to_hour": "{day}, de {a} à {b}", "chart_bytes_by_hour": "Volume servi par heure de la journée",
        "period_range": "du {a} au {b}", "week_name": "semaine {week} de {year}",
        "paris_time": "heure de Paris", "sites": "Sites", "colon": "\u00a0:", "received_on": "reçu le",
        "client_kind": "Type de client", "content_kind": "Type de contenu",
    },
    "en": {
        "weekly": "Weekly traffic report", "monthly": "Monthly quality of service report",
        "site": "Site", "period": "Period", "generated": "Generated on", "day": "Day", "requests": "Requests",
        "bytes": "Bytes", "visitors": "Visitors", "cdn_share_requests": "CDN share (requests)",
        "cdn_share_bytes": "CDN share (data)", "origin_requests": "Origin requests",
        "status": "Status classes", "time_taken": "Time taken", "top_paths": "Top paths", "path": "Path",
        "quarantined": "Quarantined lines", "summary": "Summary", "days": "Per day",
        "indicator": "Indicator", "value": "Value", "target": "Target", "result": "Result",
        "pass": "pass", "fail": "fail", "pending": "pending", "n/a": "n/a", "not_measured": "not measured",
        "records": "Justifying records", "qs": "Quality indicators (QS-01 to QS-07)",
        "chart_requests": "Requests per day", "chart_bytes": "Data served per day",
        "chart_share": "CDN share of requests per day", "chart_status": "Status classes per day",
        "chart_time": "Time taken per day", "traffic": "Traffic", "id": "Id",
        "passed": "Passed", "yes": "yes", "no": "no", "overall": "All sites",
        "availability": "Availability", "availability_daily": "Availability per day",
        "unavailable_s": "Unavailable (s)", "year_to_date": "Year to date", "history": "Last 13 months",
        "month": "Month",
        # traffic section
        "volume": "Data served", "chart_data": "Chart data",
        "at": "at", "unit_requests": "requests", "unit_percent": "%", "unit_seconds": "seconds",
        "days_traffic": "Traffic per day", "days_quality": "Status classes and time taken per day",
        "bot_requests": "Bot requests", "human_visitors": "Human visitors",
        "bot_visitors": "Bot visitors",
        "no_logs": "no log for this day", "not_drawn": "Days without a figure (∅), not drawn: {days}.",
        "not_available": "not available", "na_absent": "these figures are not in this period's "
        "statistics (computed by a version that did not produce them)",
        "warning": "Warning", "missing_warning": "logs received for {with_logs} of {expected}; "
        "{missing}: {days}. The period's figures cover the days received only.",
        "incomplete_warning": "the logs received do not cover the whole period.",
        "no_record_warning": "no record for {days}.",
        "coverage": "Log coverage", "coverage_line": "Logs received for {with_logs} of {expected}.",
        "missing_line": "{missing}: {days}.", "last_file": "Last file received",
        "no_file": "no file received",
        "audience": "Humans and bots", "humans": "Humans", "bots": "Bots", "total": "Total", "share": "Share",
        "by_hour": "Traffic by hour of day", "chart_by_hour": "Requests by hour of day",
        "hour": "Hour", "peak": "Peak hour", "no_peak": "no request in the period",
        "peak_line": "{when}, {requests}, that is {rps} and {mbps} on average over the hour",
        "per_second": "req/s",
        "content": "Pages and static files", "pages": "Pages", "static": "Static files",
        "not_found": "Most requested addresses answered 404", "server_errors":
        "Most requested addresses answered with a server error (5xx)", "status_code": "Status",
        "referrers": "Referrers", "referrer": "Referrer", "referring_sites": "Referring sites",
        "host": "Site",
        "browsers": "Browsers", "os": "Operating systems", "family": "Family",
        "cache_statuses": "Cache statuses", "cache_status": "Raw status", "cache_class": "Class",
        "no_status": "(none)", "class_hit": "served from cache (hit)", "class_miss": "not in cache (miss)",
        "class_pass": "not cached (pass)", "class_error": "error", "class_unknown": "unknown",
        "previous": "Comparison with the previous period", "figure": "Figure",
        "this_period": "This period", "previous_period": "Previous period", "change": "Change",
        "points": "pt", "previous_empty": "no record for the previous period ({period})",
        "previous_partial": "This period has no logs for {days}: the change compares unequally covered "
        "periods.",
        "misses_by_rule": "Cache misses by rule", "rule": "Rule", "ttl": "Cache time (TTL)",
        "misses": "Cache misses", "miss_ratio": "Miss share",
        "rule_requests": "Requests carrying the id of the rule that decided them: {with_rule}; without: "
        "{without_rule}.",
        "rule_misses": "Cache misses attributed to a rule: {with_rule}; without a rule: {without_rule}.",
        "miss_col": "not in cache (miss)", "pass_col": "not cached (pass)",
        "rule_gone": "rule not in the current policy", "override": "window",
        "no_policy": "Cache time not given: the cache policy was not given to the report.",
        "no_rule_logged": "no log of the period carries the id of the cache rule",
        "none_listed": "none", "empty": "nothing to report for the period",
        "no_records": "no record for this day",
        "before_first": "before the first log received for this site", "not_due": "log not due yet",
        "before_first_line": "{days} before the first log received for this site ({first}), not counted.",
        "not_due_line": "{days} not due yet, not counted.",
        "nothing_due": "no day of the period is due yet.",
        "no_file_period": "no log file received for this period.",
        "no_data": "no log and no record for this period, hence no traffic figure",
        "from_to_hour": "{day}, from {a} to {b}", "chart_bytes_by_hour": "Data served by hour of day",
        "period_range": "{a} to {b}", "week_name": "week {week} of {year}",
        "paris_time": "Paris time", "sites": "Sites", "colon": ":", "received_on": "received on",
        "client_kind": "Client type", "content_kind": "Content type",
    },
}
LOCALES = {"fr": "fr_FR", "en": "en_GB"}

# Counted nouns: the locale's plural category ("one" or "other") → the words; {n} is the number.
PLURALS: dict[str, dict[str, dict[str, str]]] = {
    "fr": {
        "days": {"one": "{n} jour", "other": "{n} jours"},
        "expected_days": {"one": "{n} jour attendu", "other": "{n} jours attendus"},
        "missing_days": {"one": "{n} jour manquant", "other": "{n} jours manquants"},
        "requests": {"one": "{n} requête", "other": "{n} requêtes"},
        "incidents": {"one": "{n} incident", "other": "{n} incidents"},
        "misses": {"one": "{n} échec de cache", "other": "{n} échecs de cache"},
    },
    "en": {
        "days": {"one": "{n} day", "other": "{n} days"},
        "expected_days": {"one": "{n} expected day", "other": "{n} expected days"},
        "missing_days": {"one": "{n} missing day", "other": "{n} missing days"},
        "requests": {"one": "{n} request", "other": "{n} requests"},
        "incidents": {"one": "{n} incident", "other": "{n} incidents"},
        "misses": {"one": "{n} cache miss", "other": "{n} cache misses"},
    },
}

# Decimal units (SPEC: kB = 1000 B), CLDR names so Babel writes the locale's symbol (ko, Mo, Go).
_SIZE_UNITS = (("digital-terabyte", 10**12), ("digital-gigabyte", 10**9), ("digital-megabyte", 10**6),
               ("digital-kilobyte", 10**3))
NBSP = "\u00a0"


@lru_cache(maxsize=8)
def _symbols(locale: str) -> tuple[str, str, str]:
    """The locale's grouping, decimal and minus symbols (fr: narrow no-break space, comma)."""
    symbols = Locale.parse(locale).number_symbols["latn"]
    return symbols["group"], symbols["decimal"], symbols["minusSign"]


@lru_cache(maxsize=8)
def _percent_affixes(locale: str) -> str:
    """The locale's percent pattern around the number: fr "{} %" (no-break space), en "{}%"."""
    pattern = Locale.parse(locale).percent_formats[None].pattern
    return re.sub(r"[#,0.]+", "{}", pattern, count=1)


@lru_cache(maxsize=32)
def _date_pattern(locale: str, fmt: str) -> str:
    formats = Locale.parse(locale).date_formats
    return formats[fmt].pattern if fmt in ("full", "long", "medium", "short") else fmt


def _first_of_month(pattern: str) -> str:
    """French writes the first day of a month as an ordinal: "1er avril", not "1 avril"."""
    # A lone `d` outside quoted literals; dd (01) stays numeric.
    parts = re.split(r"('[^']*')", pattern)
    return "".join(p if p.startswith("'") else re.sub(r"(?<!d)d(?!d)", "d'er'", p) for p in parts)


def _digits_for(value: float) -> int:
    """Three significant figures for a size: 4,60 Go, 46,0 Go, 460 Go."""
    return 2 if value < 10 else 1 if value < 100 else 0


class Fmt:
    """Formats for one language; ``t`` is its label table."""

    def __init__(self, lang: str) -> None:
        if lang not in LABELS:
            raise ValueError(f"language {lang!r}: use one of {', '.join(LABELS)}")
        self.lang = lang
        self.locale = LOCALES[lang]
        self.t = LABELS[lang]
        self._plurals = PLURALS[lang]

    # --- numbers ------------------------------------------------------------------------

    def num(self, value: float | int | Decimal | None, digits: int = 0) -> str:
        """A number with ``digits`` decimals in the locale's symbols ("7 021", "0,179"), rounded half to
        even on its decimal value: what Babel's ``format_decimal`` gives (tested), ten times faster."""
        if value is None:
            return "—"
        group, decimal, minus = _symbols(self.locale)
        exact = value if isinstance(value, Decimal) else Decimal(str(value)) if isinstance(value, float) \
            else Decimal(value)
        return f"{exact:,.{digits}f}".translate({44: group, 46: decimal, 45: minus})

    def pct(self, value: float | None, digits: int = 2) -> str:
        """A ratio (0..1) as a percentage in the locale's pattern (fr "75,00 %", en "75.00%")."""
        if value is None:
            return "—"
        return _percent_affixes(self.locale).format(self.num(Decimal(str(value)) * 100, digits))

    def pct100(self, value: float | None, digits: int = 4) -> str:
        """A value already in percent (QS indicators)."""
        return "—" if value is None else self.pct(value / 100, digits)

    def count(self, n: int, noun: str) -> str:
        """``n`` and its noun in the locale's plural form: "1 incident", "2 incidents"."""
        forms = self._plurals[noun]
        form = forms.get(Locale.parse(self.locale).plural_form(n), forms["other"])
        return form.format(n=self.num(n))

    def noun(self, n: int, noun: str) -> str:
        """The noun alone, in the plural form ``n`` takes: "jour manquant", "jours manquants"."""
        forms = self._plurals[noun]
        return forms.get(Locale.parse(self.locale).plural_form(n), forms["other"])

    def change(self, now: float | None, before: float | None) -> str:
        """Relative change, signed ("+12,3 %", "−4,0 %"); "—" without a base to compare with."""
        if now is None or before is None or before == 0:
            return "—"
        ratio = now / before - 1
        sign = "+" if ratio > 0 else "−" if ratio < 0 else ""
        return sign + self.pct(abs(ratio), 1)

    def points(self, now: float | None, before: float | None) -> str:
        """Change of a ratio in percentage points ("+1,2 pt")."""
        if now is None or before is None:
            return "—"
        delta = 100 * (now - before)
        sign = "+" if delta > 0 else "−" if delta < 0 else ""
        return f"{sign}{self.num(abs(delta), 1)}{NBSP}{self.t['points']}"

    # --- sizes ----------------------------------------------------------------------------

    def size_unit(self, largest: float | int | None) -> tuple[str, int]:
        """The unit (CLDR name, divisor) in which ``largest`` bytes reads best, for a column or an axis."""
        for unit, divisor in _SIZE_UNITS:
            if (largest or 0) >= divisor:
                return unit, divisor
        return "digital-byte", 1

    def unit_symbol(self, unit: str) -> str:
        """The locale's short symbol of a size unit: "Mo" / "MB"; bytes are "octets" / "bytes"."""
        if unit == "digital-byte":
            return "octets" if self.lang == "fr" else "bytes"
        # Babel gives the symbol only inside a formatted value ("1 Mo"): take it from one.
        return re.sub(r"^[\d\s\u00a0\u202f]+", "", format_unit(1, unit, length="short", locale=self.locale))

    def in_unit(self, value: float | int | None, divisor: int, digits: int | None = None) -> str:
        """A number of bytes in a chosen unit, without the unit (a column says it in its header)."""
        if value is None:
            return "—"
        scaled = value / divisor
        return self.num(scaled, (0 if divisor == 1 else 1) if digits is None else digits)

    def size(self, value: float | int | None) -> str:
        """A number of bytes in the unit that reads best: "4,60 Go", "512 octets" / "4.60 GB"."""
        if value is None:
            return "—"
        unit, divisor = self.size_unit(value)
        if divisor == 1:
            return format_unit(value, unit, length="long", locale=self.locale)
        scaled = value / divisor
        digits = _digits_for(scaled)
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_unit(scaled, unit, length="short", format=pattern, locale=self.locale)

    def mbit(self, value: float | None) -> str:
        if value is None:
            return "—"
        return f"{self.num(value, 2 if value < 10 else 1 if value < 100 else 0)}{NBSP}Mbit/s"

    # --- dates and times -------------------------------------------------------------------

    def day(self, iso: str, fmt: str = "full") -> str:
        """A day; ``fmt`` is a Babel format name or pattern. French: "mercredi 1er avril 2026"."""
        d = date.fromisoformat(iso[:10])
        pattern = _date_pattern(self.locale, fmt)
        if self.lang == "fr" and d.day == 1:
            pattern = _first_of_month(pattern)
        return format_date(d, format=pattern, locale=self.locale)

    def short_day(self, iso: str) -> str:
        """A day without its year, for tables and lists: "mardi 7 avril" / "Tuesday 7 April"."""
        return self.day(iso, "EEEE d MMMM")

    def days_list(self, isos: Iterable[str]) -> str:
        """Days in words, joined the locale's way, month and year said once, runs of 3 or more as a range:
        "mardi 7 et mercredi 8 avril 2026", "du jeudi 2 au samedi 25 avril 2026" (en "from … to …")."""
        values = sorted({date.fromisoformat(v[:10]) for v in isos})
        if not values:
            return self.t["none_listed"]
        runs: list[list[date]] = []
        for d in values:
            if runs and (d - runs[-1][-1]).days == 1:
                runs[-1].append(d)
            else:
                runs.append([d])
        items: list[tuple[date, date | None]] = []
        for run in runs:
            if len(run) >= 3:
                items.append((run[0], run[-1]))
            else:
                items.extend((d, None) for d in run)

        def word(d: date, nxt: date | None) -> str:
            pattern = "EEEE d"
            if nxt is None or (nxt.year, nxt.month) != (d.year, d.month):
                pattern += " MMMM"
            if nxt is None or nxt.year != d.year:
                pattern += " y"
            return self.day(d.isoformat(), pattern)

        words = []
        for i, (first, last) in enumerate(items):
            after = items[i + 1][0] if i + 1 < len(items) else None
            if last is None:
                words.append(word(first, after))
            else:
                a, b = word(first, last), word(last, after)
                words.append(f"du {a} au {b}" if self.lang == "fr" else f"from {a} to {b}")
        return format_list(words, locale=self.locale)

    def period_name(self, data: Mapping[str, Any]) -> str:
        """A report's period in words: "semaine 15 de 2026" / "week 15 of 2026", "avril 2026"."""
        if data.get("week"):
            year, week = str(data["week"]).split("-W")
            return self.t["week_name"].format(week=int(week), year=year)
        if data.get("month"):
            return format_date(date.fromisoformat(f"{data['month']}-01"), "LLLL y", locale=self.locale)
        return self.t["period_range"].format(a=self.day(data["from"], "long"), b=self.day(data["to"], "long"))

    def clock(self, moment: datetime) -> str:
        """A time of day, Paris time: "20 h 54" in French, "20:54" in English."""
        local = moment.astimezone(PARIS) if moment.tzinfo else moment
        if self.lang == "fr":
            return f"{local.hour}{NBSP}h{NBSP}{local.minute:02d}"
        return f"{local.hour:02d}:{local.minute:02d}"

    def hour(self, hour: int) -> str:
        """An hour of the day as an axis or row label: "20 h" / "20:00"."""
        return f"{hour}{NBSP}h" if self.lang == "fr" else f"{hour:02d}:00"

    def moment(self, value: str | datetime) -> str:
        """A date and time, Paris time: "lundi 13 avril 2026 à 10 h 00" / "... at 10:00"."""
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        local = when.astimezone(PARIS) if when.tzinfo else when
        return f"{self.day(local.date().isoformat(), 'long')} {self.t['at']} {self.clock(local)}"

    def duration(self, seconds: float | int | None) -> str:
        """A duration in the largest two units: "4 h 30", "2 j 1 h", "5 min", "45 s" (en "4 h 30 min")."""
        if seconds is None:
            return "—"
        s = round(seconds)
        d, rest = divmod(s, 86400)
        h, rest = divmod(rest, 3600)
        m, sec = divmod(rest, 60)
        day = "j" if self.lang == "fr" else "d"
        if d:
            return f"{d}{NBSP}{day}" + (f"{NBSP}{h}{NBSP}h" if h else "")
        if h:
            if not m:
                return f"{h}{NBSP}h"
            return f"{h}{NBSP}h{NBSP}{m:02d}" + ("" if self.lang == "fr" else f"{NBSP}min")
        if m:
            return f"{m}{NBSP}min" + (f"{NBSP}{sec:02d}{NBSP}s" if sec else "")
        return f"{sec}{NBSP}s"

    # --- QS helpers (used by the QS template) --------------------------------------------------

    def detail(self, value: object) -> str:
        """A field of a justifying record: numbers in the locale, at most 4 decimals."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return str(value)
        if float(value).is_integer():
            return self.num(value)
        return self.num(value, 4).rstrip("0").rstrip(",.")

    def indicator_value(self, ind: Mapping[str, Any]) -> str:
        if ind["unit"] == "%":
            return self.pct100(ind["value"])
        return "—" if ind["value"] is None else f"{self.num(ind['value'])} {ind['unit']}"
