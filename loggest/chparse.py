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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loggest.formats.model import COLUMNS, Field
from loggest.formats.reference import token_time_unit, w3c_fields, w3c_time_unit
from loggest.formats.sql import MAX_LINE_BYTES, line_expr, q, token_query, w3c_query
from loggest.scan import TRUNCATED, check, is_gzip
from loggest.store.schema import RAW_MAX

if TYPE_CHECKING:
    from loggest.ingest import IngestOptions
    from loggest.store.clickhouse import ClickHouseStore, FileEntry

# The buffer's three views (records, quarantine, line counts) run side by side: about a
# third of the ingest time on 2 cores (bench/bench_ingest.py).
# A memory cap per ingest query: ClickHouse reads a line whole, so one huge line (200 MB
# in a 200 KB gzip) would cost gigabytes; past the cap the file goes to the Python engine,
# which reads lines in bounded pieces. Ordinary files need far less (bench/bench_ingest.py).
MEMORY_CAP = 2_000_000_000
# Smaller insert blocks and one parsing thread: peak RSS on 3,000,000 lines 1.5 → 1.16 GB,
# same speed (bench/bench_memory.py); 262,144-row parts keep the part count low.
SETTINGS = {"short_circuit_function_evaluation": "disable", "parallel_view_processing": 1,
            "max_memory_usage": MEMORY_CAP, "input_format_parallel_parsing": 0,
            "min_insert_block_size_rows": 262_144, "min_insert_block_size_bytes": 64 << 20}
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


class TooBig(Exception):
    """The file needs more memory than MEMORY_CAP in ClickHouse (a very long line)."""


def _directives(store: ClickHouseStore, source: str, max_line: int = MAX_LINE_BYTES) -> list[tuple[int, str]]:
    """``#`` lines (a line over the limit is quarantined, never a directive: as the Python engine)."""
    return store.rows(f"SELECT _line_no, _l FROM (SELECT _row_number + 1 AS _line_no, "
                      f"{line_expr('line', max_line)} AS _l, length(line) AS _n FROM {source}) "
                      f"WHERE startsWith(_l, '#') AND _n <= {int(max_line)} ORDER BY 1")


@dataclass
class Segment:
    """Lines ``first``..``last`` under one ``#Fields:`` directive (``names`` None: before any)."""

    names: list[str] | None
    first: int
    last: int
    unit: str = "s"
    unit_why: str = ""


def segments(directives: list[tuple[int, str]], cloudfront: bool, time_unit: str = "auto") -> list[Segment]:
    """W3C: one segment per #Fields: directive; the time-taken unit from the #Software seen
    before it (as :class:`reference.W3CParser`)."""
    out: list[Segment] = []
    start, names, software = 1, None, None
    unit, why = w3c_time_unit(time_unit, software, cloudfront)
    for line_no, text in directives:
        if text.startswith("#Software:"):
            software = text[len("#Software:"):].strip()
            continue
        if not text.startswith("#Fields:"):
            continue
        if line_no > start:
            out.append(Segment(names, start, line_no - 1, unit, why))
        names = text[len("#Fields:"):].split()
        unit, why = w3c_time_unit(time_unit, software, cloudfront)
        start = line_no
    out.append(Segment(names, start, 2**32 - 1, unit, why))
    return out


def time_unit_label(segs: list[Segment], cloudfront: bool) -> str:
    labels: list[str] = []
    for seg in segs:
        if seg.names and any(f.kind.startswith("tt_") for f in w3c_fields(seg.names, cloudfront, seg.unit)):
            label = f"{seg.unit.replace('us', 'µs')} ({seg.unit_why})"
            if label not in labels:
                labels.append(label)
    return "; ".join(labels)


