"""ClickHouse tables of the QS registers (incidents, changes, probe results).

Every table is a ``ReplacingMergeTree(version, is_deleted)`` ordered by the record's key:
an import writes a new row version for an id, a deletion writes a tombstone, and every
read uses ``FINAL`` so it sees exactly the latest version of each id, merged or not.
Instants are ``DateTime64(6, 'UTC')``: the offset a CSV was written with is not kept,
the instant is (reports show Europe/Paris time).

The tables are prefixed ``reg_`` so they never collide with the log store's tables in
the same database.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1

TS = "DateTime64(6, 'UTC')"

TABLES: dict[str, str] = {
    "reg_incidents": f"""
        CREATE TABLE IF NOT EXISTS reg_incidents (
            id String,
            site LowCardinality(String),
            started_at {TS},
            detected_at {TS},
            detected_by Enum8('provider' = 1, 'administration' = 2),
            notified_at Nullable({TS}),
            resolved_at Nullable({TS}),
            impact Enum8('none' = 0, 'partial' = 1, 'full' = 2),
            provider_responsible Bool,
            planned_maintenance Bool,
            description String,
            version UInt64,
            is_deleted UInt8 DEFAULT 0
        ) ENGINE = ReplacingMergeTree(version, is_deleted)
        ORDER BY id""",
    "reg_changes": f"""
        CREATE TABLE IF NOT EXISTS reg_changes (
            id String,
            site LowCardinality(String),
            requested_at {TS},
            effective_at Nullable({TS}),
            dossier_updated_at Nullable({TS}),
            description String,
            version UInt64,
            is_deleted UInt8 DEFAULT 0
        ) ENGINE = ReplacingMergeTree(version, is_deleted)
        ORDER BY id""",
    "reg_probes": f"""
        CREATE TABLE IF NOT EXISTS reg_probes (
            site LowCardinality(String),
            at {TS},
            ok Bool,
            status Nullable(UInt16),
            duration_s Nullable(Float64),
            error String,
            version UInt64,
            is_deleted UInt8 DEFAULT 0
        ) ENGINE = ReplacingMergeTree(version, is_deleted)
        PARTITION BY toYYYYMM(at)
        ORDER BY (site, at)""",
}


def ensure_schema(client: Any) -> None:
    """Create the register tables when missing (idempotent, safe on every start)."""
    for ddl in TABLES.values():
        client.command(ddl)
