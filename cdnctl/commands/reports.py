"""`cdnctl incidents|changes|probes …` (the QS registers) and `cdnctl report qs` (QS-01..QS-07).

Thin wrappers: reading and storing records is `reports.registers` / `reports.store`, the
indicators are `reports.qs`; this module parses options and renders.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from cache_rules.model import Policy
from cdnctl.commands.logs import opened, store_option
from cdnctl.errors import CdnctlError, Exit
from cdnctl.options import parse_at
from cdnctl.output import console, emit_json, err_console, json_option
from cdnctl.settings import Settings
from reports import coverage as coverage_mod
from reports import documents
from reports import mail as mail_mod
from reports import probe as probe_mod
from reports.aggregates import period_stats_by_site
from reports.calendar import PARIS, days, month_bounds, paris_iso, parse_month
from reports.config import ConfigError, ReportConfig, load_config
from reports.misses import misses_by_rule_by_site
from reports.qs import MIN_COVERAGE, Observations, QsReport, RequestTimes, history_window, qs_report
from reports.qs_view import Words, record_table
from reports.registers import (
    CHANGES,
    INCIDENTS,
    PROBES,
    Change,
    Incident,
    MemoryStore,
    Probe,
    Register,
    RegisterStore,
    edit_record,
    import_csv,
    read_csv,
)
from reports.sites import SiteScope, UnknownSite, canonical, resolve
from reports.store import ClickHouseRegisterStore


@contextmanager
def register_store(url: str | None) -> Iterator[tuple[RegisterStore, Any]]:
    """The registers in the configured ClickHouse store, and the log store beside them."""
    with opened(url) as st:
        yield ClickHouseRegisterStore(st.client), st


def _month(value: str) -> tuple[int, int]:
    try:
        return parse_month(value)
    except ValueError as exc:
        raise CdnctlError(f"--month: {exc}", Exit.USAGE) from None


def _as_of(value: str | None) -> datetime:
    return parse_at(value, "--as-of")


def _local(ts: datetime | None) -> str:
    return "—" if ts is None else ts.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h} h {m:02d} min" if h else (f"{m} min {sec:02d} s" if m else f"{sec} s")


# --- import -----------------------------------------------------------------------------


def _import(register: Register, files: Sequence[Path], store_url: str | None, as_json: bool) -> None:
    # Check every file before storing any, so one bad file never leaves a half import.
    parsed = [read_csv(register, f) for f in files]
    errors = [e for p in parsed for e in p.errors]
    if errors:
        if as_json:
            emit_json({"ok": False, "register": register.kind, "errors": [e.to_json() for e in errors],
                       "exit_code": int(Exit.INVALID)})
        else:
            for e in errors:
                err_console.print(f"{escape(str(e))}")
            err_console.print(f"[red]error:[/] {len(errors)} error(s); nothing imported")
        raise SystemExit(int(Exit.INVALID))
    with register_store(store_url) as (store, _logs):
        results = [import_csv(store, register, f) for f in files]
    if as_json:
        emit_json({"ok": True, "register": register.kind, "files": [r.to_json() for r in results]})
        return
    for r in results:
        console.print(f"{escape(r.file)}: {r.rows} {register.kind}: {len(r.inserted)} new, "
                      f"{len(r.updated)} updated, {len(r.unchanged)} unchanged")


_FILES = click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False,
                                                                          exists=True))


@click.group()
def incidents() -> None:
    """The incident register (QS-02..QS-05)."""


@incidents.command("import")
@_FILES
@store_option
@json_option
def incidents_import(files: tuple[Path, ...], store: str | None, as_json: bool) -> None:
    """Import incidents from CSV; the same id again updates the incident.

    Columns: id, site (host or * for every site), started_at, detected_at, detected_by
    (provider|administration), notified_at, resolved_at, impact (full|partial|none),
    provider_responsible (true|false), planned_maintenance (true|false), description.
    Timestamps ISO 8601 with an offset. A file with any error is not imported at all.
    """
    _import(INCIDENTS, files, store, as_json)


@click.group()
def changes() -> None:
    """The configuration change register (QS-06, QS-07)."""


@changes.command("import")
@_FILES
@store_option
@json_option
def changes_import(files: tuple[Path, ...], store: str | None, as_json: bool) -> None:
    """Import changes from CSV; the same id again updates the change.

    Columns: id, site, requested_at, effective_at, dossier_updated_at, description.
    Timestamps ISO 8601 with an offset; effective_at and dossier_updated_at may be empty
    while not done yet.
    """
    _import(CHANGES, files, store, as_json)


def _set(register: Register, record_id: str, assignments: tuple[str, ...], store_url: str | None,
         as_json: bool) -> None:
    values: dict[str, str] = {}
    for a in assignments:
        name, sep, value = a.partition("=")
        if not sep:
            raise CdnctlError(f"{a!r}: write column=value (e.g. resolved_at=2026-04-02T10:00:00+02:00)",
                              Exit.USAGE)
        values[name.strip().lower()] = value
    with register_store(store_url) as (store, _logs):
        try:
            record, created = edit_record(store, register, record_id, values)
        except ValueError as exc:
            raise CdnctlError(f"{register.kind} {record_id}: {exc}", Exit.INVALID) from None
    shown = _incident_json(record) if isinstance(record, Incident) else _change_json(record)  # type: ignore[arg-type]
    if as_json:
        emit_json({"ok": True, "created": created, register.kind[:-1]: shown})
    else:
        console.print(f"{'created' if created else 'updated'} {escape(record_id)}")


_ASSIGN = click.argument("assignments", nargs=-1, metavar="COLUMN=VALUE...")


@incidents.command("set")
@click.argument("record_id", metavar="ID")
@_ASSIGN
@store_option
@json_option
def incidents_set(record_id: str, assignments: tuple[str, ...], store: str | None, as_json: bool) -> None:
    """Create or update one incident: `cdnctl incidents set INC-7 resolved_at=2026-04-02T10:00:00+02:00`.

    Same columns and checks as the CSV import; a new id needs every required column.
    """
    _set(INCIDENTS, record_id, assignments, store, as_json)


@changes.command("set")
@click.argument("record_id", metavar="ID")
@_ASSIGN
@store_option
@json_option
def changes_set(record_id: str, assignments: tuple[str, ...], store: str | None, as_json: bool) -> None:
    """Create or update one change: `cdnctl changes set CHG-9 dossier_updated_at=2026-04-08T17:00+02:00`."""
    _set(CHANGES, record_id, assignments, store, as_json)


@click.group()
def probes() -> None:
    """Probe results (checks of each site through the CDN), the second source of QS-02."""


@probes.command("import")
@_FILES
@store_option
@json_option
def probes_import(files: tuple[Path, ...], store: str | None, as_json: bool) -> None:
    """Import probe results from CSV (site, at, ok, status, duration_s, error), e.g. from a monitor."""
    _import(PROBES, files, store, as_json)


def _window(month: str | None) -> tuple[datetime | None, datetime | None]:
    if month is None:
        return None, None
    return month_bounds(*_month(month))


def _incident_json(i: Incident) -> dict[str, object]:
    return {"id": i.id, "site": i.site, "started_at": paris_iso(i.started_at),
            "detected_at": paris_iso(i.detected_at), "detected_by": i.detected_by.value,
            "notified_at": paris_iso(i.notified_at) if i.notified_at else None,
            "resolved_at": paris_iso(i.resolved_at) if i.resolved_at else None, "impact": i.impact.value,
            "provider_responsible": i.provider_responsible, "planned_maintenance": i.planned_maintenance,
            "duration_s": (i.resolved_at - i.started_at).total_seconds() if i.resolved_at else None,
            "description": i.description}


def _change_json(c: Change) -> dict[str, object]:
    return {"id": c.id, "site": c.site, "requested_at": paris_iso(c.requested_at),
            "effective_at": paris_iso(c.effective_at) if c.effective_at else None,
            "dossier_updated_at": paris_iso(c.dossier_updated_at) if c.dossier_updated_at else None,
            "description": c.description}


@incidents.command("list")
@click.option("--site", default=None, help="Only this site (incidents of every site, *, included).")
@click.option("--month", default=None, metavar="YYYY-MM", help="Only incidents overlapping this month.")
@store_option
@json_option
def incidents_list(site: str | None, month: str | None, store: str | None, as_json: bool) -> None:
    """List incidents, times in Europe/Paris."""
    start, end = _window(month)
    with register_store(store) as (st, _logs):
        rows = st.incidents(site, start, end)
    if as_json:
        emit_json([_incident_json(i) for i in rows])
        return
    table = Table(title=f"{len(rows)} incident(s)")
    for col in ("id", "site", "started (Paris)", "duration", "impact", "detected by", "notified", "counts"):
        table.add_column(col)
    for i in rows:
        counts = ("planned maintenance" if i.planned_maintenance
                  else "yes" if i.provider_responsible else "not the provider's")
        duration = _duration((i.resolved_at - i.started_at).total_seconds()) if i.resolved_at else "open"
        table.add_row(escape(i.id), escape(i.site), _local(i.started_at), duration, i.impact.value,
                      i.detected_by.value, _local(i.notified_at), counts)
    console.print(table)


@incidents.command("delete")
@click.argument("ids", nargs=-1, required=True)
@store_option
def incidents_delete(ids: tuple[str, ...], store: str | None) -> None:
    """Remove incidents from the register by id (e.g. entered by mistake)."""
    with register_store(store) as (st, _logs):
        n = st.delete(INCIDENTS, list(ids))
    console.print(f"{n} incident(s) deleted")
    if n < len(ids):
        raise CdnctlError(f"{len(ids) - n} id(s) not found", Exit.INVALID)


@changes.command("list")
@click.option("--site", default=None, help="Only this site.")
@click.option("--month", default=None, metavar="YYYY-MM", help="Only changes open during this month.")
@store_option
@json_option
def changes_list(site: str | None, month: str | None, store: str | None, as_json: bool) -> None:
    """List configuration changes, times in Europe/Paris."""
    start, end = _window(month)
    with register_store(store) as (st, _logs):
        rows = st.changes(site, start, end)
    if as_json:
        emit_json([_change_json(c) for c in rows])
        return
    table = Table(title=f"{len(rows)} change(s)")
    for col in ("id", "site", "requested", "effective", "dossier updated", "description"):
        table.add_column(col)
    for c in rows:
        table.add_row(escape(c.id), escape(c.site), _local(c.requested_at), _local(c.effective_at),
                      _local(c.dossier_updated_at), escape(c.description))
    console.print(table)


@click.command("probe")
@click.option("--site", "sites", multiple=True,
              help="Site to check (repeat); default: every site of the policy directory.")
@click.option("--url", "url_template", default=probe_mod.DEFAULT_URL, show_default=True,
              help="URL to fetch; {site} is replaced by the site, and the Host header is the site.")
@click.option("--timeout", type=click.FloatRange(0.1, 60), default=10.0, show_default=True,
              help="Seconds to wait for the response.")
@store_option
@json_option
@click.pass_obj
def probe_cmd(settings: Settings | None, sites: tuple[str, ...], url_template: str, timeout: float,
              store: str | None, as_json: bool) -> None:
    """Check each site through the CDN and store the results (for cron, every minute).

    A probe is ok when a response with a status below 500 arrives within the timeout.
    Runs of failed probes become unavailable time in QS-02 (see README). Exit 0 when
    the results are stored, whatever they say.
    """
    chosen = list(sites)
    if not chosen:
        if settings is None:
            raise CdnctlError("no site: give --site or a policy directory", Exit.USAGE)
        chosen = sorted(settings.policy().sites)
    results = probe_mod.probe_all(chosen, url_template, timeout)
    with register_store(store) as (st, _logs):
        st.upsert(PROBES, results)
    if as_json:
        emit_json([{"site": p.site, "at": paris_iso(p.at), "ok": p.ok, "status": p.status,
                    "duration_s": p.duration_s, "error": p.error} for p in results])
        return
    for p in results:
        verdict = "[green]ok[/]" if p.ok else "[red]FAILED[/]"
        console.print(f"{verdict} {escape(p.site)} {p.status or '—'} {p.duration_s:.3f} s {escape(p.error)}")


# --- report qs --------------------------------------------------------------------------


@click.group()
def report() -> None:
    """Reports: traffic statistics and the monthly quality indicators (QS-01..QS-07)."""


def _policy(settings: Settings | None) -> Policy | None:
    # The policy directory, when there is one, names sites that had no incident at all
    # (they still count in the overall availability), their aliases and the rules' TTLs.
    # Read once per command (site resolution, aliases, TTLs all ask): a 10,000-rule
    # directory takes seconds to load and validate.
    if settings is None or not Path(settings.policy_dir).is_dir():
        return None
    ctx = click.get_current_context(silent=True)
    memo: dict[str, Any] = ctx.meta if ctx is not None else {}
    key = f"cdnctl.reports.policy:{Path(settings.policy_dir).resolve()}"
    if key not in memo:
        try:
            result = settings.load()
        except CdnctlError:
            memo[key] = None
        else:
            memo[key] = result.policy if result.ok else None
    return memo[key]


def _policy_aliases(settings: Settings | None) -> dict[str, tuple[str, ...]]:
    policy = _policy(settings)
    return {} if policy is None else {s: p.aliases for s, p in sorted(policy.sites.items())}


def _policy_sites(settings: Settings | None) -> list[str]:
    return list(_policy_aliases(settings))


def _hosts_with_data(logs: Any, regs: RegisterStore | None = None) -> set[str]:
    """Hosts the store knows: with daily figures, named by a delivered file (even one refused
    for having no record), or in a register."""
    rows = logs.client.query("SELECT DISTINCT site FROM daily FINAL UNION DISTINCT "
                             "SELECT DISTINCT arrayJoin(sites) FROM files FINAL").result_rows
    return {r[0] for r in rows} | (set(regs.sites()) if regs is not None else set())


def _scopes(settings: Settings | None, requested: Sequence[str], seen: set[str]) -> list[SiteScope]:
    try:
        scopes = resolve(requested, _policy_aliases(settings), seen)
    except UnknownSite as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    for sc in scopes:
        if sc.asked.strip().lower().rstrip(".") != sc.site:
            err_console.print(f"note: {escape(sc.asked)} is an alias of {escape(sc.site)}: "
                              f"reporting the site ({escape(', '.join(sc.hosts))})")
    return scopes


def _times_from_logs(logs: Any, start: datetime, end: datetime, site: str | None,
                     fold: dict[str, str] | None = None) -> list[RequestTimes]:
    first = start.astimezone(PARIS).date()
    last = end.astimezone(PARIS).date()
    fold = fold or {}
    acc: dict[tuple[str, date], list[int]] = {}
    for r in logs.daily(None, first, last):
        s = fold.get(r["site"], r["site"])
        if site is not None and s != site:
            continue
        a = acc.setdefault((s, r["day"]), [0, 0, 0])
        a[0] += int(r["requests"])
        a[1] += int(r["timed"])
        a[2] += int(r["under_2s"])
    return [RequestTimes(s, d, *v) for (s, d), v in sorted(acc.items())]


def _load_files(incidents_csv: Path | None, changes_csv: Path | None, probes_csv: Path | None) -> MemoryStore:
    loaded: dict[str, list[Any]] = {"incidents": [], "changes": [], "probes": []}
    errors: list[str] = []
    for register, path in ((INCIDENTS, incidents_csv), (CHANGES, changes_csv), (PROBES, probes_csv)):
        if path is None:
            continue
        parsed = read_csv(register, path)
        errors += [str(e) for e in parsed.errors]
        loaded[register.kind] = [r for _line, r in parsed.records]
    if errors:
        raise CdnctlError("\n".join(errors), Exit.INVALID)
    inc: list[Incident] = loaded["incidents"]
    chg: list[Change] = loaded["changes"]
    prb: list[Probe] = loaded["probes"]
    return MemoryStore(inc, chg, prb)


_MIN_COVERAGE = click.option(
    "--min-coverage", "min_coverage", type=click.IntRange(0, 100), default=round(MIN_COVERAGE * 100),
    show_default=True, metavar="PERCENT",
    help="Share of the month probes must observe (QS-02) and of its days logs must cover (QS-01) "
         "for a verdict; below it the indicator is 'not measured'.")


def _observations(regs: RegisterStore, logs: Any | None, site: str | None, start: datetime, end: datetime,
                  fold: dict[str, str]) -> Observations:
    spans = regs.probe_spans(site, start, end)
    if logs is None:
        return Observations(spans, None)
    return Observations(spans, coverage_mod.site_log_days(logs.files("done"), fold))


def _not_measured(result: QsReport, as_json: bool) -> None:
    """Exit 3 when data was missing: the report is produced, its verdicts are not all known."""
    if not result.not_measured:
        return
    if not as_json:
        err_console.print(f"[yellow]warning:[/] not measured (not enough data): "
                          f"{escape(', '.join(result.not_measured))}")
    raise SystemExit(int(Exit.PARTIAL))


@report.command("qs")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month (Europe/Paris).")
@click.option("--site", default=None, help="One site or alias; default: overall, with each site's results.")
@click.option("--as-of", "as_of", default=None, metavar="ISO8601",
              help="Judge deadlines as at this time (default now); pending records are not yet late.")
@click.option("--incidents", "incidents_csv", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="Read incidents from this CSV instead of the store (what-if, audits).")
@click.option("--changes", "changes_csv", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="Read changes from this CSV instead of the store.")
@click.option("--probes", "probes_csv", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="Read probe results from this CSV instead of the store.")
@click.option("--subdiv", default=None, help="Holiday subdivision (57 = Moselle: Good Friday, 26 Dec).")
@_MIN_COVERAGE
@store_option
@json_option
@click.pass_obj
def report_qs(settings: Settings | None, month: str, site: str | None, as_of: str | None,
              incidents_csv: Path | None, changes_csv: Path | None, probes_csv: Path | None,
              subdiv: str | None, min_coverage: int, store: str | None, as_json: bool) -> None:
    """QS-01..QS-07 of a month: value, target, verdict, coverage and the records behind each.

    An indicator without enough data (probes observing less than --min-coverage of the
    month, log files for too few of its days) is "not measured", never a pass. With
    --incidents/--changes/--probes the registers come from those files and the store is
    not opened (QS-01, which needs the access logs, is then not measured).
    Exit 0 when the report is produced and every indicator could be judged (whatever
    the verdicts), 3 when one was not measured, 2 for an unknown site.
    """
    year, mon = _month(month)
    when = _as_of(as_of)
    start, end = history_window(year, mon)
    times: list[RequestTimes] = []
    aliases = _policy_aliases(settings)
    fold = canonical(aliases)
    if incidents_csv or changes_csv or probes_csv:
        regs: RegisterStore = _load_files(incidents_csv, changes_csv, probes_csv)
        scope = _scopes(settings, [site], set(regs.sites()))[0].site if site else None
        data = _gather(regs, scope, start, end)
        seen = _observations(regs, None, scope, start, end, fold)
        sites = regs.sites()
    else:
        with register_store(store) as (regs, logs):
            scope = _scopes(settings, [site], _hosts_with_data(logs, regs))[0].site if site else None
            data = _gather(regs, scope, start, end)
            times = _times_from_logs(logs, start, end, scope, fold)
            seen = _observations(regs, logs, scope, start, end, fold)
            sites = regs.sites()
    sites = sorted(set(sites) | {t.site for t in times} | set(aliases))
    result = qs_report(year, mon, sites, *data, times=times, as_of=when, site=scope, subdiv=subdiv,
                       seen=seen, min_coverage=min_coverage / 100)
    if as_json:
        emit_json(result.to_json())
    else:
        _render(result)
    _not_measured(result, as_json)


def _gather(regs: RegisterStore, site: str | None, start: datetime,
            end: datetime) -> tuple[list[Incident], list[Change], list[Probe]]:
    return (regs.incidents(site, start, end), regs.changes(site, start, end),
            regs.probe_failures(site, start, end))


def _fmt_value(value: float | int | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        return f"{text} %"
    return f"{value} {unit}"


_STATUS = {"pass": "[green]pass[/]", "fail": "[red]FAIL[/]", "pending": "[yellow]pending[/]",
           "not_measured": "[yellow]NOT MEASURED[/]", "n/a": "[dim]n/a[/]"}


def _seconds(value: Any) -> str:
    return f"{float(value):,.1f}".rstrip("0").rstrip(".") + " s"


def _coverage_text(i: Any) -> str:
    cov = i.extra.get("coverage")
    if not isinstance(cov, dict):
        return ""
    if i.id == "QS-01":
        return f"logs {cov['days_with_logs']}/{cov['expected_days']} days"
    share = cov["share"]
    return "probes —" if share is None else f"observed {share * 100:.2f} % ({cov['probes']:,} probes)"


def _render(r: QsReport) -> None:
    scope = r.site or f"overall ({len(r.sites)} site(s))"
    console.print(f"[bold]Quality indicators {r.month}[/] — {escape(scope)} — as of "
                  f"{_local(r.as_of)} (Europe/Paris)")
    table = Table()
    for col in ("indicator", "", "value", "target", "result", "coverage", "note"):
        table.add_column(col)
    for i in r.indicators:
        value = _fmt_value(i.value, i.unit)
        if i.id == "QS-02" and i.value is not None:
            # 259 s and 260 s of outage both round to 99.99 %: the downtime tells the verdict apart.
            down, allowed = _seconds(i.extra["unavailable_s"]), _seconds(i.extra["allowed_unavailable_s"])
            value += f" (down {down} of {allowed} allowed)"
        table.add_row(i.id, escape(i.title), value, i.target_text, _STATUS[i.status], _coverage_text(i),
                      escape(i.note))
    console.print(table)
    words = Words("en", symbols=True)
    for i in r.indicators:
        # Days and sources that passed would drown the few that explain a failure.
        data = i.to_json()
        if i.id in ("QS-01", "QS-02"):
            data["details"] = [d for d in i.details if d.get("passed") is not True]
        if not data["details"]:
            continue
        view = record_table(data, words)
        rec = Table(title=f"{i.id} records", title_justify="left")
        for col in view["columns"]:
            rec.add_column(col)
        for row in view["rows"]:
            rec.add_row(*(escape(c["text"]) for c in row))
        console.print(rec)
    if r.per_site:
        table = Table(title="per site")
        table.add_column("site")
        for i in r.indicators:
            table.add_column(i.id)
        for s, inds in r.per_site.items():
            table.add_row(escape(s), *[_STATUS[i.status] for i in inds])
        console.print(table)


# --- report stats -----------------------------------------------------------------------


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CdnctlError(f"{option} {value!r} is not a date (YYYY-MM-DD)", Exit.USAGE) from None


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


def _with_misses(by_site: dict[str, dict[str, Any]], st: Any, scopes: Mapping[str, Sequence[str]],
                 first: date, last: date, policy: Policy | None) -> dict[str, dict[str, Any]]:
    """Adds each site's misses by rule, one statement for all the sites; only to figures from
    the raw records (the rule of each request is not in the daily aggregates)."""
    raw = {s: hosts for s, hosts in scopes.items() if by_site[s].get("source") == "records"}
    for s, misses in misses_by_rule_by_site(st.client, raw, first, last, policy).items():
        by_site[s]["misses_by_rule"] = misses
    return by_site


def _stats_with_coverage(st: Any, scopes: Sequence[SiteScope], first: date, last: date, top: int = 10,
                         policy: Policy | None = None) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Statistics of the sites' hosts together, and each site's log coverage."""
    hosts = {"": [h for sc in scopes for h in sc.hosts]}
    data = _with_misses(period_stats_by_site(st, hosts, first, last, top), st, hosts, first, last, policy)[""]
    per_site = coverage_mod.log_coverage(st, {sc.site: sc.hosts for sc in scopes}, list(days(first, last)))
    data["coverage"] = coverage_mod.combined(per_site)
    return data, per_site


