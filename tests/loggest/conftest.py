"""Fixtures for the log tests: a fresh embedded ClickHouse store (chDB) per test.

chDB allows one open database path per process, so every store is closed at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loggest.store import ClickHouseStore, open_store


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"chdb://{tmp_path / 'store.chdb'}"


@pytest.fixture
def store(store_url: str) -> Iterator[ClickHouseStore]:
    st = open_store(store_url)
    yield st
    st.close()


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d
