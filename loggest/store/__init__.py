"""Where records go: ClickHouse, embedded (chDB) or a server, through clickhouse-connect.

One setting picks it — ``CDNCTL_CLICKHOUSE_URL`` or ``--store``:
``chdb:///PATH`` (embedded, the default, under ``$XDG_DATA_HOME/cdnctl/``) or
``http(s)://user[:password]@host:8123/db`` (server; the password may also come from
``CDNCTL_CLICKHOUSE_PASSWORD``). The SQL is the same.
"""

from __future__ import annotations

import os
from pathlib import Path

from loggest.store.clickhouse import ClickHouseStore, StoreError


def default_url() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"chdb://{Path(base) / 'cdnctl' / 'logs.chdb'}"


def store_url(url: str | None = None) -> str:
    return url or os.environ.get("CDNCTL_CLICKHOUSE_URL") or default_url()


def open_store(url: str | None = None, retention_months: int | None = None) -> ClickHouseStore:
    return ClickHouseStore.open(store_url(url), retention_months)


__all__ = ["ClickHouseStore", "StoreError", "default_url", "open_store", "store_url"]