def _stats_by_site(st: Any, scopes: Sequence[SiteScope], first: date, last: date,
                   policy: Policy | None = None) -> dict[str, dict[str, Any]]:
    """Each site's statistics with its coverage. Every statement runs once for all the sites,
    the manifest is read once: the statements a monthly report sends no longer grow with the
    number of sites (about 11 ms of chDB each; 50 sites asked one by one were 400 of them)."""
    hosts = {sc.site: sc.hosts for sc in scopes}
    cov = coverage_mod.log_coverage(st, hosts, list(days(first, last)))
    by_site = _with_misses(period_stats_by_site(st, hosts, first, last), st, hosts, first, last, policy)
    return {s: {**data, "coverage": cov[s]} for s, data in by_site.items()}


def _missing_warning(cov: dict[str, Any], as_json: bool, what: str = "") -> bool:
    line = coverage_mod.summary(cov)
    if line and not as_json:
        err_console.print(f"[yellow]warning:[/] {escape(what)}{escape(line)}")
    return line is not None


@report.command("stats")
@click.option("--site", "sites", multiple=True, required=True,
              help="Site host name or alias (repeat for several).")
@click.option("--from", "day_from", required=True, metavar="YYYY-MM-DD", help="First day (Europe/Paris).")
@click.option("--to", "day_to", required=True, metavar="YYYY-MM-DD",
              help="Last day, included (Europe/Paris).")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many top paths.")