def file_queries(store: ClickHouseStore, source: str, opts: IngestOptions) -> tuple[list[str], str]:
    """(SELECT queries giving every line of ``source`` with its kind, time-taken unit label)."""
    fmt = opts.fmt
    if not fmt.is_w3c:
        fields = [t for t in fmt.tokens if isinstance(t, Field)]
        query = token_query(fmt.tokens, opts.site, opts.pseudo, source, opts.local_tz, opts.max_line_bytes,
                            fmt.optional)
        return [query], token_time_unit(fields)
    cloudfront = fmt.notation == "cloudfront"
    segs = segments(_directives(store, source, opts.max_line_bytes), cloudfront, opts.time_unit)
    queries = [
        w3c_query(
            seg.names,
            w3c_fields(seg.names or [], cloudfront, seg.unit),
            "\t" if cloudfront else " ",
            opts.site,
            opts.pseudo,
            source,
            seg.first,
            seg.last,
            opts.local_tz,
            opts.max_line_bytes,
        )
        for seg in segs
    ]
    return queries, time_unit_label(segs, cloudfront)


def load_clickhouse(
    store: ClickHouseStore,
    path: Path,
    entry: FileEntry,
    opts: IngestOptions,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Parse and store one file inside ClickHouse; returns the time-taken unit label."""
    if path.stat().st_size == 0:
        return ""
    try:
        return _load(store, path, entry, opts, progress)
    except Exception as exc:
        text = str(exc)
        if "inflate failed" in text or "ZLIB_INFLATE" in text or "Unexpected end of" in text:
            why = re.search(r"inflate failed: [^:]*", text)
            detail = why.group(0) if why else "zlib error"
            raise CorruptFile(f"corrupt or truncated gzip ({detail})") from None
        if "MEMORY_LIMIT_EXCEEDED" in text or "Code: 241" in text:
            raise TooBig(f"the ClickHouse engine needed more than {MEMORY_CAP // 1_000_000} MB") from None
        raise


def _load(
    store: ClickHouseStore,
    path: Path,
    entry: FileEntry,
    opts: IngestOptions,
    progress: Callable[[int], None] | None,
) -> str:
    with tempfile.TemporaryDirectory(prefix="cdnctl-") as tmp:
        # The compression is what the bytes are, not what the name says (a gzip named .log).
        compression = "gzip" if is_gzip(path) else "none"
        source = f"file({q(_safe_path(path, tmp))}, 'LineAsString', 'line String', {q(compression)})"
        queries, unit = file_queries(store, source, opts)
        cols = ", ".join(COLUMNS)
        select = ", ".join(f"ifNull({c}, {NOT_NULL[c]})" if c in NOT_NULL else c for c in COLUMNS)
        raw = f"if(_kind = 'quarantine', substringUTF8(_l, 1, {RAW_MAX}), '')"
        # A record older than the raw retention would be removed by the records TTL at some
        # later merge: it is counted as 'old' instead, with the TTL's own expression.
        kind = (
            f"if(_kind = 'record' AND addMonths(time, {int(opts.retention_months)}) <= "
            f"toDateTime({q(opts.now.strftime('%Y-%m-%d %H:%M:%S'))}, 'UTC'), 'old', _kind)"
        )
        for sql in queries:  # one pass: the buffer's views route and count the lines
            store.command(
                f"INSERT INTO ingest_buffer ({cols}, file_id, line_no, file, reason, raw, kind, line_bytes) "
                f"SELECT {select}, {entry.file_id}, _line_no, {q(entry.name)}, "
                f"if(_kind = 'quarantine', _reason, ''), {raw}, {kind}, _bytes "
                f"FROM ({sql})",
                settings=SETTINGS,
            )
        if compression == "gzip":
            _check_gzip_end(store, path, entry)
        if progress:
            progress(sum(store.line_counts(entry.file_id).values()))
        return unit


def _check_gzip_end(store: ClickHouseStore, path: Path, entry: FileEntry) -> None:
    """ClickHouse's gzip reader checks the stream (a cut or corrupt gzip fails the query);
    a whole gzip whose content ends without a newline (a cut last line) is caught by the
    size trailer: the lines read, each with a newline, must make the uncompressed size. A
    file of several gzip members (the trailer then tells the last one only) is checked by
    decompressing it (scan.check), as the Python engine does."""
    with path.open("rb") as f:
        f.seek(-4, 2)
        isize = int.from_bytes(f.read(4), "little")
    read = store.line_bytes(entry.file_id)
    if read % 2**32 == isize:
        return
    if (read - 1) % 2**32 == isize:
        raise CorruptFile(TRUNCATED)
    _lines, error = check(path)
    if error:
        raise CorruptFile(error)
