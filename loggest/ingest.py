"""Ingest log files exactly once (SPEC §4): source → format → store.

For each file: checksum it; skip it when the same content is already ingested;
otherwise mark it ``loading`` in the manifest, remove any rows it may already have
(crash, ``--replay``), load its lines while its integrity is checked (gzip stream, CRC
and length, last newline), recompute the daily aggregates of the days it touches, and
mark it ``done`` — or, when corrupt or truncated, remove its rows again and mark it
``refused`` with the reason: a file is refused whole. Rows carry the file's id, so
re-running after a crash at any point converges to the same data: nothing lost,
nothing counted twice.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO

from loggest.formats import LogFormat
from loggest.formats.convert import LineError
from loggest.formats.reference import clean_line
from loggest.pseudo import Pseudonymiser
from loggest.scan import check, checksum, is_gzip, tail_error
from loggest.sources import SourceFile
from loggest.store.clickhouse import ClickHouseStore, FileEntry, file_id_of

BATCH = 50_000
_NAME_DAY = re.compile(r"(20\d\d)-?([01]\d)-?([0-3]\d)")
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


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)   # publication manifests read (not log files)

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

    @property
    def seconds(self) -> float:
        return sum(f.seconds for f in self.files)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": not self.count("refused", "failed") and not self.alarms,
            "files": [asdict(f) for f in self.files],
            "totals": {"files": len(self.files), "ingested": self.count("ingested", "replayed"),
                       "skipped": self.count("skipped"), "refused": self.count("refused"),
                       "failed": self.count("failed"),
                       "pending": self.count("pending"), "lines": self.lines, "records": self.records,
                       "quarantined": self.quarantined, "seconds": round(self.seconds, 3)},
            "alarms": self.alarms,
            "manifests": self.manifests,
        }


@dataclass
class IngestOptions:
    fmt: LogFormat
    site: str | None = None
    replay: bool = False
    pseudo: Pseudonymiser | None = None
    engine: str = "auto"        # auto | python | clickhouse


def name_day(name: str) -> date | None:
    m = _NAME_DAY.search(name)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def name_site(name: str) -> str | None:
    m = _NAME_SITE.match(name)
    return m.group(1).lower() if m else None


def open_lines(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")


# ---- the pure-Python engine (reference; works with any store) ----

def python_rows(path: Path, fmt: LogFormat, site: str | None, pseudo: Pseudonymiser | None
                ) -> Iterator[tuple[int, list[object] | None, str, str]]:
    """(line number, row or None, quarantine reason, raw text) for every line of a file."""
    parser = fmt.parser(site)
    with open_lines(path) as f:
        for line_no, raw in enumerate(f, 1):
            text = clean_line(raw[:-1] if raw.endswith(b"\n") else raw)
            try:
                row = parser.parse(text)
            except LineError as exc:
                yield line_no, None, str(exc), text
                continue
            if row is None:
                continue                       # a directive (#Fields:, #Version…)
            if pseudo is not None:
                row[3] = pseudo.apply(row[3])  # type: ignore[arg-type]
            yield line_no, row, "", ""


def load_python(store: ClickHouseStore, path: Path, entry: FileEntry, opts: IngestOptions,
                progress: Progress | None = None) -> None:
    batch: list[list[object]] = []
    bad: list[tuple[int, str, int, str, str]] = []
    done = line_no = 0
    for line_no, row, reason, raw in python_rows(path, opts.fmt, opts.site, opts.pseudo):
        if row is None:
            bad.append((entry.file_id, entry.name, line_no, reason, raw))
            continue
        row.append(entry.file_id)
        row.append(line_no)
        batch.append(row)
        if len(batch) >= BATCH:
            store.insert_records(batch)
            if progress:
                progress(line_no - done)
                done = line_no
            batch = []
    store.insert_records(batch)
    store.insert_quarantine(bad)
    if progress:
        progress(max(0, line_no - done))


def choose_engine(store: ClickHouseStore, opts: IngestOptions) -> str:
    if opts.engine != "auto":
        return opts.engine
    return "clickhouse" if store.embedded_path is not None else "python"


def load_file(store: ClickHouseStore, path: Path, entry: FileEntry, opts: IngestOptions,
              progress: Progress | None = None) -> tuple[str, int, str]:
    """Load the lines of one file → (engine, line count, integrity error or '').

    The ClickHouse engine reads the file itself and fails on a corrupt or truncated gzip
    (zlib checks the stream, its CRC and length), so only a plain file's last byte is
    checked here. The Python engine checks the file in a thread next to the load.
    """
    engine = choose_engine(store, opts)
    if engine == "clickhouse":
        from loggest.chparse import CorruptFile, load_clickhouse

        error = tail_error(path)
        if error:
            return engine, 0, error
        try:
            return engine, load_clickhouse(store, path, entry, opts, progress), ""
        except CorruptFile as exc:
            return engine, 0, str(exc)
    with ThreadPoolExecutor(1) as pool:
        checking = pool.submit(check, path)  # gzip integrity + line count, next to the load
        try:
            load_python(store, path, entry, opts, progress)
        except (EOFError, OSError, zlib.error):  # the gzip reader failed: the check says why
            lines, error = checking.result()
            if not error:
                raise
            return engine, lines, error
        lines, error = checking.result()
    return engine, lines, error


# ---- orchestration ----

def ingest_file(store: ClickHouseStore, src: SourceFile, opts: IngestOptions,
                progress: Progress | None = None) -> FileResult:
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
        result.lines, result.records = previous.lines, previous.records
        result.quarantined = previous.quarantined
        return result
    if previous is not None and previous.status == "refused":
        result.status, result.reason = "refused", previous.reason
        return result
    # Another content already ingested under this name: a changed delivery.
    older = [e for e in store.files_by_name(src.name) if e.sha256 != sha and e.status in ("done", "loading")]
    if older and not opts.replay:
        result.status = "refused"
        result.reason = (
            f"{src.name} was already ingested with other content (sha256 {older[0].sha256[:12]}…); "
            "use --replay to replace its rows"
        )
        return result
    # Rows this file (or the versions it replaces) may already have: remove them first.
    stale = ([fid] if previous is not None else []) + [e.file_id for e in older]
    touched = store.file_site_days(stale)
    for e in older:
        touched |= {(s, d) for s in e.sites for d in e.days}
    if (previous is not None and previous.status in ("done", "replaced")) or older:
        result.status = "replayed"
    elif previous is not None and previous.status == "loading":
        result.reason = "resumed: an earlier ingest of this file was interrupted; its rows were replaced"
    store.put_file(entry)  # status loading: a crash from here is repaired on re-run
    store.delete_files(stale)
    entry.engine, entry.lines, error = load_file(store, src.path, entry, opts, progress)
    if error:
        store.delete_files([fid])
        store.refresh_daily(touched)
        entry.status, entry.reason = "refused", error
        store.put_file(entry)
        result.status, result.reason, result.lines = "refused", error, entry.lines
        return result
    site_days = store.file_site_days([fid])
    store.refresh_daily(site_days | touched)
    entry.records, entry.quarantined = store.count_file(fid)
    entry.sites = sorted({s for s, _ in site_days} | {s for s in (opts.site, name_site(src.name)) if s})
    entry.days = sorted({d for _, d in site_days})
    entry.seconds = time.monotonic() - started
    entry.status = "done"
    for e in older:
        e.status, e.reason = "replaced", f"replaced by {sha[:12]}…"
        store.put_file(e)
    store.put_file(entry)
    result.lines, result.records, result.quarantined = entry.lines, entry.records, entry.quarantined
    result.engine, result.seconds = entry.engine, entry.seconds
    return result


def _site_days(files: list[FileEntry], store: ClickHouseStore, site: str) -> set[date]:
    days = {e.file_day for e in files if site in e.sites and e.file_day is not None}
    return days or {row["day"] for row in store.daily(site) if row["requests"]}


def _gaps(days: set[date]) -> list[tuple[date, date]]:
    if len(days) < 2:
        return []
    lo, hi = min(days), max(days)
    every = (lo + timedelta(days=i) for i in range((hi - lo).days + 1))
    missing = [d for d in every if d not in days]
    return list(_ranges(missing))


def missing_days(store: ClickHouseStore, sites: Iterable[str]) -> list[str]:
    """Alarms for days without any delivered file between a site's first and last day.

    A day is present when a file named for it (``…YYYY-MM-DD…``) was ingested, empty or
    not; for sites whose files carry no date, when records exist for it.
    """
    alarms = []
    files = store.files("done")
    for site in sorted(set(sites)):
        days = _site_days(files, store, site)
        for start, end in _gaps(days):
            span = str(start) if start == end else f"{start}..{end}"
            alarms.append(f"{site}: no log file for {span} (files present {min(days)}..{max(days)})")
    return alarms


def site_status(store: ClickHouseStore) -> list[dict[str, object]]:
    """Per site: files, last file, days present and missing, lines, quarantine rate."""
    files = store.files("done")
    out = []
    for site in sorted({s for e in files for s in e.sites}):
        mine = [e for e in files if site in e.sites]
        days = _site_days(files, store, site)
        lines = sum(e.lines for e in mine)
        quarantined = sum(e.quarantined for e in mine)
        last = max(mine, key=lambda e: (e.file_day or date.min, e.name))
        out.append({
            "site": site, "files": len(mine), "last_file": last.name,
            "first_day": str(min(days)) if days else None, "last_day": str(max(days)) if days else None,
            "days_present": len(days),
            "days_missing": [str(a) if a == b else f"{a}..{b}" for a, b in _gaps(days)],
            "lines": lines, "quarantined": quarantined,
            "quarantine_rate": round(quarantined / lines, 6) if lines else 0.0,
        })
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

MANIFEST_SUFFIX = ".manifest.json"


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
        store.put_file(FileEntry(sha, file_id_of(sha), src.name, src.source, size, "manifest", "manifest",
                                 json.dumps({"sequence": seq, "replaces": replaces, "file": data.get("file"),
                                             "sha256": data.get("sha256"), "lines": data.get("lines")}),
                                 sites=[site], file_day=name_day(src.name)))
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
            alarms.append(f"{site}: sequence gap: publication(s) {span} never received "
                          f"(manifests {min(nums)}..{max(nums)})")
    return alarms


def ingest(
    store: ClickHouseStore,
    files: Iterable[SourceFile],
    opts: IngestOptions,
    progress: Progress | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> IngestReport:
    report = IngestReport()
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
        result = ingest_file(store, src, opts, progress)
        report.files.append(result)
        if on_file:
            on_file(result)
        if result.status in ("ingested", "replayed", "skipped"):
            entry = store.file_by_sha(result.sha256)
            if entry is not None:
                sites.update(entry.sites)
    report.alarms += missing_days(store, sites)
    report.alarms += sequence_gaps(store, manifest_sites | sites)
    return report