@store_option
@json_option
@click.pass_obj
def report_stats(settings: Settings | None, sites: tuple[str, ...], day_from: str, day_to: str, top: int,
                 store: str | None, as_json: bool) -> None:
    """Traffic statistics (SPEC §5) of sites over Paris days, from the raw log records.

    Says which days have log files: exit 3 when a day of the period (already over) has
    none — its traffic is unknown, not zero; exit 2 for an unknown site.
    """
    first, last = _date(day_from, "--from"), _date(day_to, "--to")
    if last < first:
        raise CdnctlError(f"--to {last} is before --from {first}", Exit.USAGE)
    with opened(store) as st:
        scopes = _scopes(settings, sites, _hosts_with_data(st))
        data, _per_site = _stats_with_coverage(st, scopes, first, last, top, _policy(settings))
    missing = _missing_warning(data["coverage"], as_json)
    if as_json:
        emit_json(data)
    else:
        _render_stats(data, [sc.site for sc in scopes], first, last, top)
    if missing:
        raise SystemExit(int(Exit.PARTIAL))


def _render_stats(data: dict[str, Any], sites: list[str], first: date, last: date, top: int) -> None:
    console.print(f"[bold]{escape(', '.join(sites))}[/] — {first} → {last} (Europe/Paris days)")
    table = Table(show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    tt = data["time_taken"]
    cov = data["coverage"]
    last_file = cov.get("last_file")
    for name, value in (
        ("days with log files", f"{cov['days_with_logs']} of {cov['expected_days']}"),
        *((("last file received", f"{last_file['name']} ({last_file['received_at'][:16]})"),)
          if last_file else ()),
        ("requests", f"{data['requests']:,}"), ("bytes", f"{data['bytes']:,}"),
        ("visitors (client, user agent per day)", _count(data["visitors"])),
        ("CDN share, requests", _ratio(data["cdn_share"]["requests"])),
        ("CDN share, bytes", _ratio(data["cdn_share"]["bytes"])),
        ("origin requests (miss + pass)", f"{data['origin_requests']:,}"),
        *((f"status {k}", f"{v:,}") for k, v in data["status"].items()),
        *((f"time taken {k}", "—" if tt[k] is None else f"{tt[k]:.3f} s") for k in ("p50", "p90", "p99")),
        ("quarantined lines", f"{data['quarantined']:,}"),
    ):
        table.add_row(name, escape(value))
    console.print(table)
    if data.get("unavailable"):
        cutoff = data.get("raw_cutoff")
        console.print(f"[yellow]from the daily aggregates[/] (raw records before {cutoff} are past the "
                      f"retention): not available: {escape(', '.join(data['unavailable']))}")
    if "top_paths" not in data:
        return
    paths = Table(title=f"top {top} paths by requests")
    for col in ("path", "requests", "bytes"):
        paths.add_column(col, justify="left" if col == "path" else "right")
    for p in data["top_paths"]["by_requests"]:
        paths.add_row(escape(p["path"]), f"{p['requests']:,}", f"{p['bytes']:,}")
    console.print(paths)


def _count(value: int | None) -> str:
    return "not available" if value is None else f"{value:,}"


# --- documents --------------------------------------------------------------------------

_OUT = click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("out"),
                    show_default=True, help="Directory the files are written to.")
