"""Vendor deploy tests: a private state dir (audit, changes), a copy of the example policies,
a run context whose sleeps are recorded instead of slept."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from cache_rules.loader import load_policy_dir
from cache_rules.model import Policy
from cdnctl.vendors.base import Deadline, RetryPolicy, RunContext

ROOT = Path(__file__).resolve().parents[2]
CF_SITE = "www.journees-patrimoine.gouv.fr"
FASTLY_SITE = "www.france2030-sommet.gouv.fr"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("CDNCTL_STATE_DIR", str(path))
    monkeypatch.setenv("CDNCTL_WHO", "alice")
    return path


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    out = tmp_path / "sites"
    shutil.copytree(ROOT / "examples" / "sites", out)
    return out


def load(directory: Path) -> Policy:
    return load_policy_dir(directory).require_valid()


def set_ttl(directory: Path, site: str, old: str, new: str) -> None:
    path = directory / f"{site}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


class Sleeps(list[float]):
    pass


def context(attempts: int = 4) -> tuple[RunContext, list[float]]:
    slept: list[float] = []
    return RunContext(deadline=Deadline(120), retry=RetryPolicy(attempts=attempts, base=0.01, cap=0.02),
                      sleep=slept.append, rng=random.Random(0)), slept


def add_alias(directory: Path, site: str, alias: str) -> None:
    """A host more: the Fastly VCL (host → site mapping) changes, not only its data."""
    path = directory / f"{site}.yaml"
    text = path.read_text()
    assert "aliases:" not in text
    path.write_text(text.replace(f"site: {site}\n", f"site: {site}\naliases: [{alias}]\n", 1))
