"""Sources yield log files ready to read: local files/directories, or an SFTP account."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Names never taken as log files: completion markers, partial downloads, hidden files.
MARKER_SUFFIXES = (".done", ".ok", ".complete")
PARTIAL_SUFFIXES = (".part", ".tmp", ".partial", ".filepart", ".swp")


def is_candidate(name: str) -> bool:
    return not (name.startswith(".") or name.endswith(MARKER_SUFFIXES) or name.endswith(PARTIAL_SUFFIXES))


@dataclass
class SourceFile:
    name: str            # base name: the file's identity in reports and the manifest
    path: Path           # a local path readable now (downloaded when remote)
    source: str          # where it came from (path or sftp://…)
    size: int
    ready: bool = True
    why_not_ready: str = ""
    failed: str = ""     # the file could not be fetched (reported, counted as a failure)
