"""`cdnctl logs …`: ingest CDN access logs into ClickHouse and inspect what was stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.markup import escape
from rich.table import Table

from cdnctl.errors import CdnctlError, Exit
from cdnctl.output import console, emit_json, err_console, is_tty, json_option
from loggest.formats import PRESETS, FormatError, LogFormat, resolve_format
from loggest.formats.reference import TIME_UNIT_CHOICES, diagnose
from loggest.formats.sql import MAX_LINE_BYTES
from loggest.ingest import FileResult, IngestOptions, IngestReport, ingest, site_status
from loggest.pseudo import PseudoError, Pseudonymiser
from loggest.sources import COMPLETE_BY, SourceFile
from loggest.sources.local import SourceError, local_files
from loggest.store import ClickHouseStore, StoreError, open_store, store_url

STORE_HELP = ("ClickHouse store: chdb:///PATH (embedded) or http(s)://user@host:8123/db "
              "[default: chdb://$XDG_DATA_HOME/cdnctl/logs.chdb]")


def store_option(f):  # type: ignore[no-untyped-def]
    return click.option("--store", "store", envvar="CDNCTL_CLICKHOUSE_URL", show_envvar=True, default=None,
                        metavar="URL", help=STORE_HELP)(f)


@contextmanager
def opened(url: str | None, retention: int | None = None) -> Iterator[ClickHouseStore]:
    try:
        store = open_store(url, retention)
    except StoreError as exc:
        raise CdnctlError(str(exc), Exit.INVALID) from None
    try:
        yield store
    finally:
        store.close()


def _format(spec: str, site: str | None) -> LogFormat:
    try:
        fmt = resolve_format(spec)
    except FormatError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    if fmt.has_host is False and not site:
        raise CdnctlError(f"format {fmt.name!r} has no host field: say which site the lines belong to "
                          "with --site SITE", Exit.USAGE)
    return fmt


late_after_option = click.option(
    "--late-after", type=click.IntRange(min=0), default=0, show_default=True, metavar="DAYS",
    help="Alarm (exit 3) when a site's last file covers a day more than DAYS before yesterday "
         "(0: no check; daily cron: 1).")


@click.group()
def logs() -> None:
    """Ingest CDN access logs into ClickHouse (exactly once), inspect them, publish them to sites."""


@logs.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--sftp", "sftp_url", default=None, metavar="URL",
              help="Also fetch from sftp://user@host[:port]/dir (host key checked against known_hosts).")
@click.option("--identity", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="SFTP private key file (default: the SSH agent and ~/.ssh keys).")
@click.option("--known-hosts", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="known_hosts file for SFTP host keys [default: ~/.ssh/known_hosts].")
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File holding the SFTP password (when the account has no key).")
@click.option("--staging", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where SFTP downloads are kept (resumable) [default: next to the store].")
@click.option("--format", "fmt", default="combined", show_default=True, envvar="CDNCTL_LOG_FORMAT",
              help=f"Log format: {', '.join(PRESETS)}, or an Apache LogFormat / nginx log_format string.")
@click.option("--site", default=None, help="Site of the lines when the format has no host field.")
@click.option("--replay", is_flag=True, help="Ingest again files already ingested, replacing their rows.")
@click.option("--pseudonymise", "pseudonymise", default=None, metavar="hmac:KEYFILE|truncate[:N]",
              envvar="CDNCTL_PSEUDONYMISE",
              help="Store a pseudonym instead of the client address (records are kept --retention-months, "
                   "daily aggregates hold only counts; quarantined lines keep their raw text). truncate[:N]: "
                   "the last N IPv4 bytes zeroed (N = 2, 3 or 4, default 2: CNIL level), IPv6 cut to /48, "
                   "/24 or /0. hmac:KEYFILE: h: + 16 hex digits of an HMAC whose key, derived from "
                   "KEYFILE, changes every Europe/Paris day (visitors are counted per day).")
@click.option("--settle", type=float, default=5.0, show_default=True,
              help="Seconds a file must be unchanged to be read (unless NAME.done/.ok exists): a heuristic, "
                   "what local plain files rely on by default (a writer pausing longer is read half); "
                   "gzip files (their trailer proves them whole) wait this long everywhere.")
@click.option("--complete-by", type=click.Choice(COMPLETE_BY), default="auto", show_default=True,
              help="When a plain (not gzip) file is complete. marker: NAME.done/.ok/.complete exists "
                   "(accepted in every mode); manifest: SITE_DAY.manifest.json names it and its size and "
                   "sha256 match (same size, other sha256: failed); rename: the producer writes under a "
                   "temporary name (*.part, *.tmp) and renames, so the final name is complete; settle: "
                   "unchanged for --settle seconds (heuristic). auto: marker or manifest over --sftp, "
                   "marker, manifest or --settle for local paths.")
@click.option(
    "--engine",
    type=click.Choice(["auto", "clickhouse", "python"]),
    default="auto",
    show_default=True,
    help="Parse inside ClickHouse (fast, embedded store) or in Python (reference).",
)
@click.option(
    "--retention-months",
    type=int,
    default=None,
    help="Keep raw records this many months (≥ 6) [default: 13]. Older records are counted, not stored.",
)
@click.option(
    "--time-taken-unit",
    "time_unit",
    type=click.Choice(TIME_UNIT_CHOICES),
    default="auto",
    show_default=True,
    help="Unit of W3C/CloudFront time-taken: auto = milliseconds when #Software names IIS, "
    "else seconds (W3C draft, CloudFront). Apache/nginx formats fix it (%D µs, %T s, $request_time s).",
)
@click.option("--max-line-bytes", type=click.IntRange(min=1024), default=MAX_LINE_BYTES,
              show_default=True, metavar="BYTES",
              help="A longer line is quarantined, cut, with its length (memory stays bounded).")
@click.option(
    "--local-tz",
    default="Europe/Paris",
    show_default=True,
    metavar="ZONE",
    help="Time zone of W3C date-local/time-local fields (IIS Advanced Logging).",
)
@late_after_option
@store_option
@json_option
def ingest_cmd(
    paths: tuple[Path, ...],
    sftp_url: str | None,
    identity: Path | None,
    known_hosts: Path | None,
    password_file: Path | None,
    staging: Path | None,
    fmt: str,
    site: str | None,
    replay: bool,
    pseudonymise: str | None,
    settle: float,
    complete_by: str,
    engine: str,
    retention_months: int | None,
    time_unit: str,
    max_line_bytes: int,
    local_tz: str,
    late_after: int,
    store: str | None,
    as_json: bool,
) -> None:
    """Ingest log files (files, directories, an SFTP account) exactly once.

    Every line is accounted for: lines = records + quarantined + directives + blank +
    older than the raw retention (counted, not stored). A file already ingested (same
    sha256) is skipped; a corrupt or truncated file is refused whole and the next files
    proceed; a file whose data lines all fail (wrong --format) is refused; an empty file
    is valid; a file still being written is left for the next run; unparseable lines are
    quarantined (`cdnctl logs rejects`). Exit 0 when every file is ingested or skipped,
    3 when a file was refused, records were too old to keep, or a day is missing,
    1 when nothing could be read.
    """
    if not paths and not sftp_url:
        raise CdnctlError("give at least one PATH or --sftp URL", Exit.USAGE)
    log_format = _format(fmt, site)
    try:
        pseudo = Pseudonymiser.from_option(pseudonymise)
    except PseudoError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    if time_unit != "auto" and not log_format.is_w3c:
        raise CdnctlError(
            f"--time-taken-unit is for W3C and CloudFront logs; format {log_format.name!r} "
            "states its unit (%D µs, %T or %{ms}T, $request_time s)",
            Exit.USAGE,
        )
    try:
        ZoneInfo(local_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise CdnctlError(
            f"--local-tz {local_tz!r} is not a time zone name (e.g. Europe/Paris)", Exit.USAGE
        ) from None
    opts = IngestOptions(
        log_format,
        site=site,
        replay=replay,
        pseudo=pseudo,
        engine=engine,
        local_tz=local_tz,
        time_unit=time_unit,
        late_after=late_after,
        max_line_bytes=max_line_bytes,
    )
    with opened(store, retention_months) as st:
        if engine == "clickhouse" and st.embedded_path is None:
            raise CdnctlError(
                "--engine clickhouse reads files from the local disk: it needs the embedded "
                "store (chdb:///PATH); use --engine python with a server",
                Exit.USAGE,
            )
        try:
            password = _password(password_file)
            listed: list[str] = []
            sources = _sources(paths, sftp_url, identity, known_hosts, password, staging, settle, st,
                               complete_by, listed)
            report = _run(st, sources, opts, as_json)
            if report.stopped:
                seen = {f.name for f in report.files}
                report.not_attempted = [n for n in listed if n not in seen]
                if sftp_url:
                    report.not_attempted.append(f"(files of {sftp_url} not yet listed)")
        except (SourceError, StoreError) as exc:
            raise CdnctlError(str(exc), Exit.INVALID) from None
    _render(report, as_json)
    if not report.files or report.stopped:
        raise SystemExit(int(Exit.INVALID))
    if report.count("refused", "failed") or report.alarms or report.warnings:
        raise SystemExit(int(Exit.PARTIAL))


def _password(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text().rstrip("\n")
    except OSError as exc:
        raise CdnctlError(f"--password-file {path}: {exc.strerror}", Exit.USAGE) from None


def _sources(
    paths: tuple[Path, ...],
    sftp_url: str | None,
    identity: Path | None,
    known_hosts: Path | None,
    password: str | None,
    staging: Path | None,
    settle: float,
    st: ClickHouseStore,
    complete_by: str = "auto",
    listed: list[str] | None = None,
) -> Iterator[SourceFile]:
    if paths:
        # fail on a bad path before ingesting anything
        local = list(local_files(list(paths), settle, complete_by))
        if listed is not None:
            listed.extend(f.name for f in local)
        if not local and not sftp_url:
            raise SourceError(f"no log files in {', '.join(map(str, paths))}")
        yield from local
    if sftp_url:
        from loggest.sources.sftp import SftpSource

        where = staging or Path(st.embedded_path or ".").parent / "staging"
        with SftpSource.connect(
            sftp_url,
            identity=identity,
            known_hosts=known_hosts,
            staging=where,
            settle=settle,
            password=password,
            complete_by=complete_by,
        ) as sftp:
            yield from sftp.files()


def _run(
    st: ClickHouseStore, sources: Iterator[SourceFile], opts: IngestOptions, as_json: bool
) -> IngestReport:
    show = not as_json

    def on_file(r: FileResult) -> None:
        if not show:
            return
        if r.status in ("ingested", "replayed"):
            rate = f", {r.lines / r.seconds:,.0f} lines/s" if r.seconds > 0 and r.lines else ""
            extra = f" — {r.reason}" if r.reason else ""
            console.print(
                f"[green]{r.status}[/] {escape(r.name)}: {escape(_accounting(r))} "
                f"({r.seconds:.2f}s{rate}, {r.engine}){escape(extra)}"
            )
            for w in r.warnings:
                err_console.print(f"[yellow]warning[/] {escape(r.name)}: {escape(w)}")
        elif r.status == "skipped":
            console.print(f"[cyan]skipped[/] {escape(r.name)}: {escape(r.reason)}")
        elif r.status == "pending":
            console.print(f"[yellow]pending[/] {escape(r.name)}: {escape(r.reason)}")
        else:
            err_console.print(f"[red]{r.status}[/] {escape(r.name)}: {escape(r.reason)}")
            if r.lines:
                err_console.print(f"  {escape(_accounting(r))}")

    if show and is_tty():
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f} lines · {task.fields[rate]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("ingesting", total=None, rate="")

            def progress(n: int) -> None:
                bar.advance(task, n)
                elapsed = bar.tasks[0].elapsed or 0
                if elapsed:
                    bar.update(task, rate=f"{bar.tasks[0].completed / elapsed:,.0f} lines/s")

            return ingest(st, sources, opts, progress=progress, on_file=on_file)
    return ingest(st, sources, opts, on_file=on_file)


_NOT_RECORDS = (("directives", "directives"), ("blank", "blank"), ("too_old", "older than the retention"))


def _accounting(r: FileResult) -> str:
    """``N lines = R records + Q quarantined + …`` (only the kinds present, records always)."""
    parts = [f"{r.records:,} records"]
    for attr, what in (("quarantined", "quarantined"), *_NOT_RECORDS):
        if getattr(r, attr):
            parts.append(f"{getattr(r, attr):,} {what}")
    unit = f"; time taken in {r.time_unit}" if r.time_unit else ""
    return f"{r.lines:,} lines = " + " + ".join(parts) + unit


def _render(report: IngestReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    t = report.to_json()["totals"]
    assert isinstance(t, dict)
    rate = f", {report.lines / report.seconds:,.0f} lines/s" if report.seconds and report.lines else ""
    failed = f", {t['failed']} failed" if t["failed"] else ""
    parts = [f"{t['records']:,} records", f"{t['quarantined']:,} quarantined"]
    parts += [f"{t[k]:,} {label}" for k, label in _NOT_RECORDS if t[k]]
    console.print(
        f"[bold]{t['files']} file(s)[/]: {t['ingested']} ingested, {t['skipped']} skipped, "
        f"{t['refused']} refused{failed}, {t['pending']} pending; {t['lines']:,} lines = "
        + " + ".join(parts) + rate
    )
    for w in report.warnings:
        err_console.print(f"[yellow]warning[/] {escape(w)}")
    for alarm in report.alarms:
        err_console.print(f"[red]alarm[/] {escape(alarm)}")
    if report.stopped:
        err_console.print(f"[red]error:[/] {escape(report.stopped)}")
        if report.not_attempted:
            err_console.print("not attempted: " + escape(", ".join(report.not_attempted)))
    if not report.files:
        err_console.print("[red]error:[/] no log file found")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CdnctlError(f"{option} {value!r} is not a date (YYYY-MM-DD)", Exit.USAGE) from None


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.1f} %" if den else "—"


@logs.command("stats")
@click.option("--site", default=None, help="Only this site.")
@click.option("--from", "day_from", default=None, metavar="YYYY-MM-DD", help="First day (Europe/Paris).")
@click.option("--to", "day_to", default=None, metavar="YYYY-MM-DD", help="Last day (Europe/Paris).")
@store_option
@json_option
def stats_cmd(
    site: str | None, day_from: str | None, day_to: str | None, store: str | None, as_json: bool
) -> None:
    """Daily traffic per site: requests, bytes, visitors, CDN share, status classes."""
    lo, hi = _day(day_from, "--from"), _day(day_to, "--to")
    with opened(store) as st:
        rows = st.daily(site, lo, hi)
    for row in rows:
        cached = row["hit"] + row["miss"] + row["pass"]
        row["cdn_share"] = round(row["hit"] / cached, 6) if cached else None
        row["origin_requests"] = row["miss"] + row["pass"]
        row["day"] = str(row["day"])
    if as_json:
        emit_json(rows)
        return
    if not rows:
        console.print("no data (ingest logs with `cdnctl logs ingest PATH`)")
        return
    table = Table(title=f"daily traffic — {store_url(store)}")
    for col in (
        "site",
        "day",
        "requests",
        "bytes",
        "visitors",
        "CDN share",
        "origin req.",
        "4xx",
        "5xx",
        "< 2 s",
    ):
        table.add_column(col, justify="left" if col in ("site", "day") else "right")
    for r in rows:
        cached = r["hit"] + r["miss"] + r["pass"]
        table.add_row(
            escape(r["site"]),
            r["day"],
            f"{r['requests']:,}",
            f"{r['bytes']:,}",
            f"{r['visitors']:,}",
            _pct(r["hit"], cached),
            f"{r['origin_requests']:,}",
            f"{r['s4xx']:,}",
            f"{r['s5xx']:,}",
            _pct(r["under_2s"], r["timed"]),
        )
    console.print(table)


@logs.command("status")
@late_after_option
@store_option
@json_option
def status_cmd(late_after: int, store: str | None, as_json: bool) -> None:
    """Per site (last file, days present/missing, lateness, quarantine rate), then every file
    with its line accounting and time-taken unit. Exit 3 when a day is missing or a feed is late."""
    with opened(store) as st:
        entries = st.files()
        sites = site_status(st, late_after)
    files = [
        {
            "name": e.name,
            "status": e.status,
            "reason": e.reason,
            "sha256": e.sha256,
            "lines": e.lines,
            "records": e.records,
            "quarantined": e.quarantined,
            "directives": e.directives,
            "blank": e.blank,
            "too_old": e.too_old,
            "time_unit": e.time_unit,
            "sites": e.sites,
            "file_day": str(e.file_day) if e.file_day else None,
            "source": e.source,
        }
        for e in entries
        if e.status != "manifest"
    ]
    alarmed = any(r["days_missing"] or r["days_late"] for r in sites)
    if as_json:
        emit_json({"sites": sites, "files": files})
    else:
        _status_tables(sites, files)
    if alarmed:
        raise SystemExit(int(Exit.PARTIAL))


def _status_tables(sites: list[dict[str, Any]], files: list[dict[str, Any]]) -> None:
    table = Table(title=f"{len(sites)} site(s)")
    for col in ("site", "files", "last file", "days", "missing days", "records", "lines*", "quarantined*"):
        table.add_column(col)
    for r in sites:
        missing = ", ".join(r["days_missing"]) or "—"
        if r["days_late"]:
            missing = (
                missing if r["days_missing"] else ""
            ) + f" late: {r['days_late']} day(s) since {r['last_day']}"
        table.add_row(
            escape(str(r["site"])),
            str(r["files"]),
            escape(str(r["last_file"])),
            f"{r['first_day']}..{r['last_day']} ({r['days_present']})",
            f"[red]{escape(missing.strip())}[/]" if r["days_missing"] or r["days_late"] else missing,
            f"{r['records']:,}",
            f"{r['lines']:,}",
            f"{r['quarantined']:,} ({100 * float(r['quarantine_rate']):.2f} %)",
        )
    console.print(table)
    if any(r["shared_files"] for r in sites):
        console.print("* lines and quarantined lines of the files of this site alone; files of several "
                      "sites are counted in none (their lines belong to no one site)")
    table = Table(title=f"{len(files)} file(s)")
    for col in (
        "file",
        "status",
        "lines",
        "records",
        "quarantined",
        "not data",
        "older",
        "time taken",
        "sites",
        "reason",
    ):
        table.add_column(col)
    for f in files:
        table.add_row(
            escape(f["name"]),
            f["status"],
            f"{f['lines']:,}",
            f"{f['records']:,}",
            f"{f['quarantined']:,}",
            f"{f['directives'] + f['blank']:,}",
            f"{f['too_old']:,}",
            escape(f["time_unit"]),
            escape(", ".join(f["sites"])),
            escape(f["reason"]),
        )
    console.print(table)


def _detail(reason: str, raw: str, fmt_name: str | None) -> str:
    if reason != "does not match the format" or not fmt_name:
        return ""
    try:
        fmt = resolve_format(fmt_name)
    except FormatError:
        return ""
    return diagnose(fmt.tokens, raw, fmt.optional) if fmt.tokens else ""


@logs.command("rejects")
@click.option("--file", "file_name", default=None, help="Only lines of this file (name).")
@click.option("--limit", type=int, default=50, show_default=True)
@store_option
@json_option
def rejects_cmd(file_name: str | None, limit: int, store: str | None, as_json: bool) -> None:
    """Quarantined lines: file, line number, reason, the raw line, and for a line that does
    not match its format, where it stops matching (``detail``)."""
    where, params = "1", {}
    if file_name:
        where, params = "file = {f:String}", {"f": file_name}
    with opened(store) as st:
        total = st.rows(f"SELECT count() FROM quarantine WHERE {where}", params)[0][0]
        found = st.rows(
            f"SELECT file, line_no, reason, raw, file_id FROM quarantine WHERE {where} "
            f"ORDER BY file, line_no LIMIT {int(limit)}",
            params,
        )
        formats = dict(st.rows("SELECT file_id, argMax(format, version) FROM files "
                               "WHERE file_id IN {ids:Array(UInt64)} GROUP BY file_id",
                               {"ids": sorted({row[4] for row in found})}))
    rows = [{"file": f, "line": n, "reason": r, "raw": raw, "detail": _detail(r, raw, formats.get(fid))}
            for f, n, r, raw, fid in found]
    if as_json:
        emit_json({"total": total, "lines": rows})
        return
    for r in rows:
        detail = f" ({r['detail']})" if r["detail"] else ""
        console.print(
            f"{escape(r['file'])}:{r['line']}: [red]{escape(r['reason'] + detail)}[/]  "
            f"[dim]{escape(r['raw'][:200])}[/]"
        )
    console.print(f"{total:,} quarantined line(s)" + (f", {len(rows)} shown" if total > len(rows) else ""))


@logs.command("export")
@click.option("--site", required=True, help="Site host name.")
@click.option("--from", "day_from", required=True, metavar="YYYY-MM-DD", help="First day (Europe/Paris).")
@click.option("--to", "day_to", required=True, metavar="YYYY-MM-DD", help="Last day (Europe/Paris).")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="File to write (W3C extended; gzip when it ends in .gz).",
)
@store_option
@json_option
def export_cmd(site: str, day_from: str, day_to: str, output: Path, store: str | None, as_json: bool) -> None:
    """Write a site's records for a period as a W3C extended log file (logs on request)."""
    from loggest.export import export_w3c

    lo, hi = _day(day_from, "--from"), _day(day_to, "--to")
    assert lo is not None and hi is not None
    if hi < lo:
        raise CdnctlError(f"--to {hi} is before --from {lo}", Exit.USAGE)
    if not output.parent.is_dir():
        raise CdnctlError(f"-o {output}: directory {output.parent} does not exist", Exit.USAGE)
    with opened(store) as st:
        count = export_w3c(st, site, lo, hi, output)
    if as_json:
        emit_json({"site": site, "from": str(lo), "to": str(hi), "records": count, "file": str(output)})
        return
    console.print(f"wrote {count:,} record(s) of {escape(site)} ({lo}..{hi}) to {escape(str(output))}")
    if count == 0:
        err_console.print(f"[yellow]warning:[/] no record of {escape(site)} in that period")


