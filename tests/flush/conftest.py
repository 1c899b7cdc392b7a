"""Every flush test gets its own state directory (audit journal, tokens, resume files)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("CDNCTL_STATE_DIR", str(path))
    monkeypatch.setenv("CDNCTL_WHO", "alice")
    return path