_LANG = click.option("--lang", type=click.Choice(sorted(documents.LABELS)), default="fr", show_default=True,
                     help="Language of the documents (numbers and dates formatted accordingly).")
_FORMATS = click.option("--format", "formats", default=",".join(documents.FORMATS), show_default=True,
                        help="Comma-separated formats to write: html, csv, xlsx, json.")


def _formats(value: str) -> list[str]:
    chosen = [f.strip() for f in value.split(",") if f.strip()]
    bad = [f for f in chosen if f not in documents.FORMATS]
    if bad or not chosen:
        raise CdnctlError(f"--format {value!r}: choose among {', '.join(documents.FORMATS)}", Exit.USAGE)
    return chosen


_CONFIG = click.option("--config", "config_path",
                       type=click.Path(path_type=Path, dir_okay=False, exists=True),
                       envvar="CDNCTL_REPORT_CONFIG", show_envvar=True, default=None,
                       help="Report configuration (metrics per site, recipients, SMTP); see README.")
_MAIL = click.option("--mail", is_flag=True, help="E-mail the files to the recipients of the configuration.")
_MAIL_TO = click.option("--mail-to", "mail_to", multiple=True, metavar="ADDRESS",
                        help="E-mail the files to this address too (repeat); implies --mail.")
_SMTP = click.option("--smtp", "smtp_url", envvar="CDNCTL_SMTP_URL", show_envvar=True, default=None,
                     metavar="URL",
                     help="smtp://[user@]host[:587] (STARTTLS, required) or smtps://host[:465]; "
                          "password in CDNCTL_SMTP_PASSWORD.")


