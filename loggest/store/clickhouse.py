"""The ClickHouse sink: schema migrations, file manifest, row replacement, aggregates."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from loggest.formats.model import COLUMNS
from loggest.store.schema import (
    DEFAULT_RETENTION_MONTHS,
    LATEST,
    MIGRATIONS,
    MIN_RETENTION_MONTHS,
    RAW_MAX,
)

RECORD_COLUMNS = [*COLUMNS, "file_id", "line_no"]
DAILY_COLUMNS = ["site", "day", "requests", "bytes", "hit", "miss", "pass", "error", "unknown", "hit_bytes",
                 "miss_bytes", "pass_bytes", "visitors", "s1xx", "s2xx", "s3xx", "s4xx", "s5xx", "timed",
                 "under_2s", "version"]
QUARANTINE_COLUMNS = ["file_id", "file", "line_no", "reason", "raw"]
BUFFER_COLUMNS = [*COLUMNS, "file_id", "line_no", "file", "reason", "raw", "kind", "line_bytes"]
# What a line of a delivered file can be: every line is exactly one of these.
LINE_KINDS = ("record", "quarantine", "directive", "blank", "old")


class StoreError(Exception):
    """The store cannot be used (in use, unreachable, newer schema…): a user-facing message."""


@dataclass
class FileEntry:
    """One row of the ``files`` manifest."""

    sha256: str
    file_id: int
    name: str
    source: str = ""
    size: int = 0
    format: str = ""
    status: str = "loading"          # loading | done | refused | replaced
    reason: str = ""
    lines: int = 0
    records: int = 0
    quarantined: int = 0
    sites: list[str] = field(default_factory=list)
    file_day: date | None = None
    days: list[date] = field(default_factory=list)
    engine: str = ""
    seconds: float = 0.0
    directives: int = 0
    blank: int = 0
    too_old: int = 0                 # records older than the raw retention: counted, not stored
    time_unit: str = ""              # unit of the time-taken field, and how it was known
    notes: str = ""                  # JSON: what else the ingest said (retention cut-off, ignored fields…)

    COLUMNS = ("sha256", "file_id", "name", "source", "size", "format", "status", "reason", "lines",
               "records", "quarantined", "sites", "file_day", "days", "engine", "seconds", "directives",
               "blank", "too_old", "time_unit", "notes")


_FILE_TYPES = {
    "sha256": "String", "file_id": "UInt64", "name": "String", "source": "String", "size": "UInt64",
    "format": "String", "status": "String", "reason": "String", "lines": "UInt64", "records": "UInt64",
    "quarantined": "UInt64", "sites": "Array(String)", "file_day": "Nullable(Date)", "days": "Array(Date)",
    "engine": "String", "seconds": "Float64", "directives": "UInt64", "blank": "UInt64", "too_old": "UInt64",
    "time_unit": "String", "notes": "String", "version": "UInt64",
}


def file_id_of(sha256: str) -> int:
    return int(sha256[:16], 16)


class _Said:
    failed = False


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[_Said]:
    """chDB writes to file descriptor 2 itself when a store is busy ("Cannot lock file …"):
    hold those lines back; on success they are written out as they were, on failure the
    caller's message replaces them."""
    said = _Said()
    try:
        saved = os.dup(2)
    except OSError:
        yield said
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if not said.failed:
                held.seek(0)
                text = held.read()
                if text:
                    os.write(2, text)


def _chdb_lock_holder(path: str) -> str:
    try:
        text = (Path(path) / "status").read_text()
    except OSError:
        return "another process"
    m = re.search(r"PID:\s*(\d+)", text)
    return f"PID {m.group(1)}" if m else "another process"


