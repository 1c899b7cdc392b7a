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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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


def _plain_pieces(f: IO[bytes]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip (every member) or the bytes of a plain file, in
    pieces of at most CHUNK bytes whatever the compression ratio (a gzip of a 200 MB line of
    one letter is 200 KB: decompressing a chunk at once would hold it all)."""
    chunk = f.read(CHUNK)
    if chunk[:2] != GZIP_MAGIC:
        while chunk:
            yield chunk
            chunk = f.read(CHUNK)
        return
    d = zlib.decompressobj(wbits=31)
    while chunk:
        data = d.decompress(chunk, CHUNK)
        while True:
            if data:
                yield data
            if d.eof and d.unused_data:                    # concatenated gzip members
                rest = d.unused_data
                d = zlib.decompressobj(wbits=31)
                data = d.decompress(rest, CHUNK)
                continue
            if not d.unconsumed_tail:
                break
            data = d.decompress(d.unconsumed_tail, CHUNK)
        chunk = f.read(CHUNK)
    if not d.eof:
        raise EOFError("truncated")


def check(path: Path) -> tuple[int, str]:
    """(lines, error): decompress a gzip whole (in bounded pieces), count lines, check the
    last newline."""
    lines = 0
    last = b"\n"
    with path.open("rb") as f:
        try:
            for data in _plain_pieces(f):
                lines += data.count(b"\n")
                last = data[-1:]
        except zlib.error as exc:
            return lines, f"corrupt gzip near compressed byte {f.tell()}: {exc}"
        except EOFError:
            return lines, f"truncated gzip: the stream ends early after {f.tell()} compressed bytes"
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