def _config(path: Path | None) -> ReportConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise CdnctlError(str(exc), Exit.INVALID) from None


def _mail(cfg: ReportConfig, recipients: Sequence[str], smtp_url: str | None, subject: str,
          paths: list[Path]) -> list[str]:
    """Send the files; returns the recipients. Files are written first, so a mail failure loses nothing."""
    to = list(dict.fromkeys(recipients))
    if not to:
        raise CdnctlError("--mail: no recipient (set recipients in --config or give --mail-to)", Exit.USAGE)
    url = smtp_url or cfg.smtp
    if not url:
        raise CdnctlError("--mail: no SMTP server (--smtp, CDNCTL_SMTP_URL or mail.smtp in --config)",
                          Exit.USAGE)
    sender = cfg.mail_from or "cdnctl@localhost"
    body = "\n".join(["Rapport en pièces jointes / report attached:", *(f"- {p.name}" for p in paths)])
    try:
        mail_mod.send(url, mail_mod.build_message(sender, to, subject, body, paths))
    except mail_mod.MailError as exc:
        raise CdnctlError(f"the files are written but the e-mail failed: {exc}", Exit.PARTIAL) from None
    return to


def _written(paths: list[Path], as_json: bool, mailed: list[str] | None = None) -> None:
    if as_json:
        emit_json({"ok": True, "files": [str(p) for p in paths], "mailed_to": mailed or []})
        return
    for p in paths:
        console.print(f"wrote {escape(str(p))}")
    if mailed:
        console.print(f"mailed to {escape(', '.join(mailed))}")


