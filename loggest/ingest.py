"""Ingest log files exactly once (SPEC §4): source → format → store.

For each file: checksum it; skip it when the same content is already ingested;
otherwise mark it ``loading`` in the manifest, remove any rows it may already have
(crash, ``--replay``), load its lines while its integrity is checked (gzip stream, CRC
and length, last newline), then remove the rows of the versions it replaces (same
location, other content), recompute the daily aggregates of the days it touches, and
mark it ``done`` — or, when corrupt, truncated or without a single record, remove its
rows again and mark it ``refused`` with the reason (the versions it would have replaced
keep theirs): a file is refused whole. Rows carry the file's id, so
re-running after a crash at any point converges to the same data: nothing lost,
nothing counted twice.
"""

from __future__ import annotations

import calendar
import gzip
import json
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from loggest.formats import LogFormat
from loggest.formats.convert import LineError
from loggest.formats.model import COLUMNS
from loggest.formats.reference import clean_line, decode_line, is_blank
from loggest.formats.sql import MAX_LINE_BYTES, too_long_reason
from loggest.pseudo import Pseudonymiser
from loggest.scan import CHUNK, check, checksum, is_gzip, tail_error
from loggest.sources import MANIFEST_SUFFIX, SourceFile
from loggest.store.clickhouse import ClickHouseStore, FileEntry, file_id_of
from loggest.store.schema import RAW_MAX

BATCH = 50_000
_NAME_DAY = re.compile(r"(20\d\d)-?([01]\d)-?([0-3]\d)")
# IIS names its daily files u_exYYMMDD.log (ex, nc, in: W3C, NCSA, IIS formats; u_ = UTF-8).
_IIS_NAME_DAY = re.compile(r"(?:^|[^0-9A-Za-z])(?:u_)?(?:ex|nc|in)(\d\d)([01]\d)([0-3]\d)(?:\d\d)?(?![0-9])")
BOM_BYTES = b"\xef\xbb\xbf"
PARIS = ZoneInfo("Europe/Paris")
_NAME_SITE = re.compile(r"^([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})_")

Progress = Callable[[int], None]


@dataclass
class FileResult:
    name: str
    status: str                 # ingested | replayed | skipped | refused | pending | failed
    reason: str = ""
    lines: int = 0
    records: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    engine: str = ""
    sha256: str = ""
    directives: int = 0
    blank: int = 0
    too_old: int = 0
    time_unit: str = ""
    sites: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def accounted(self) -> bool:
        return self.lines == self.records + self.quarantined + self.directives + self.blank + self.too_old


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)   # publication manifests read (not log files)
    stopped: str = ""            # the run stopped early (store out of space): why, and what to do
    not_attempted: list[str] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(1 for f in self.files if f.status in statuses)

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files if f.status in ("ingested", "replayed"))

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files if f.status in ("ingested", "replayed"))

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files if f.status in ("ingested", "replayed"))

    def total(self, attr: str) -> int:
        return sum(int(getattr(f, attr)) for f in self.files if f.status in ("ingested", "replayed"))

    @property
    def warnings(self) -> list[str]:
        return [f"{f.name}: {w}" for f in self.files for w in f.warnings]

    @property
    def seconds(self) -> float:
        return sum(f.seconds for f in self.files)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": not self.count("refused", "failed") and not self.alarms and not self.warnings
            and not self.stopped,
            "files": [asdict(f) for f in self.files],
            "totals": {"files": len(self.files), "ingested": self.count("ingested", "replayed"),
                       "skipped": self.count("skipped"), "refused": self.count("refused"),
                       "failed": self.count("failed"),
                       "pending": self.count("pending"), "lines": self.lines, "records": self.records,
                       "quarantined": self.quarantined, "directives": self.total("directives"),
                       "blank": self.total("blank"), "too_old": self.total("too_old"),
                       "seconds": round(self.seconds, 3)},
            "alarms": self.alarms,
            "warnings": self.warnings,
            "stopped": self.stopped,
            "not_attempted": self.not_attempted,
            "manifests": self.manifests,
        }


