"""Checksums and integrity checks of delivered files, streaming (1 MiB chunks).

The checksum (of the bytes as delivered) identifies a file; the integrity check
decompresses a gzip whole and counts lines, so a truncated or corrupt file is refused
whole (SPEC §4). For the Python engine it runs in a thread next to the load (zlib
releases the GIL); the ClickHouse engine's own gzip reader does the same checks. When a
check fails, the rows loaded meanwhile are removed before the manifest says anything
but ``loading``.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
TRUNCATED = "truncated: the last line has no newline (file cut or still being written)"
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Scan:
    sha256: str
    size: int
    gzip: bool
    lines: int = 0
    error: str = ""          # non-empty: refuse the file whole, with this reason


def is_gzip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


def checksum(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def check(path: Path) -> tuple[int, str]:
    """(lines, error): decompress a gzip whole, count lines, check the last newline."""
    lines = 0
    last = b"\n"
    size = 0
    with path.open("rb") as f:
        chunk = f.read(CHUNK)
        d = zlib.decompressobj(wbits=31) if chunk[:2] == GZIP_MAGIC else None
        try:
            while chunk:
                size += len(chunk)
                data = chunk
                if d is not None:
                    data = d.decompress(chunk)
                    while d.eof and d.unused_data:          # concatenated gzip members
                        rest = d.unused_data
                        d = zlib.decompressobj(wbits=31)
                        data += d.decompress(rest)
                if data:
                    lines += data.count(b"\n")
                    last = data[-1:]
                chunk = f.read(CHUNK)
        except zlib.error as exc:
            return lines, f"corrupt gzip near compressed byte {size}: {exc}"
        if d is not None and not d.eof:
            return lines, f"truncated gzip: the stream ends early after {size} compressed bytes"
    if last != b"\n":
        return lines + 1, TRUNCATED
    return lines, ""


def tail_error(path: Path) -> str:
    """A plain (not gzip) non-empty file must end with a newline; O(1)."""
    with path.open("rb") as f:
        if f.read(2) == GZIP_MAGIC:
            return ""
        f.seek(0, 2)
        if f.tell() == 0:
            return ""
        f.seek(-1, 2)
        if f.read(1) != b"\n":
            return TRUNCATED
    return ""


def scan_file(path: Path) -> Scan:
    sha, size = checksum(path)
    lines, error = check(path)
    return Scan(sha, size, is_gzip(path), lines, error)
