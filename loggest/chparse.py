"""The ClickHouse engine: the embedded store reads and parses the file itself.

``INSERT INTO ingest_buffer SELECT … FROM file(PATH, 'LineAsString')`` with the format
compiled to SQL (:mod:`loggest.formats.sql`); gzip is read directly. ``ingest_buffer`` is
a Null table whose materialized views send valid lines to ``records`` and the others to
``quarantine``: one pass over the file. Only for the embedded store (a server cannot
read our files).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from loggest.formats.model import COLUMNS
from loggest.formats.reference import w3c_fields
from loggest.formats.sql import q, token_query, w3c_query
from loggest.store.schema import RAW_MAX

if TYPE_CHECKING:
    from loggest.ingest import IngestOptions
    from loggest.store.clickhouse import ClickHouseStore, FileEntry

SETTINGS = {"short_circuit_function_evaluation": "disable"}
# ingest_buffer columns that are not Nullable (quarantined lines may have them NULL)
NOT_NULL = {"time": "toDateTime(0, 'UTC')", "tz_offset": "0", "site": "''"}
_GLOB = set("*?{}[]")


def _safe_path(path: Path, tmp: str) -> str:
    """file() expands globs: give it a link with a plain name when the path has glob characters."""
    real = str(path.resolve())
    if not _GLOB & set(real) and "'" not in real:
        return real
    link = os.path.join(tmp, "log" + ("".join(path.suffixes[-1:]) if path.suffixes else ""))
    os.symlink(real, link)
    return link


class CorruptFile(Exception):
    """ClickHouse could not read the file (bad or truncated gzip): refuse it whole."""


def _directives(store: ClickHouseStore, source: str) -> list[tuple[int, str]]:
    return store.rows(f"SELECT _row_number + 1, line FROM {source} WHERE startsWith(line, '#') ORDER BY 1")


def _segments(store: ClickHouseStore, source: str, directives: list[tuple[int, str]] | None = None
              ) -> list[tuple[list[str] | None, int, int]]:
    """W3C: (field names or None, first line, last line) for each #Fields: directive."""
    if directives is None:
        directives = _directives(store, source)
    segments: list[tuple[list[str] | None, int, int]] = []
    start, names = 1, None
    for line_no, text in directives:
        if not text.startswith("#Fields:"):
            continue
        if line_no > start:
            segments.append((names, start, line_no - 1))
        names = text.rstrip("\r")[len("#Fields:"):].split()
        start = line_no
    segments.append((names, start, 2**32 - 1))
    return segments


def load_clickhouse(store: ClickHouseStore, path: Path, entry: FileEntry, opts: IngestOptions,
                    progress: Callable[[int], None] | None = None) -> int:
    """Parse and store one file inside ClickHouse; returns its number of lines."""
    if path.stat().st_size == 0:
        return 0
    try:
        return _load(store, path, entry, opts, progress)
    except Exception as exc:
        text = str(exc)
        if "inflate failed" in text or "ZLIB_INFLATE" in text or "Unexpected end of" in text:
            why = re.search(r"inflate failed: [^:]*", text)
            detail = why.group(0) if why else "zlib error"
            raise CorruptFile(f"corrupt or truncated gzip ({detail})") from None
        raise


def _load(store: ClickHouseStore, path: Path, entry: FileEntry, opts: IngestOptions,
          progress: Callable[[int], None] | None) -> int:
    with tempfile.TemporaryDirectory(prefix="cdnctl-") as tmp:
        source = f"file({q(_safe_path(path, tmp))}, 'LineAsString', 'line String')"
        fmt = opts.fmt
        directives: list[tuple[int, str]] = []
        if fmt.is_w3c:
            sep = "\t" if fmt.notation == "cloudfront" else " "
            directives = _directives(store, source)
            queries = [w3c_query(names, w3c_fields(names or [], fmt.notation == "cloudfront"), sep, opts.site,
                                 opts.pseudo, source, first, last)
                       for names, first, last in _segments(store, source, directives)]
        else:
            queries = [token_query(fmt.tokens, opts.site, opts.pseudo, source)]
        cols = ", ".join(COLUMNS)
        select = ", ".join(f"ifNull({c}, {NOT_NULL[c]})" if c in NOT_NULL else c for c in COLUMNS)
        raw = f"if(_reason = '', '', substringUTF8(_l, 1, {RAW_MAX}))"
        for sql in queries:       # one pass: the buffer's views route records and quarantined lines
            store.command(f"INSERT INTO ingest_buffer ({cols}, file_id, line_no, file, reason, raw) "
                          f"SELECT {select}, {entry.file_id}, _line_no, {q(entry.name)}, _reason, {raw} "
                          f"FROM ({sql})", settings=SETTINGS)
        records, quarantined = store.count_file(entry.file_id)
        lines = records + quarantined + len(directives)
        if progress:
            progress(lines)
        return lines
