"""Mirror of the audit journal in the ClickHouse store, for queries beside the logs.

The JSON-lines journal stays the record of truth (hash chain, verify); the store gets a
copy, synchronised by ``seq``: each sync inserts the entries above the highest ``seq``
already stored, so running it twice, or after a crash, never duplicates a row. It is a
separate step (`cdnctl audit sync`, after each ingest or from cron) rather than a write
on every action because the embedded store admits one process at a time and a flush
must never wait for, or fail on, the log store.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cdnctl.audit import Journal

TABLE = "audit_journal"

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq UInt64,
    at DateTime64(6, 'UTC'),
    who String,
    action LowCardinality(String),
    site LowCardinality(Nullable(String)),
    result LowCardinality(String),
    hash String,
    prev String,
    entry String CODEC(ZSTD)
) ENGINE = ReplacingMergeTree
ORDER BY seq
TTL toDateTime(at) + INTERVAL 12 MONTH
"""

COLUMNS = ["seq", "at", "who", "action", "site", "result", "hash", "prev", "entry"]


def sync(journal: Journal, client: Any) -> int:
    """Insert the journal entries the store does not have yet; returns how many."""
    client.command(DDL)
    stored = int(client.query(f"SELECT max(seq) FROM {TABLE}").result_rows[0][0] or 0)
    rows = []
    for entry in journal.entries():
        seq = int(entry["seq"])  # type: ignore[call-overload]
        if seq <= stored:
            continue
        at = datetime.fromisoformat(str(entry["at"]).replace("Z", "+00:00"))
        site = entry.get("site")
        rows.append([seq, at, str(entry.get("who", "")), str(entry.get("action", "")),
                     None if site is None else str(site), str(entry.get("result", "")),
                     str(entry.get("hash", "")), str(entry.get("prev", "")),
                     json.dumps(entry, ensure_ascii=False, sort_keys=True)])
    if rows:
        client.insert(TABLE, rows, column_names=COLUMNS)
    return len(rows)
