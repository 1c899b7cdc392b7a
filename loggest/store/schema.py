"""The ClickHouse schema, versioned: each migration is applied once, in order.

``records``: one row per valid log line, partitioned by month, ordered for per-site time
queries, TTL-deleted after the raw retention (default 13 months, at least 6); since v4 with
the id of the policy rule that decided, when the log line carries it (``rule``).
``quarantine``: unparseable lines (file, line number, reason, raw text).
``files``: the manifest — one row per file content (sha256), latest version wins.
``daily``: per site and Europe/Paris day aggregates, recomputed from ``records`` when a
file is (re)ingested, so replays and crashes never double-count; kept longer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_RETENTION_MONTHS = 13
MIN_RETENTION_MONTHS = 6
DAILY_RETENTION_MONTHS = 60
RAW_MAX = 8192           # bytes of a quarantined line kept (a 1 MB line is cut, not lost silently)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Callable[[int], list[str]]      # retention months → DDL


def _v1(retention: int) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS records (
            site LowCardinality(String),
            time DateTime('UTC'),
            tz_offset Int16,
            client Nullable(String),
            method LowCardinality(Nullable(String)),
            path Nullable(String),
            query Nullable(String),
            protocol LowCardinality(Nullable(String)),
            status Nullable(UInt16),
            bytes Nullable(UInt64),
            referer Nullable(String),
            user_agent LowCardinality(Nullable(String)),
            cache_status LowCardinality(Nullable(String)),
            cache_class LowCardinality(Nullable(String)),
            time_taken_us Nullable(UInt64),
            edge LowCardinality(Nullable(String)),
            file_id UInt64,
            line_no UInt32
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMM(time)
        ORDER BY (site, time)
        TTL time + INTERVAL {retention} MONTH DELETE""",
        f"""CREATE TABLE IF NOT EXISTS quarantine (
            file_id UInt64,
            file String,
            line_no UInt32,
            reason String,
            raw String,
            ingested_at DateTime('UTC') DEFAULT now()
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMM(ingested_at)
        ORDER BY (file_id, line_no)
        TTL ingested_at + INTERVAL {retention} MONTH DELETE""",
        """CREATE TABLE IF NOT EXISTS files (
            sha256 String,
            file_id UInt64,
            name String,
            source String,
            size UInt64,
            format String,
            status LowCardinality(String),
            reason String,
            lines UInt64,
            records UInt64,
            quarantined UInt64,
            sites Array(String),
            file_day Nullable(Date),
            days Array(Date),
            engine LowCardinality(String),
            seconds Float64,
            updated_at DateTime('UTC') DEFAULT now(),
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY sha256""",
        f"""CREATE TABLE IF NOT EXISTS daily (
            site LowCardinality(String),
            day Date,
            requests UInt64,
            bytes UInt64,
            hit UInt64, miss UInt64, pass UInt64, error UInt64, unknown UInt64,
            hit_bytes UInt64, miss_bytes UInt64, pass_bytes UInt64,
            visitors UInt64,
            s1xx UInt64, s2xx UInt64, s3xx UInt64, s4xx UInt64, s5xx UInt64,
            timed UInt64,
            under_2s UInt64,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        PARTITION BY toYear(day)
        ORDER BY (site, day)
        TTL day + INTERVAL {DAILY_RETENTION_MONTHS} MONTH DELETE""",
    ]


_RECORD_COLUMNS = """
            site LowCardinality(String),
            time DateTime('UTC'),
            tz_offset Int16,
            client Nullable(String),
            method LowCardinality(Nullable(String)),
            path Nullable(String),
            query Nullable(String),
            protocol LowCardinality(Nullable(String)),
            status Nullable(UInt16),
            bytes Nullable(UInt64),
            referer Nullable(String),
            user_agent LowCardinality(Nullable(String)),
            cache_status LowCardinality(Nullable(String)),
            cache_class LowCardinality(Nullable(String)),
            time_taken_us Nullable(UInt64),
            edge LowCardinality(Nullable(String)),
            file_id UInt64,
            line_no UInt32"""