class ClickHouseStore:
    def __init__(self, client: Any, url: str, embedded_path: str | None) -> None:
        self.client = client
        self.url = url
        self.embedded_path = embedded_path

    # ---- opening ----

    @classmethod
    def open(cls, url: str, retention_months: int | None = None) -> ClickHouseStore:
        import clickhouse_connect

        parts = urlsplit(url)
        embedded: str | None = None
        try:
            if parts.scheme == "chdb":
                embedded = (
                    unquote(parts.path) if not parts.netloc else f"/{parts.netloc}{unquote(parts.path)}"
                )
                if not embedded:
                    raise StoreError(f"store URL {url!r} has no path (chdb:///ABSOLUTE/PATH)")
                Path(embedded).parent.mkdir(parents=True, exist_ok=True)
                with _quiet_stderr() as said:
                    try:
                        client = clickhouse_connect.get_client(dsn=f"chdb://{embedded}")
                    except Exception:
                        said.failed = True   # the engine's own lines ("Cannot lock file…") are ours to say
                        raise
            elif parts.scheme in ("http", "https"):
                client = clickhouse_connect.get_client(
                    host=parts.hostname or "localhost",
                    port=parts.port or (8443 if parts.scheme == "https" else 8123),
                    username=unquote(parts.username or "default"),
                    password=unquote(parts.password or os.environ.get("CDNCTL_CLICKHOUSE_PASSWORD", "")),
                    database=parts.path.strip("/") or "default",
                    secure=parts.scheme == "https",
                    connect_timeout=10,
                )
            else:
                raise StoreError(f"store URL {url!r}: use chdb:///PATH or http(s)://user@host:8123/db")
        except StoreError:
            raise
        except Exception as exc:  # clickhouse-connect raises several types; all mean "cannot open"
            text = str(exc)
            if embedded is not None and ("Code: 36" in text or "EmbeddedServer" in text or "lock" in text):
                raise StoreError(
                    f"database {embedded} is in use by {_chdb_lock_holder(embedded)} "
                    "(one process at a time for an embedded store); wait for it or stop it"
                ) from None
            raise StoreError(
                f"cannot open store {url}: {text.splitlines()[0] if text else type(exc).__name__}"
            ) from None
        store = cls(client, url, embedded)
        store.migrate(retention_months)
        return store

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing twice or after a failure is harmless
            self.client.close()

    def __enter__(self) -> ClickHouseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- schema ----

    def command(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> Any:
        return self.client.command(sql, parameters=parameters, settings=settings)

    def rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return list(self.client.query(sql, parameters=parameters).result_rows)

    def schema_version(self) -> int:
        self.command("""CREATE TABLE IF NOT EXISTS schema_migrations (
            version UInt32, description String, applied_at DateTime('UTC') DEFAULT now()
        ) ENGINE = MergeTree ORDER BY version""")
        return int(self.rows("SELECT max(version) FROM schema_migrations")[0][0] or 0)

    def migrate(self, retention_months: int | None = None) -> list[int]:
        """Apply pending migrations; set the raw-record retention when one is given."""
        if retention_months is not None and retention_months < MIN_RETENTION_MONTHS:
            raise StoreError(
                f"retention {retention_months} months: raw records must be kept at least "
                f"{MIN_RETENTION_MONTHS} months"
            )
        current = self.schema_version()
        if current > LATEST:
            raise StoreError(
                f"store schema version {current} is newer than this cdnctl ({LATEST}); upgrade cdnctl"
            )
        applied = []
        for mig in MIGRATIONS:
            if mig.version <= current:
                continue
            for stmt in mig.statements(retention_months or DEFAULT_RETENTION_MONTHS):
                self.command(stmt)
            self.command(
                "INSERT INTO schema_migrations (version, description) VALUES ({v:UInt32}, {d:String})",
                parameters={"v": mig.version, "d": mig.description},
            )
            applied.append(mig.version)
        if retention_months is not None and not applied and self.retention_months() != retention_months:
            for table in ("records", "quarantine"):
                col = "time" if table == "records" else "ingested_at"
                self.command(
                    f"ALTER TABLE {table} MODIFY TTL {col} + INTERVAL {int(retention_months)} MONTH DELETE"
                )
        return applied

    def retention_months(self) -> int:
        ddl = self.rows(
            "SELECT create_table_query FROM system.tables "
            "WHERE database = currentDatabase() AND name = 'records'"
        )
        m = re.search(r"(?:INTERVAL (\d+) MONTH|toIntervalMonth\((\d+)\))", ddl[0][0]) if ddl else None
        return int(m.group(1) or m.group(2)) if m else DEFAULT_RETENTION_MONTHS

    # ---- manifest ----

    def put_file(self, entry: FileEntry) -> None:
        # Bound parameters, not client.insert: the manifest row is tiny, and clickhouse-connect's
        # first insert of a process costs ~0.25 s of set-up (the fixed cost of every ingest).
        values = {c: getattr(entry, c) for c in FileEntry.COLUMNS}
        values["version"] = time.time_ns()
        slots = ", ".join(f"{{{c}:{t}}}" for c, t in _FILE_TYPES.items())
        self.command(f"INSERT INTO files ({', '.join(_FILE_TYPES)}) VALUES ({slots})", parameters=values)

    def _entries(self, where: str, parameters: dict[str, Any]) -> list[FileEntry]:
        cols = ", ".join(FileEntry.COLUMNS)
        result = self.rows(
            f"SELECT {cols} FROM files FINAL WHERE {where} ORDER BY updated_at, name", parameters
        )
        return [FileEntry(*row) for row in result]

    def file_by_sha(self, sha256: str) -> FileEntry | None:
        found = self._entries("sha256 = {s:String}", {"s": sha256})
        return found[0] if found else None

    def files_by_name(self, name: str) -> list[FileEntry]:
        return self._entries("name = {n:String}", {"n": name})

    def files(self, status: str | None = None) -> list[FileEntry]:
        if status is None:
            return self._entries("1", {})
        return self._entries("status = {s:String}", {"s": status})

    # ---- rows ----

    def file_site_days(self, file_ids: Sequence[int]) -> set[tuple[str, date]]:
        if not file_ids:
            return set()
        result = self.rows(
            "SELECT DISTINCT site, toDate(time, 'Europe/Paris') FROM records "
            "WHERE file_id IN {ids:Array(UInt64)}",
            {"ids": list(file_ids)},
        )
        return {(s, d) for s, d in result}

    def delete_files(self, file_ids: Sequence[int]) -> None:
        """Remove every record and quarantined line of these files (replay, crash recovery)."""
        if not file_ids:
            return
        for table in ("records", "quarantine", "line_counts"):
            self.command(
                f"DELETE FROM {table} WHERE file_id IN {{ids:Array(UInt64)}}",
                parameters={"ids": list(file_ids)},
                settings={"mutations_sync": 2},
            )

    def insert_records(self, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.client.insert("records", rows, column_names=RECORD_COLUMNS)

    def insert_quarantine(self, rows: Iterable[tuple[int, str, int, str, str]]) -> None:
        data = [[fid, name, line_no, reason, raw[:RAW_MAX]] for fid, name, line_no, reason, raw in rows]
        if data:
            self.client.insert("quarantine", data, column_names=QUARANTINE_COLUMNS)

    def insert_buffer(self, rows: Sequence[Sequence[Any]]) -> None:
        """Lines of a file, each with its kind (BUFFER_COLUMNS): the buffer's views store
        records and quarantined lines and count every kind (the Python engine's path)."""
        if rows:
            self.client.insert("ingest_buffer", rows, column_names=BUFFER_COLUMNS,
                               settings={"parallel_view_processing": 1})

    def line_counts(self, file_id: int) -> dict[str, int]:
        """kind → lines of this file, for every kind of LINE_KINDS."""
        found = dict(
            self.rows(
                "SELECT kind, sum(lines) FROM line_counts WHERE file_id = {f:UInt64} GROUP BY kind",
                {"f": file_id},
            )
        )
        return {k: int(found.get(k, 0)) for k in LINE_KINDS}

    def line_bytes(self, file_id: int) -> int:
        """Bytes of the lines read from this file, each with one newline."""
        found = self.rows("SELECT sum(bytes) FROM line_counts WHERE file_id = {f:UInt64}", {"f": file_id})
        return int(found[0][0])

    def files_at(self, source: str) -> list[FileEntry]:
        """Every content seen at this location (an edge's path or an SFTP path)."""
        return self._entries("source = {s:String}", {"s": source})

    def now(self) -> datetime:
        """The store's clock (UTC, naive, whole seconds): the records TTL compares with it."""
        value = self.rows("SELECT toDateTime(now(), 'UTC')")[0][0]
        return (
            value.replace(tzinfo=None)
            if isinstance(value, datetime)
            else datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        )

    # ---- aggregates ----

    def refresh_daily(self, site_days: Iterable[tuple[str, date]]) -> None:
        """Recompute the daily aggregates of these (site, Paris day) pairs from the records."""
        pairs = sorted(set(site_days))
        if not pairs:
            return
        version = time.time_ns()
        self.command(  # pairs left with no records read zero
            f"INSERT INTO daily ({', '.join(DAILY_COLUMNS)}) SELECT p.1, p.2, {', '.join(['0'] * 18)}, "
            "{v:UInt64} FROM (SELECT arrayJoin({pairs:Array(Tuple(String, Date))}) AS p)",
            parameters={"v": version, "pairs": pairs},
        )
        self.command(
            f"""
            INSERT INTO daily ({", ".join(DAILY_COLUMNS)})
            SELECT site, toDate(time, 'Europe/Paris') AS day,
                   count(), sum(ifNull(bytes, 0)),
                   countIf(cache_class = 'hit'), countIf(cache_class = 'miss'),
                   countIf(cache_class = 'pass'), countIf(cache_class = 'error'),
                   countIf(cache_class = 'unknown' OR cache_class IS NULL),
                   sumIf(ifNull(bytes, 0), cache_class = 'hit'),
                   sumIf(ifNull(bytes, 0), cache_class = 'miss'),
                   sumIf(ifNull(bytes, 0), cache_class = 'pass'),
                   uniqExactIf((client, ifNull(user_agent, '')), client IS NOT NULL),  -- as reports.metrics
                   countIf(intDiv(status, 100) = 1), countIf(intDiv(status, 100) = 2),
                   countIf(intDiv(status, 100) = 3), countIf(intDiv(status, 100) = 4),
                   countIf(intDiv(status, 100) = 5),
                   countIf(time_taken_us IS NOT NULL), countIf(time_taken_us < 2000000),
                   {version + 1}
            FROM records
            WHERE site IN {{sites:Array(String)}}
              AND time >= toDateTime({{lo:Date}}) - INTERVAL 1 DAY
              AND time < toDateTime({{hi:Date}}) + INTERVAL 2 DAY
              AND (site, toDate(time, 'Europe/Paris')) IN {{pairs:Array(Tuple(String, Date))}}
            GROUP BY site, day
        """,
            parameters={
                "sites": sorted({s for s, _ in pairs}),
                "lo": min(d for _, d in pairs),
                "hi": max(d for _, d in pairs),
                "pairs": pairs,
            },
        )

    def daily(
        self, site: str | None = None, day_from: date | None = None, day_to: date | None = None
    ) -> list[dict[str, Any]]:
        where = ["1"]
        params: dict[str, Any] = {}
        if site:
            where.append("site = {site:String}")
            params["site"] = site
        if day_from:
            where.append("day >= {f:Date}")
            params["f"] = day_from
        if day_to:
            where.append("day <= {t:Date}")
            params["t"] = day_to
        cols = DAILY_COLUMNS[:-1]
        result = self.rows(
            f"SELECT {', '.join(cols)} FROM daily FINAL WHERE {' AND '.join(where)} ORDER BY site, day",
            params,
        )
        return [dict(zip(cols, row, strict=True)) for row in result]
