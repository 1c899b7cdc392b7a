"""Local files and directories (what an SFTP account looks like once mounted or synced)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from loggest.sources import MARKER_SUFFIXES, SourceFile, is_candidate


class SourceError(Exception):
    """A path given by the user cannot be read (message says which and why)."""


def ready_state(has_marker: bool, mtime: float, settle: float, now: float | None = None) -> tuple[bool, str]:
    """A file is complete when a marker (NAME.done/.ok/.complete) exists or it has not
    changed for ``settle`` seconds; otherwise it may still be being written."""
    if has_marker:
        return True, ""
    age = (now if now is not None else time.time()) - mtime
    if age >= settle:
        return True, ""
    return False, f"modified {age:.1f}s ago (< {settle:g}s): may still be being written"


def local_files(paths: Sequence[Path], settle: float = 5.0) -> Iterator[SourceFile]:
    for path in paths:
        if not path.exists():
            raise SourceError(f"{path}: no such file or directory")
        if path.is_dir():
            entries = sorted(p for p in path.iterdir() if p.is_file() and is_candidate(p.name))
        else:
            entries = [path]
        for entry in entries:
            try:
                st = entry.stat()
            except OSError as exc:
                raise SourceError(f"{entry}: {exc.strerror}") from None
            marker = any(entry.with_name(entry.name + s).exists() for s in MARKER_SUFFIXES)
            ready, why = ready_state(marker, st.st_mtime, settle)
            # The location is the file's identity with its content: absolute, so that two runs
            # from different working directories name it alike.
            yield SourceFile(entry.name, entry, str(entry.absolute()), st.st_size, ready, why)
