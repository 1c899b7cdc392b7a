"""The vendor-neutral log model: record columns, field kinds, and format token lists.

A *format* is a list of tokens — literal text and fields — obtained from a named preset,
an Apache ``LogFormat`` string or an nginx ``log_format`` string (:mod:`.specs`), or a W3C
``#Fields:`` directive. Each field has a *kind* that says which record columns it fills
and how its text is converted; the Python reference parser (:mod:`.reference`) and the
ClickHouse compiler (:mod:`.sql`) implement every kind with the same semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

# Record columns, in the order parsers produce them (and the store's insert order).
COLUMNS: tuple[str, ...] = (
    "time", "tz_offset", "site", "client", "method", "path", "query", "protocol", "status",
    "bytes", "referer", "user_agent", "cache_status", "cache_class", "time_taken_us", "edge", "rule",
)
COL = {name: i for i, name in enumerate(COLUMNS)}

# kind → the record columns it fills (a field absent from a format leaves them NULL).
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "skip": (),
    "client": ("client",),
    "clf_time": ("time", "tz_offset"),      # 10/Oct/2000:13:55:36 -0700
    "iso_time": ("time", "tz_offset"),      # 2000-10-10T13:55:36+02:00 (nginx $time_iso8601)
    "msec": ("time", "tz_offset"),          # 971186136.123 (nginx $msec), UTC
    "w3c_date": ("time", "tz_offset"),      # 2000-10-10 (UTC), needs w3c_time
    "w3c_time": ("time", "tz_offset"),      # 13:55:36
    "w3c_ldate": ("time", "tz_offset"),     # date-local (IIS Advanced Logging): server's local time
    "w3c_ltime": ("time", "tz_offset"),     # time-local, read in the --local-tz zone
    "request": ("method", "path", "query", "protocol"),  # GET /a?b HTTP/1.1 (or an absolute URL:
                                            # its host then gives the site when no host field does)
    "method": ("method",),
    "uri": ("path",),                       # path without query
    "query_q": ("query",),                  # Apache %q: '' or '?a=b'
    "args": ("query",),                     # nginx $args, W3C cs-uri-query: '' or '-' = none
    "request_uri": ("path", "query"),       # /a?b
    "protocol": ("protocol",),
    "status": ("status",),
    "bytes": ("bytes",),                    # '-' means 0 (Apache %b)
    "referer": ("referer",),
    "user_agent": ("user_agent",),
    "host": ("site",),
    "cache": ("cache_status", "cache_class"),
    "tt_us": ("time_taken_us",),
    "tt_ms": ("time_taken_us",),
    "tt_s": ("time_taken_us",),             # seconds, decimals allowed (nginx $request_time)
    "edge": ("edge",),
    "rule": ("rule",),                      # id of the policy rule that decided (X-Cache-Rule): the
                                            # edge's own words; '' or '-' (none logged, absent) is NULL
}

# W3C date and time come as two fields (UTC, or the server's local time).
DATE_TIME_PARTS = frozenset({"w3c_date", "w3c_time", "w3c_ldate", "w3c_ltime"})
TIME_UNITS = {"us": 1, "ms": 1000, "s": 1_000_000}        # µs per unit


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class Field:
    kind: str
    name: str          # as written in the spec (%>s, $status, sc-status): for messages

    def __post_init__(self) -> None:
        if self.kind not in KIND_COLUMNS:
            raise ValueError(f"unknown field kind {self.kind!r}")


Token = Literal | Field


class FormatError(ValueError):
    """A format specification that cannot be used (message says where and why)."""


def merge_literals(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for tok in tokens:
        if isinstance(tok, Literal) and out and isinstance(out[-1], Literal):
            out[-1] = Literal(out[-1].text + tok.text)
        elif not (isinstance(tok, Literal) and tok.text == ""):
            out.append(tok)
    return out


def providers(tokens: list[Token]) -> dict[str, int]:
    """column → index of the field that fills it: the first field giving a column wins
    (``%r`` then ``%U`` gives the path from ``%r``). ``w3c_date`` + ``w3c_time`` together
    give the time."""
    out: dict[str, int] = {}
    for i, tok in enumerate(tokens):
        if isinstance(tok, Field) and tok.kind not in DATE_TIME_PARTS:
            for col in KIND_COLUMNS[tok.kind]:
                out.setdefault(col, i)
    return out