def _v2(_retention: int) -> list[str]:
    """One pass per file for the ClickHouse engine: parsed lines go into a Null table whose
    two materialized views send valid records to ``records`` and the others to
    ``quarantine`` (before: a second pass over the file for the quarantined lines)."""
    cols = ", ".join(line.strip().split()[0] for line in _RECORD_COLUMNS.strip().splitlines())
    return [
        f"""CREATE TABLE IF NOT EXISTS ingest_buffer ({_RECORD_COLUMNS},
            file String,
            reason String,
            raw String
        ) ENGINE = Null""",
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_to_records TO records AS
            SELECT {cols} FROM ingest_buffer WHERE reason = ''""",
        """CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_to_quarantine TO quarantine AS
            SELECT file_id, file, line_no, reason, raw FROM ingest_buffer WHERE reason != ''""",
    ]


def _v3(_retention: int) -> list[str]:
    """Every line accounted for: each line of a file enters ``ingest_buffer`` with its kind
    (record, quarantine, blank, directive, old = older than the raw retention) and its size
    in bytes with its newline; the views route records and quarantined lines as before, and
    count lines and bytes of every kind per file into ``line_counts`` (no TTL: the figures
    outlive the rows; the bytes let a gzip's size trailer prove the last line was whole). The
    manifest keeps the counts and the time-taken unit used."""
    return [
        "ALTER TABLE ingest_buffer ADD COLUMN IF NOT EXISTS kind LowCardinality(String) DEFAULT 'record'",
        "ALTER TABLE ingest_buffer ADD COLUMN IF NOT EXISTS line_bytes UInt64 DEFAULT 0",
        "DROP VIEW IF EXISTS ingest_to_records",
        "DROP VIEW IF EXISTS ingest_to_quarantine",
        """CREATE TABLE IF NOT EXISTS line_counts (
            file_id UInt64,
            kind LowCardinality(String),
            lines UInt64,
            bytes UInt64
        ) ENGINE = SummingMergeTree
        ORDER BY (file_id, kind)""",
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_to_records TO records AS
            SELECT {_record_column_names()} FROM ingest_buffer WHERE kind = 'record'""",
        """CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_to_quarantine TO quarantine AS
            SELECT file_id, file, line_no, reason, raw FROM ingest_buffer WHERE kind = 'quarantine'""",
        """CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_to_line_counts TO line_counts AS
            SELECT file_id, kind, count() AS lines, sum(line_bytes) AS bytes FROM ingest_buffer
            GROUP BY file_id, kind""",
        "ALTER TABLE files ADD COLUMN IF NOT EXISTS directives UInt64 DEFAULT 0",
        "ALTER TABLE files ADD COLUMN IF NOT EXISTS blank UInt64 DEFAULT 0",
        "ALTER TABLE files ADD COLUMN IF NOT EXISTS too_old UInt64 DEFAULT 0",
        "ALTER TABLE files ADD COLUMN IF NOT EXISTS time_unit String DEFAULT ''",
        "ALTER TABLE files ADD COLUMN IF NOT EXISTS notes String DEFAULT ''",
    ]


def _record_column_names() -> str:
    """The columns of ``records`` as v1–v3 made them (frozen: a migration's DDL never changes)."""
    return ", ".join(line.strip().split()[0] for line in _RECORD_COLUMNS.strip().splitlines())


def _v4(_retention: int) -> list[str]:
    """The rule that decided: edges log the winning rule id (``X-Cache-Rule``) so that misses
    can be reported by rule with that rule's TTL. Added to ``records`` and to the buffer,
    NULL for the rows already stored (their formats had no such field: never invented),
    and the records view recreated to carry it (a view's column list is fixed at creation).
    In place, on stores of any size: ADD COLUMN is a metadata change in ClickHouse."""
    cols = _record_column_names().replace("edge, ", "edge, rule, ")
    return [
        "ALTER TABLE records ADD COLUMN IF NOT EXISTS rule LowCardinality(Nullable(String)) AFTER edge",
        "ALTER TABLE ingest_buffer ADD COLUMN IF NOT EXISTS rule LowCardinality(Nullable(String)) AFTER edge",
        "DROP VIEW IF EXISTS ingest_to_records",
        f"""CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_to_records TO records AS
            SELECT {cols} FROM ingest_buffer WHERE kind = 'record'""",
    ]


MIGRATIONS: list[Migration] = [
    Migration(1, "records, quarantine, files manifest, daily aggregates", _v1),
    Migration(2, "single-pass ingest: Null buffer table routing to records and quarantine", _v2),
    Migration(3, "line accounting: kinds in the buffer, line_counts, manifest counts and time unit", _v3),
    Migration(4, "rule: the id of the policy rule that decided, in records and the buffer", _v4),
]
LATEST = MIGRATIONS[-1].version