@dataclass
class IngestOptions:
    fmt: LogFormat
    site: str | None = None
    replay: bool = False
    pseudo: Pseudonymiser | None = None
    engine: str = "auto"        # auto | python | clickhouse
    local_tz: str = "Europe/Paris"   # zone of W3C date-local/time-local
    time_unit: str = "auto"     # W3C time-taken: auto (IIS ms, else s) | s | ms | us
    late_after: int = 0         # alarm when a site's last file covers a day older than this (0: off)
    max_line_bytes: int = MAX_LINE_BYTES   # a longer line is quarantined, cut: memory stays bounded
    # Set by ingest() from the store: records with time + retention <= now are 'old'.
    retention_months: int = 13
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None, microsecond=0))


def name_day(name: str) -> date | None:
    """The day a file's name says it holds: ``…2027-04-25…``, ``…20270425…``, IIS ``u_ex270425.log``."""
    m = _NAME_DAY.search(name)
    year = None
    if m:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _IIS_NAME_DAY.search(name)
        if m:
            year, month, day = 2000 + int(m.group(1)), int(m.group(2)), int(m.group(3))
    if year is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def add_months(when: datetime, months: int) -> datetime:
    """``when`` + ``months`` calendar months, the day clamped to the month's end (ClickHouse addMonths)."""
    total = when.year * 12 + when.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return when.replace(year=year, month=month + 1, day=min(when.day, last))


def name_site(name: str) -> str | None:
    m = _NAME_SITE.match(name)
    return m.group(1).lower() if m else None


