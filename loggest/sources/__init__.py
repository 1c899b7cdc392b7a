"""Sources yield log files ready to read: local files/directories, or an SFTP account.

When is a delivered file complete? (``--complete-by``, decided by :func:`judge` for both
sources.) A gzip file proves itself: its trailer (CRC and length) tells a cut stream,
which the ingest refuses whole and takes again once it has changed, so a gzip is taken
once unchanged for ``--settle`` seconds (or at once with a marker). A plain file has no
such proof: it is complete only when its producer says so —

- ``marker``: ``NAME.done``/``.ok``/``.complete`` exists (always accepted, in every mode);
- ``manifest``: a publication manifest ``SITE_DAY.manifest.json`` next to it (written by
  ``cdnctl logs publish``) names the file, and its size and sha256 match the bytes;
- ``rename``: the producer writes under a temporary name (``*.part``, ``*.tmp``… are
  never taken) and renames: the final name appearing is completeness;
- ``settle``: unchanged for ``--settle`` seconds — a heuristic (a writer that pauses
  longer is read half).

``auto`` (the default) is marker or manifest over SFTP, and marker, manifest or
``--settle`` for local paths. A manifest itself is JSON: complete when it parses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Names never taken as log files: completion markers, partial downloads, hidden files.
MARKER_SUFFIXES = (".done", ".ok", ".complete")
PARTIAL_SUFFIXES = (".part", ".tmp", ".partial", ".filepart", ".swp")
MANIFEST_SUFFIX = ".manifest.json"      # publication manifests (loggest.publish writes, ingest reads)
COMPLETE_BY = ("auto", "marker", "manifest", "rename", "settle")
MAX_LINKS = 40                          # Linux MAXSYMLINKS


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


def proofs(complete_by: str, remote: bool) -> frozenset[str]:
    """What counts as 'the producer says it is complete' for a plain file."""
    if complete_by not in COMPLETE_BY:
        raise ValueError(f"complete_by {complete_by!r}: one of {', '.join(COMPLETE_BY)}")
    if complete_by == "auto":
        return frozenset({"marker", "manifest"} if remote else {"marker", "manifest", "settle"})
    return frozenset({"marker", complete_by})


def ready_state(has_marker: bool, mtime: float, settle: float, now: float | None = None) -> tuple[bool, str]:
    """The ``--settle`` heuristic: complete when a marker (NAME.done/.ok/.complete) exists
    or the file has not changed for ``settle`` seconds."""
    if has_marker:
        return True, ""
    age = (now if now is not None else time.time()) - mtime
    if age >= settle:
        return True, ""
    return False, f"modified {age:.1f}s ago (< {settle:g}s): may still be being written"


def manifest_candidates(name: str, names: Iterable[str]) -> list[str]:
    """Manifests that may describe ``name``: ``SITE_DAY.manifest.json`` for ``SITE_DAY.…``."""
    return sorted(m for m in names if m.endswith(MANIFEST_SUFFIX) and m != name
                  and name.startswith(m[: -len(MANIFEST_SUFFIX)] + "."))


def parse_manifest(data: bytes) -> dict[str, Any] | None:
    """A publication manifest's JSON object, or None when it is not (yet) whole JSON."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass
class Expected:
    """What a manifest says of a file, checked against the bytes once fetched."""
    manifest: str
    sha256: str
    size: int | None

    def mismatch(self, sha: str, size: int) -> tuple[str, str]:
        """(pending reason, failed reason), both empty when the bytes are the published ones."""
        if sha == self.sha256:
            return "", ""
        if self.size is None:
            return f"sha256 {sha[:12]}… is not {self.manifest}'s {self.sha256[:12]}… (yet)", ""
        return "", (f"sha256 {sha[:12]}… differs from {self.manifest}'s {self.sha256[:12]}… "
                    f"although the size matches ({size:,} bytes): corrupt, or not the published file")


@dataclass
class Verdict:
    ready: bool
    why: str = ""                       # pending: why not ready yet
    expect: Expected | None = None      # ready if the fetched bytes match this


def _expected(name: str, size: int, found: tuple[str, dict[str, Any]]) -> Verdict:
    manifest, data = found
    want = data.get("size")
    try:
        want_size = None if want is None else int(want)
    except (TypeError, ValueError):
        want_size = None
    if want_size is not None and want_size != size:
        return Verdict(False, f"{size:,} bytes, {manifest} says {want_size:,}: still arriving, "
                              "or the manifest is from another publication")
    return Verdict(True, expect=Expected(manifest, str(data.get("sha256", "")), want_size))


def judge(name: str, size: int, mtime: float, *, accepted: frozenset[str], settle: float, has_marker: bool,
          is_gzip: Callable[[], bool], manifest_for: Callable[[], tuple[str, dict[str, Any]] | None],
          is_whole_json: Callable[[], bool], now: float | None = None) -> Verdict:
    """Is a listed file complete? ``accepted`` from :func:`proofs`; the callables are asked
    only when needed (over SFTP each costs a round trip or a small download)."""
    if has_marker or "rename" in accepted:
        return Verdict(True)
    if name.endswith(MANIFEST_SUFFIX):
        if is_whole_json():                 # JSON is self-delimiting: a cut one does not parse
            return Verdict(True)
        if "settle" in accepted:            # an old unreadable manifest is taken: the ingest alarms
            return Verdict(*ready_state(False, mtime, settle, now))
        return Verdict(False, "publication manifest is not whole JSON yet (still being written?)")
    if is_gzip():
        # Its trailer proves it whole (a cut one is refused and taken again once changed);
        # --settle only avoids fetching a file still being written.
        return Verdict(*ready_state(False, mtime, settle, now))
    if "manifest" in accepted:
        found = manifest_for()
        if found is not None:
            return _expected(name, size, found)
    if "settle" in accepted:
        return Verdict(*ready_state(False, mtime, settle, now))
    said = "a marker NAME.done/.ok/.complete" + (
        " or a SITE_DAY.manifest.json naming it with its size and sha256" if "manifest" in accepted else "")
    return Verdict(False, f"plain file not declared complete: waiting for {said} "
                          "(--complete-by rename when the producer writes it under a temporary name)")
