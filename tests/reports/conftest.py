"""Register stores for the tests: in memory, and ClickHouse embedded (chDB) on a temp path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.registers import MemoryStore, RegisterStore


@pytest.fixture
def chdb_client(tmp_path: Path) -> Iterator[Any]:
    clickhouse_connect = pytest.importorskip("clickhouse_connect")
    # One process holds one chDB path at a time: close before the next test opens its own.
    client = clickhouse_connect.get_client(dsn=f"chdb:///{tmp_path}/db")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(params=["memory", "clickhouse"])
def store(request: pytest.FixtureRequest) -> RegisterStore:
    if request.param == "memory":
        return MemoryStore()
    from reports.store import ClickHouseRegisterStore

    return ClickHouseRegisterStore(request.getfixturevalue("chdb_client"))