def open_lines(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")


# ---- the pure-Python engine (reference; works with any store) ----

# (line number, kind, row, reason, raw text, bytes of the line with its newline)
Line = tuple[int, str, "list[object] | None", str, str, int]


def python_lines(path: Path, fmt: LogFormat, opts: IngestOptions,
                 parser: object | None = None) -> Iterator[Line]:
    """Every line of a file with its kind: record (with its row), quarantine (reason, raw
    text), directive, blank. 'old' is decided by the caller (it needs the store's clock)."""
    p = parser if parser is not None else fmt.parser(opts.site, opts.local_tz, opts.time_unit)
    parse = p.parse  # type: ignore[attr-defined]
    pseudo = opts.pseudo
    limit = opts.max_line_bytes
    with open_lines(path) as f:
        for line_no, (raw, length) in enumerate(bounded_lines(f, limit), 1):
            size = length + 1
            if line_no == 1 and raw.startswith(BOM_BYTES):
                raw = raw[3:]
            if length > limit:                  # never held whole: quarantined, cut, with its length
                text = decode_line(raw[:limit])
                yield line_no, "quarantine", None, f"{too_long_reason(limit)}{length} bytes", text, size
                continue
            text = clean_line(raw)
            if is_blank(text):
                yield line_no, "blank", None, "", "", size
                continue
            try:
                row = parse(text)
            except LineError as exc:
                yield line_no, "quarantine", None, str(exc), text, size
                continue
            if row is None:
                yield line_no, "directive", None, "", "", size
                continue
            if pseudo is not None:
                row[3] = pseudo.apply(row[3], row[0])  # type: ignore[arg-type]
            yield line_no, "record", row, "", "", size


def bounded_lines(f: IO[bytes], limit: int) -> Iterator[tuple[bytes, int]]:
    """(line without its newline — only its first ``limit + 4`` bytes when longer —, its
    length): memory stays bounded whatever the input (a 200 MB line is read in 1 MiB steps)."""
    while True:
        raw = f.readline(limit + 4)          # + room for a BOM before the limit's bytes
        if not raw:
            return
        if raw.endswith(b"\n"):
            yield raw[:-1], len(raw) - 1
            continue
        length = len(raw)
        if length > limit:
            while True:                          # the rest of a long line: counted, not kept
                more = f.readline(CHUNK)
                if not more:
                    break
                if more.endswith(b"\n"):
                    length += len(more) - 1
                    break
                length += len(more)
        yield raw, length


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load_python(
    store: ClickHouseStore,
    path: Path,
    entry: FileEntry,
    opts: IngestOptions,
    progress: Progress | None = None,
) -> str:
    """Parse in Python and send every line with its kind to the store's buffer → time unit label."""
    parser = opts.fmt.parser(opts.site, opts.local_tz, opts.time_unit)
    now = opts.now.replace(tzinfo=UTC)
    months = opts.retention_months
    batch: list[list[object]] = []
    done = line_no = 0
    blank_row = [None] * len(COLUMNS)
    for line_no, kind, row, reason, raw, size in python_lines(path, opts.fmt, opts, parser):
        if row is None:
            row = list(blank_row)
        elif add_months(row[0], months) <= now:  # type: ignore[arg-type]
            kind = "old"
        if row[0] is None:
            row[0], row[1], row[2] = _EPOCH, 0, ""
        row.extend((entry.file_id, line_no, entry.name, reason, raw[:RAW_MAX], kind, size))
        batch.append(row)
        if len(batch) >= BATCH:
            store.insert_buffer(batch)
            if progress:
                progress(line_no - done)
                done = line_no
            batch = []
    store.insert_buffer(batch)
    if progress:
        progress(max(0, line_no - done))
    return str(getattr(parser, "time_unit", ""))


def choose_engine(store: ClickHouseStore, opts: IngestOptions) -> str:
    if opts.engine != "auto":
        return opts.engine
    return "clickhouse" if store.embedded_path is not None else "python"


def load_file(
    store: ClickHouseStore,
    path: Path,
    entry: FileEntry,
    opts: IngestOptions,
    progress: Progress | None = None,
) -> tuple[str, str, int | None, str]:
    """Load the lines of one file → (engine, time unit, lines counted by the integrity check
    or None, integrity error or '').

    The ClickHouse engine reads the file itself and fails on a corrupt or truncated gzip
    (zlib checks the stream, its CRC and length), so only a plain file's last byte is
    checked here. The Python engine checks the file in a thread next to the load.
    """
    engine = choose_engine(store, opts)
    if engine == "clickhouse":
        from loggest.chparse import CorruptFile, TooBig, load_clickhouse

        error = tail_error(path)
        if error:
            return engine, "", None, error
        try:
            return engine, load_clickhouse(store, path, entry, opts, progress), None, ""
        except CorruptFile as exc:
            return engine, "", None, str(exc)
        except TooBig as exc:       # the Python engine reads lines in bounded pieces: same rows
            store.delete_files([entry.file_id])
            engine = f"python ({exc})"
    with ThreadPoolExecutor(1) as pool:
        checking = pool.submit(check, path)  # gzip integrity + line count, next to the load
        try:
            unit = load_python(store, path, entry, opts, progress)
        except (EOFError, OSError, zlib.error):  # the gzip reader failed: the check says why
            lines, error = checking.result()
            if not error:
                raise
            return engine, "", lines, error
        lines, error = checking.result()
    return engine, unit, lines, error


def _top_reasons(store: ClickHouseStore, file_id: int, n: int = 3) -> str:
    found = store.rows(
        "SELECT reason, count() AS c FROM quarantine WHERE file_id = {f:UInt64} "
        "GROUP BY reason ORDER BY c DESC, reason LIMIT {n:UInt32}",
        {"f": file_id, "n": n},
    )
    return "; ".join(f"{reason} ({count:,})" for reason, count in found)


def _covered_days(name_d: date | None, record_days: set[date]) -> list[date]:
    """The days a file covers: the day its name says, else every day from its first record's
    to its last record's (days without traffic inside that span are covered too)."""
    days = set(record_days)
    if name_d is not None:
        days.add(name_d)  # (the name alone says what is covered: see coverage())
    elif record_days:
        lo, hi = min(record_days), max(record_days)
        days.update(lo + timedelta(days=i) for i in range((hi - lo).days + 1))
    return sorted(days)


# ---- orchestration ----


def ingest_file(
    store: ClickHouseStore, src: SourceFile, opts: IngestOptions, progress: Progress | None = None
) -> FileResult:
    if src.failed:
        return FileResult(src.name, "failed", src.failed)
    if not src.ready:
        return FileResult(src.name, "pending", src.why_not_ready)
    started = time.monotonic()
    sha, size = checksum(src.path)
    fid = file_id_of(sha)
    result = FileResult(src.name, "ingested", sha256=sha)
    entry = FileEntry(sha, fid, src.name, src.source, size, opts.fmt.name, file_day=name_day(src.name))
    previous = store.file_by_sha(sha)
    if previous is not None and previous.status == "done" and not opts.replay:
        result.status = "skipped"
        result.reason = f"already ingested (same sha256 as {previous.name})"
        _copy(previous, result, _FIGURES)
        return result
    # A file refused for its content stays refused, unless asked again (--replay) or, when no
    # line could be read with its format, under another --format.
    if (
        previous is not None
        and previous.status == "refused"
        and not opts.replay
        and not (previous.notes == NO_RECORDS and previous.format != opts.fmt.name)
    ):
        result.status, result.reason = "refused", previous.reason
        return result
    if size == 0 and src.name.endswith(".gz"):
        result.status = "refused"
        result.reason = (
            "empty .gz file: not a gzip stream (a gzip of an empty log has a header of about 20 bytes)"
        )
        entry.status, entry.reason = "refused", result.reason
        store.put_file(entry)
        return result
    # Another content already ingested from this location (source + path, never the base
    # name alone: two edges may deliver the same name): a changed delivery. An interrupted
    # ingest of this content ('loading') had been allowed to replace them: it goes on.
    older = [e for e in store.files_at(src.source) if e.sha256 != sha and e.status in ("done", "loading")]
    resuming = previous is not None and previous.status == "loading"
    if older and not opts.replay and not resuming:
        result.status = "refused"
        result.reason = (
            f"{src.source} changed after ingest: {older[-1].size:,} bytes (sha256 {older[-1].sha256[:12]}…) "
            f"then, now {size:,} bytes (sha256 {sha[:12]}…); --replay replaces its rows with the new content"
        )
        return result
    # Rows this content may already have (crash, --replay): removed first. The versions it
    # replaces keep theirs until it is loaded and accepted: a bad redelivery (corrupt, wrong
    # format) destroys nothing, and a crash in between is repaired by the re-run (resuming).
    stale = [fid] if previous is not None else []
    touched = store.file_site_days(stale + [e.file_id for e in older])
    for e in older:
        touched |= {(s, d) for s in e.sites for d in e.days}
    if (previous is not None and previous.status in ("done", "replaced")) or older:
        result.status = "replayed"
    if resuming:
        result.reason = "resumed: an earlier ingest of this file was interrupted; its rows were replaced"
    store.put_file(entry)  # status loading: a crash from here is repaired on re-run
    store.delete_files(stale)
    entry.engine, entry.time_unit, checked_lines, error = load_file(store, src.path, entry, opts, progress)
    counts = store.line_counts(fid)
    entry.lines = sum(counts.values())
    if not error and checked_lines is not None and checked_lines != entry.lines:
        error = (
            f"line accounting failed: the file has {checked_lines:,} lines, {entry.lines:,} were classified"
        )
    if error:
        store.delete_files([fid])
        store.refresh_daily(touched)
        entry.status, entry.reason = "refused", error
        entry.lines = checked_lines or 0
        store.put_file(entry)
        result.status, result.reason, result.lines = "refused", error, entry.lines
        return result
    entry.records, entry.quarantined = counts["record"], counts["quarantine"]
    entry.directives, entry.blank, entry.too_old = counts["directive"], counts["blank"], counts["old"]
    site_days = store.file_site_days([fid])
    entry.sites = sorted({s for s, _ in site_days} | {s for s in (opts.site, name_site(src.name)) if s})
    entry.days = _covered_days(entry.file_day, {d for _, d in site_days})
    entry.seconds = time.monotonic() - started
    if entry.records == 0 and entry.quarantined > 0:
        # Data lines and not one record: almost always the wrong --format. Refused (exit 3),
        # its quarantined lines kept for `logs rejects` and counted for the file's days.
        entry.status, entry.notes = "refused", NO_RECORDS
        entry.reason = (
            f"no record: all {entry.quarantined:,} data lines were rejected with --format "
            f"{opts.fmt.name}; most frequent reasons: {_top_reasons(store, fid)}; check --format"
        )
        store.refresh_daily(touched)
        store.put_file(entry)
        _copy(entry, result)
        result.status, result.reason = "refused", entry.reason
        return result
    store.delete_files([e.file_id for e in older])
    store.refresh_daily(site_days | touched)
    if entry.too_old:
        cut = add_months(opts.now, -opts.retention_months)
        result.warnings.append(
            f"{entry.too_old:,} records older than the raw retention ({opts.retention_months} months: "
            f"before {cut:%Y-%m-%d %H:%M} UTC) were counted, not stored; "
            "--retention-months N (and --replay) keeps them"
        )
    entry.status = "done"
    for e in older:
        e.status, e.reason = "replaced", f"replaced by {sha[:12]}…"
        store.put_file(e)
    store.put_file(entry)
    _copy(entry, result)
    return result


NO_RECORDS = "no_records"


# What a file's result repeats of its manifest entry (a skipped file: its earlier figures).
_FIGURES = ("lines", "records", "quarantined", "directives", "blank", "too_old", "time_unit", "sites")


def _copy(entry: FileEntry, result: FileResult,
          attrs: tuple[str, ...] = (*_FIGURES, "engine", "seconds")) -> None:
    for attr in attrs:
        setattr(result, attr, getattr(entry, attr))


def coverage(entry: FileEntry) -> set[date]:
    """The days a file stands for, for missing-day alarms: the day in its name, else the span
    of its records. A refused file (bad gzip, no record) stands for nothing."""
    if entry.status != "done":
        return set()
    return {entry.file_day} if entry.file_day is not None else set(entry.days)


def _site_days(files: list[FileEntry], site: str) -> set[date]:
    return set().union(*(coverage(e) for e in files if site in e.sites))


def _gaps(days: set[date]) -> list[tuple[date, date]]:
    if len(days) < 2:
        return []
    lo, hi = min(days), max(days)
    every = (lo + timedelta(days=i) for i in range((hi - lo).days + 1))
    missing = [d for d in every if d not in days]
    return list(_ranges(missing))


def paris_today() -> date:
    return datetime.now(PARIS).date()


def _late(days: set[date], late_after: int, today: date) -> int:
    """Days since the last covered day beyond the delivery delay (0: on time or check off).
    Yesterday's file is due today: a last day of ``today - 1 - late_after`` is still on time."""
    if not late_after or not days:
        return 0
    behind = (today - max(days)).days - 1
    return behind if behind > late_after else 0


def missing_days(
    store: ClickHouseStore, sites: Iterable[str], late_after: int = 0, today: date | None = None
) -> list[str]:
    """Alarms: days no delivered file covers between a site's first and last covered day, and
    (``late_after`` > 0) a feed whose last covered day is more than ``late_after`` days before
    yesterday. Days are judged from what files cover (name or record span), never from days
    that happen to have no traffic."""
    alarms = []
    files = store.files("done")
    today = today or paris_today()
    for site in sorted(set(sites)):
        days = _site_days(files, site)
        for start, end in _gaps(days):
            span = str(start) if start == end else f"{start}..{end}"
            alarms.append(f"{site}: no log file for {span} (files present {min(days)}..{max(days)})")
        behind = _late(days, late_after, today)
        if behind:
            alarms.append(
                f"{site}: no log file since {max(days)} ({behind} day(s) late on {today}; "
                f"a file per day is expected within {late_after} day(s))"
            )
    return alarms


def site_status(
    store: ClickHouseStore, late_after: int = 0, today: date | None = None
) -> list[dict[str, object]]:
    """Per site: files, last file, days present and missing, lines, quarantine rate, lateness."""
    files = store.files("done")
    today = today or paris_today()
    out = []
    for site in sorted({s for e in files for s in e.sites}):
        mine = [e for e in files if site in e.sites]
        days = _site_days(files, site)
        # Lines and quarantined lines belong to a file, not to a site: counted here for the
        # files of this site only; a file of several sites is counted as shared.
        own = [e for e in mine if e.sites == [site]]
        lines = sum(e.lines for e in own)
        quarantined = sum(e.quarantined for e in own)
        records = sum(int(r["requests"]) for r in store.daily(site))
        last = max(mine, key=lambda e: (e.file_day or date.min, e.name))
        out.append(
            {
                "site": site,
                "files": len(mine),
                "last_file": last.name,
                "first_day": str(min(days)) if days else None,
                "last_day": str(max(days)) if days else None,
                "days_present": len(days),
                "days_missing": [str(a) if a == b else f"{a}..{b}" for a, b in _gaps(days)],
                "days_late": _late(days, late_after, today),
                "records": records,
                "lines": lines,
                "quarantined": quarantined,
                "quarantine_rate": round(quarantined / lines, 6) if lines else 0.0,
                "shared_files": len(mine) - len(own),
            }
        )
    return out


def _ranges(days: list[date]) -> Iterator[tuple[date, date]]:
    start = prev = None
    for d in days:
        if start is None:
            start = prev = d
        elif prev is not None and d == prev + timedelta(days=1):
            prev = d
        else:
            assert prev is not None
            yield start, prev
            start = prev = d
    if start is not None and prev is not None:
        yield start, prev


# ---- publication manifests (loggest.publish): sequence numbers per site ----



def record_manifest(store: ClickHouseStore, src: SourceFile) -> tuple[str | None, str]:
    """Keep a publication manifest in the file manifest (status ``manifest``) → (site, problem)."""
    try:
        data = json.loads(src.path.read_text())
        site, seq = str(data["site"]).lower(), int(data["sequence"])
        replaces = [int(n) for n in data.get("replaces", [])]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{src.name}: unreadable publication manifest ({exc})"
    sha, size = checksum(src.path)
    if store.file_by_sha(sha) is None:
        store.put_file(
            FileEntry(
                sha,
                file_id_of(sha),
                src.name,
                src.source,
                size,
                "manifest",
                "manifest",
                json.dumps(
                    {
                        "sequence": seq,
                        "replaces": replaces,
                        "file": data.get("file"),
                        "sha256": data.get("sha256"),
                        "lines": data.get("lines"),
                    }
                ),
                sites=[site],
                file_day=name_day(src.name),
            )
        )
    return site, ""


def sequence_gaps(store: ClickHouseStore, sites: Iterable[str]) -> list[str]:
    """Alarms for sequence numbers never seen between a site's first and last manifest
    (numbers a re-publication ``replaces`` count as seen)."""
    seen: dict[str, set[int]] = {}
    for e in store.files("manifest"):
        try:
            meta = json.loads(e.reason)
        except ValueError:
            continue
        for s in e.sites:
            seen.setdefault(s, set()).update([int(meta["sequence"]), *meta.get("replaces", [])])
    alarms = []
    for site in sorted(set(sites)):
        nums = seen.get(site, set())
        if len(nums) < 2:
            continue
        missing = [n for n in range(min(nums), max(nums) + 1) if n not in nums]
        runs: list[tuple[int, int]] = []
        for n in missing:
            if runs and runs[-1][1] == n - 1:
                runs[-1] = (runs[-1][0], n)
            else:
                runs.append((n, n))
        for a, b in runs:
            span = str(a) if a == b else f"{a}..{b}"
            alarms.append(
                f"{site}: sequence gap: publication(s) {span} never received "
                f"(manifests {min(nums)}..{max(nums)})"
            )
    return alarms


def out_of_space(exc: BaseException) -> bool:
    text = str(exc)
    return "NOT_ENOUGH_SPACE" in text or "No space left on device" in text or "Code: 243" in text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def ingest(
    store: ClickHouseStore,
    files: Iterable[SourceFile],
    opts: IngestOptions,
    progress: Progress | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> IngestReport:
    report = IngestReport()
    opts.retention_months = store.retention_months()
    opts.now = store.now()
    sites: set[str] = set()
    manifest_sites: set[str] = set()
    for src in files:
        if src.name.endswith(MANIFEST_SUFFIX) and src.ready and not src.failed:
            site, problem = record_manifest(store, src)
            report.manifests.append(src.name)
            if site:
                manifest_sites.add(site)
            if problem:
                report.alarms.append(problem)
            continue
        try:
            result = ingest_file(store, src, opts, progress)
        except Exception as exc:
            if not out_of_space(exc):
                raise
            why = ("not ingested: the store ran out of disk space "
                   "(left 'loading': the next run replaces its rows)")
            report.files.append(FileResult(src.name, "failed", why))
            report.stopped = (f"store {store.url} is out of disk space ({_first_line(exc)}); free space or "
                              "use a store on a bigger disk, then run the same command again: files already "
                              "ingested are skipped, the interrupted one is resumed")
            break
        report.files.append(result)
        if on_file:
            on_file(result)
        if result.status in ("ingested", "replayed", "skipped"):
            sites.update(result.sites)
    report.alarms += missing_days(store, sites, opts.late_after)
    report.alarms += sequence_gaps(store, manifest_sites | sites)
    return report
