"""Local files and directories (what an SFTP account looks like once mounted or synced).

Symlinks are followed; a dangling one or a loop is reported as a failed file with the
reason, never skipped silently. Completeness: see :mod:`loggest.sources` (default for
local paths: a marker, a matching manifest, or unchanged for ``--settle`` seconds).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from loggest.scan import checksum, is_gzip
from loggest.sources import (
    MARKER_SUFFIXES,
    SourceFile,
    Verdict,
    is_candidate,
    judge,
    manifest_candidates,
    parse_manifest,
    proofs,
    ready_state,
)

__all__ = ["SourceError", "link_problem", "local_files", "ready_state"]


class SourceError(Exception):
    """A path given by the user cannot be read (message says which and why)."""


def link_problem(path: Path, exc: OSError) -> str:
    """Why a symlink cannot be followed: ``symlink loop`` or ``dangling symlink``."""
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    if exc.errno == errno.ELOOP:
        return f"symlink loop: {path} -> {target} leads back to itself"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"dangling symlink: {path} -> {target}, which does not exist"
    return f"cannot follow symlink {path} -> {target}: {exc.strerror or exc}"


def _failed(entry: Path, reason: str) -> SourceFile:
    return SourceFile(entry.name, entry, str(entry.absolute()), 0, False, failed=reason)


def local_files(
    paths: Sequence[Path], settle: float = 5.0, complete_by: str = "auto"
) -> Iterator[SourceFile]:
    accepted = proofs(complete_by, remote=False)
    listings: dict[Path, list[str]] = {}

    def names_in(directory: Path) -> list[str]:
        if directory not in listings:
            try:
                listings[directory] = os.listdir(directory)
            except OSError:
                listings[directory] = []
        return listings[directory]

    for path in paths:
        if path.is_symlink() and not path.exists():
            try:
                path.stat()
            except OSError as exc:
                yield _failed(path, link_problem(path, exc))
                continue
        if not path.exists():
            raise SourceError(f"{path}: no such file or directory")
        entries = sorted(path / n for n in names_in(path) if is_candidate(n)) if path.is_dir() else [path]
        for entry in entries:
            try:
                st = entry.stat()                          # follows symlinks
            except OSError as exc:
                if entry.is_symlink():
                    yield _failed(entry, link_problem(entry, exc))
                elif exc.errno == errno.ENOENT:
                    yield _failed(entry, f"{entry} vanished after listing")
                else:
                    yield _failed(entry, f"{entry}: {exc.strerror or exc}")
                continue
            if not stat.S_ISREG(st.st_mode):
                continue                                   # directories, fifos, links to them
            if not os.access(entry, os.R_OK):
                yield _failed(entry, f"permission denied reading {entry}")
                continue
            names = names_in(entry.parent)
            verdict = _judge(entry, st, names, accepted, settle)
            ready, why, failed = verdict.ready, verdict.why, ""
            if ready and verdict.expect is not None:
                why, failed = verdict.expect.mismatch(*checksum(entry))
                ready = not (why or failed)
            # The location is the file's identity with its content: absolute, so that two runs
            # from different working directories name it alike.
            yield SourceFile(entry.name, entry, str(entry.absolute()), st.st_size, ready, why, failed)


def _judge(
    entry: Path, st: os.stat_result, names: list[str], accepted: frozenset[str], settle: float
) -> Verdict:
    @cache
    def manifest(m: str) -> dict[str, Any] | None:
        try:
            return parse_manifest((entry.parent / m).read_bytes())
        except OSError:
            return None

    def manifest_for() -> tuple[str, dict[str, Any]] | None:
        for m in manifest_candidates(entry.name, names):
            data = manifest(m)
            if data is not None and data.get("file") == entry.name:
                return m, data
        return None

    listed = set(names)
    return judge(entry.name, st.st_size, st.st_mtime, accepted=accepted, settle=settle,
                 has_marker=any(entry.name + s in listed for s in MARKER_SUFFIXES),
                 is_gzip=lambda: is_gzip(entry), manifest_for=manifest_for,
                 is_whole_json=lambda: manifest(entry.name) is not None)