@report.command("weekly")
@click.option("--site", "sites", multiple=True, required=True, help="Site host name (repeat for several).")
@click.option("--week", required=True, metavar="YYYY-Www",
              help="ISO week, e.g. 2026-W14 (Monday–Sunday, Paris).")
@_OUT
@_LANG
@_FORMATS
@_CONFIG
@_MAIL
@_MAIL_TO
@_SMTP
@store_option
@json_option
@click.pass_obj
def report_weekly(settings: Settings | None, sites: tuple[str, ...], week: str, out_dir: Path, lang: str,
                  formats: str, config_path: Path | None, mail: bool, mail_to: tuple[str, ...],
                  smtp_url: str | None, store: str | None, as_json: bool) -> None:
    """The weekly traffic report of sites: HTML (with charts), CSV, XLSX and JSON files.

    The configuration chooses the metrics each site's HTML shows and its recipients.
    Exit 3 when the files are written but a day of the week has no log file (the report
    says so) or the e-mail could not be sent; 2 for an unknown site.
    """
    cfg = _config(config_path)
    try:
        first, last = documents.parse_week(week)
    except ValueError as exc:
        raise CdnctlError(f"--week: {exc}", Exit.USAGE) from None
    chosen = _formats(formats)
    with opened(store) as st:
        # a site the report configuration names is declared, not a typo
        scopes = _scopes(settings, sites, _hosts_with_data(st) | set(cfg.sites))
        by_site = _stats_by_site(st, scopes, first, last, _policy(settings))
    names = list(by_site)
    data = documents.weekly_data(by_site, week, datetime.now(UTC),
                                 show={s: cfg.for_site(s).metrics for s in names})
    stem = f"weekly-{week}" if len(names) > 1 else f"weekly-{names[0]}-{week}"
    paths = documents.write_documents(data, out_dir, stem, chosen, lang)
    mailed = None
    if mail or mail_to:
        to = [r for s in names for r in cfg.for_site(s).recipients] + list(mail_to)
        mailed = _mail(cfg, to, smtp_url, f"{documents.LABELS[lang]['weekly']} — {', '.join(names)} — {week}",
                       paths)
    _written(paths, as_json, mailed)
    missing = [_missing_warning(st_["coverage"], as_json, f"{s}: ") for s, st_ in by_site.items()]
    if any(missing):
        raise SystemExit(int(Exit.PARTIAL))


