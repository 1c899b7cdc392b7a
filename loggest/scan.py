"""One streaming pass over a delivered file: checksum, integrity, line count.

Run before anything is stored, so a truncated or corrupt file is refused whole (SPEC §4)
and nothing of it reaches the store. Memory stays bounded (1 MiB chunks).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
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


def scan_file(path: Path) -> Scan:
    digest = hashlib.sha256()
    size = 0
    lines = 0
    last = b"\n"
    with path.open("rb") as f:
        head = f.read(CHUNK)
        gz = head[:2] == GZIP_MAGIC
        scan = Scan("", 0, gz)
        d = zlib.decompressobj(wbits=31) if gz else None
        chunk = head
        try:
            while chunk:
                digest.update(chunk)
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
            scan.error = f"corrupt gzip at compressed byte ~{size}: {exc}"
            for rest in iter(lambda: f.read(CHUNK), b""):      # the checksum covers the whole file
                digest.update(rest)
                size += len(rest)
        if d is not None and not scan.error and not d.eof:
            scan.error = f"truncated gzip: the stream ends early after {size} compressed bytes"
    scan.sha256 = digest.hexdigest()
    scan.size = size
    if not scan.error and last != b"\n":
        scan.error = "truncated: the last line has no newline (file cut or still being written)"
        lines += 1
    scan.lines = lines
    return scan