@logs.command("publish")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="The day to publish (Europe/Paris).")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="CDNCTL_PUBLISH_CONFIG",
    show_envvar=True,
    help="Publish config: node logs, output dir, per-site SFTP account and recipients.",
)
@click.option(
    "--logs",
    "logs_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Directory (or file) of the edge nodes' access logs [default: 'logs:' of the config].",
)
@click.option(
    "--format",
    "fmt",
    default=None,
    help="Format of the node logs [default: 'format:' of the config, else nginx-cdn].",
)
@click.option("--site", "sites", multiple=True, help="Only this site (repeatable) [default: every site].")
@click.option("--wait", "wait", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
              help="When another publish holds the output directory's lock, wait up to SECONDS for it "
                   "[default: 0, stop at once with exit 4].")
@json_option
def publish_cmd(
    day: str,
    config_path: Path,
    logs_path: Path | None,
    fmt: str | None,
    sites: tuple[str, ...],
    wait: float,
    as_json: bool,
) -> None:
    """Publish a day's logs to each site: W3C file + manifest over SFTP, then an e-mail notice.

    Idempotent: an unchanged day keeps its sequence number and is neither uploaded nor
    notified again; a changed day gets the next number. Exit 0 when every site is
    published or unchanged, 3 when a site failed (the others proceed), 4 when another publish
    holds the output directory's lock (nothing done), 1/2 on bad input.
    """
    from loggest.publish import RESENT, PublishError, PublishLocked, load_config, publish

    when = _day(day, "--date")
    assert when is not None
    try:
        config = load_config(config_path)
        report = publish(config, when, logs_path, fmt, sites or None, wait=wait)
    except PublishLocked as exc:
        raise CdnctlError(str(exc), Exit.BUSY) from None
    except PublishError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    except FormatError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    if as_json:
        emit_json(report.to_json())
    else:
        sp = report.split
        for r in report.sites:
            if r.status == "failed":
                err_console.print(f"[red]failed[/] {escape(r.site)}: {escape(r.error)}")
                continue
            mailed = f", notice to {escape(', '.join(r.notified))}" if r.notified else ""
            if r.notice == RESENT:
                mailed += f" ({escape(r.notice)})"
            console.print(
                f"[green]{r.status}[/] {escape(r.file)}: {r.lines:,} lines, sequence {r.sequence}"
                f"{'' if r.uploaded else ' (already on the account)'}{mailed}"
            )
        console.print(
            f"{len(sp.inputs)} node file(s), {sp.read:,} lines read, "
            f"{sp.other_days:,} of other days, {sp.unparsed:,} unparsed"
        )
        for host, n in sorted(sp.unconfigured.items()):
            err_console.print(f"[yellow]warning:[/] {n:,} line(s) of {escape(host)}: site not in the config")
    if any(r.status == "failed" for r in report.sites):
        raise SystemExit(int(Exit.PARTIAL))


def register(group: click.Group) -> None:
    group.add_command(logs)