@report.command("monthly")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month (Europe/Paris).")
@click.option("--as-of", "as_of", default=None, metavar="ISO8601", help="Judge deadlines as at this time.")
@_OUT
@_LANG
@_FORMATS
@_CONFIG
@_MAIL
@_MAIL_TO
@_SMTP
@_MIN_COVERAGE
@store_option
@json_option
@click.pass_obj
def report_monthly(settings: Settings | None, month: str, as_of: str | None, out_dir: Path, lang: str,
                   formats: str, config_path: Path | None, mail: bool, mail_to: tuple[str, ...],
                   smtp_url: str | None, min_coverage: int, store: str | None, as_json: bool) -> None:
    """The monthly report: QS-01..QS-07 with their coverage and records, and each site's traffic.

    Exit 3 when the files are written but an indicator could not be measured (not enough
    probes or log days: the report says which) or the e-mail could not be sent.
    """
    cfg = _config(config_path)
    year, mon = _month(month)
    when = _as_of(as_of)
    chosen = _formats(formats)
    start, end = history_window(year, mon)
    first, last = documents.month_days(month)
    aliases = _policy_aliases(settings)
    fold = canonical(aliases)
    with register_store(store) as (regs, logs):
        data = _gather(regs, None, start, end)
        times = _times_from_logs(logs, start, end, None, fold)
        seen = _observations(regs, logs, None, start, end, fold)
        hosts = _hosts_with_data(logs, regs)
        sites = sorted(set(regs.sites()) | {t.site for t in times} | set(aliases)
                       | {h for h in hosts if h not in fold})
        scopes = _scopes(settings, sites, hosts | set(sites))
        sites = [sc.site for sc in scopes]
        by_site = _stats_by_site(logs, scopes, first, last, _policy(settings))
    result = qs_report(year, mon, sites, *data, times=times, as_of=when, seen=seen,
                       min_coverage=min_coverage / 100)
    doc = documents.monthly_data(by_site, result, datetime.now(UTC))
    doc["show"] = {s: list(cfg.for_site(s).metrics) for s in sites}
    paths = documents.write_documents(doc, out_dir, f"monthly-{month}", chosen, lang)
    mailed = None
    if mail or mail_to:
        mailed = _mail(cfg, [*cfg.monthly_recipients, *mail_to], smtp_url,
                       f"{documents.LABELS[lang]['monthly']} — {month}", paths)
    _written(paths, as_json, mailed)
    _not_measured(result, as_json)


def register(group: click.Group) -> None:
    for command in (incidents, changes, probes, probe_cmd, report):
        group.add_command(command)
