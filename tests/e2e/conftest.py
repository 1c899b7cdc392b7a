"""Fixtures for the edge e2e tests: a scriptable origin and throw-away work dirs.

Work dirs are made with ``tempfile`` under /tmp rather than pytest's ``tmp_path``:
varnishd and nginx drop root for an unprivileged user, who cannot traverse pytest's
0700 base directory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.servers import Origin
from tests.e2e.sshd import Sshd


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    server = Origin()
    yield server
    server.close()


@pytest.fixture(scope="module")
def workdir_factory() -> Iterator[Callable[[str], Path]]:
    made: list[Path] = []

    def make(prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"cdnctl-e2e-{prefix}-"))
        path.chmod(0o755)
        made.append(path)
        return path

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    """A real OpenSSH sshd on a free loopback port (SFTP ingest and publish tests)."""
    server = Sshd()
    yield server
    server.close()
