"""Field text → record values, the pure-Python reference semantics of every field kind.

:mod:`.sql` implements the same conversions in ClickHouse SQL; the differential tests
(``tests/loggest/test_differential.py``) hold the two to identical output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from loggest.formats.cache_status import cache_class
from loggest.formats.model import COL, COLUMNS, DATE_TIME_PARTS, KIND_COLUMNS, Field

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = {m: i + 1 for i, m in enumerate(MONTHS)}
MIN_YEAR, MAX_YEAR = 1970, 2100     # ClickHouse DateTime range, with margin

CLF_TIME_RE = re.compile(r"[0-9][0-9]/[A-Z][a-z][a-z]/[0-9]{4}:[0-9][0-9]:[0-9][0-9]:[0-9][0-9] [+-][0-9]{4}")
ISO_TIME_RE = re.compile(
    r"[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9][+-][0-9][0-9]:[0-9][0-9]"
)
MSEC_RE = re.compile(r"[0-9]{1,10}(\.[0-9]{1,6})?")
W3C_DATE_RE = re.compile(r"[0-9]{4}-[0-9][0-9]-[0-9][0-9]")
W3C_TIME_RE = re.compile(r"[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?")   # fraction dropped
DECIMAL_RE = re.compile(r"[0-9]{1,12}(\.[0-9]+)?")
INT_RE = re.compile(r"[0-9]{1,18}")
STATUS_RE = re.compile(r"[0-9]{3}")
HOST_PORT_RE = re.compile(r":[0-9]+$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LineError(ValueError):
    """The line cannot become a record; the message is the quarantine reason."""


def _ascii_lower(value: str) -> str:
    return value.lower() if value.isascii() else "".join(c.lower() if c.isascii() else c for c in value)


def _dash_none(value: str) -> str | None:
    return None if value == "-" else value


def _quote(raw: str, n: int = 80) -> str:
    """A value as reasons show it: between single quotes, cut to ``n`` characters."""
    return "'" + raw[:n] + "'"


def _utc(year: int, month: int, day: int, hh: int, mm: int, ss: int, raw: str) -> datetime:
    if not (MIN_YEAR <= year < MAX_YEAR) or hh > 23 or mm > 59 or ss > 59:
        raise LineError(f"{_quote(raw)} is not a valid time")
    try:
        return datetime(year, month, day, hh, mm, ss, tzinfo=UTC)
    except ValueError:
        raise LineError(f"{_quote(raw)} is not a valid time") from None


_clf_cache: dict[str, tuple[datetime, int]] = {}


def clf_time(raw: str) -> tuple[datetime, int]:
    hit = _clf_cache.get(raw)
    if hit is not None:
        return hit
    if not CLF_TIME_RE.fullmatch(raw) or raw[3:6] not in _MONTH:
        raise LineError(f"{_quote(raw)} is not a valid time")
    offset = (int(raw[22:24]) * 60 + int(raw[24:26])) * (-1 if raw[21] == "-" else 1)
    local = _utc(int(raw[7:11]), _MONTH[raw[3:6]], int(raw[0:2]), int(raw[12:14]), int(raw[15:17]),
                 int(raw[18:20]), raw)
    result = (local - timedelta(minutes=offset), offset)
    if len(_clf_cache) > 4096:
        _clf_cache.clear()
    _clf_cache[raw] = result
    return result


def iso_time(raw: str) -> tuple[datetime, int]:
    if not ISO_TIME_RE.fullmatch(raw):
        raise LineError(f"{_quote(raw)} is not a valid time")
    offset = (int(raw[20:22]) * 60 + int(raw[23:25])) * (-1 if raw[19] == "-" else 1)
    local = _utc(int(raw[0:4]), int(raw[5:7]), int(raw[8:10]), int(raw[11:13]), int(raw[14:16]),
                 int(raw[17:19]), raw)
    return local - timedelta(minutes=offset), offset


def msec_time(raw: str) -> tuple[datetime, int]:
    if not MSEC_RE.fullmatch(raw):
        raise LineError(f"{_quote(raw)} is not a valid time")
    when = _EPOCH + timedelta(seconds=int(raw.partition(".")[0]))
    if when.year >= MAX_YEAR:
        raise LineError(f"{_quote(raw)} is not a valid time")
    return when, 0


def _w3c_parts(date: str, time: str) -> tuple[int, int, int, int, int, int]:
    raw = f"{date} {time}"
    if not W3C_DATE_RE.fullmatch(date) or not W3C_TIME_RE.fullmatch(time):
        raise LineError(f"{_quote(raw)} is not a valid date and time")
    parts = (int(date[0:4]), int(date[5:7]), int(date[8:10]), int(time[0:2]), int(time[3:5]), int(time[6:8]))
    try:
        _utc(*parts, raw)
    except LineError:
        raise LineError(f"{_quote(raw)} is not a valid date and time") from None
    return parts


def w3c_time(date: str, time: str) -> tuple[datetime, int]:
    """W3C ``date`` + ``time``: UTC (the working draft)."""
    return datetime(*_w3c_parts(date, time), tzinfo=UTC), 0


def w3c_local_time(date: str, time: str, zone: ZoneInfo) -> tuple[datetime, int]:
    """``date-local`` + ``time-local`` (IIS Advanced Logging) in the server's zone. A time the
    zone skips (the spring DST change) is refused; a repeated one is its first occurrence."""
    local = datetime(*_w3c_parts(date, time), tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):  # in the DST gap
        raise LineError(f"{_quote(f'{date} {time}')} does not exist in {zone.key} (DST change)")
    offset = local.utcoffset()
    return utc, int(offset.total_seconds()) // 60 if offset is not None else 0


def split_target(target: str) -> tuple[str, str | None]:
    path, sep, query = target.partition("?")
    return path, (query if sep else None)


def absolute_target(target: str) -> tuple[str | None, str]:
    """``http://Host:80/a?b`` (varnishncsa's %r) → (host text, ``/a?b``); a path → (None, path)."""
    at = target.find("://")
    if at < 0 or _ascii_lower(target[:at]) not in ("http", "https"):
        return None, target
    rest = target[at + 3:]
    slash, qmark = rest.find("/"), rest.find("?")
    cut = slash if slash >= 0 and (qmark < 0 or slash < qmark) else qmark if qmark >= 0 else len(rest)
    tail = rest[cut:]
    return rest[:cut], ("/" + tail if tail.startswith("?") else tail or "/")


def request(raw: str) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """(method, path, query, protocol, host of an absolute URL)."""
    parts = raw.split(" ")
    if len(parts) in (2, 3):
        url_host, target = absolute_target(parts[1])
        path, query = split_target(target)
        return parts[0], path, query, parts[2] if len(parts) == 3 else None, url_host
    return None, None, None, None, None  # '-', TLS probes, garbage: kept, fields NULL


def integer(raw: str, what: str) -> int:
    if not INT_RE.fullmatch(raw):
        raise LineError(f"{_quote(raw)} is not {what}")
    return int(raw)


def micros(raw: str, scale: int) -> int | None:
    """Decimal text in a unit worth ``scale`` µs → integer µs (extra digits truncated)."""
    if raw == "-":
        return None
    if not DECIMAL_RE.fullmatch(raw):
        raise LineError(f"{_quote(raw)} is not a duration")
    whole, _, frac = raw.partition(".")
    digits = len(str(scale)) - 1
    return int(whole) * scale + (int((frac + "000000")[:digits]) if digits else 0)


def status(raw: str) -> int | None:
    if raw == "-":
        return None
    if not STATUS_RE.fullmatch(raw):
        raise LineError(f"{_quote(raw)} is not an HTTP status (3 digits)")
    return int(raw)


def host(raw: str) -> str | None:
    if raw in ("-", ""):
        return None
    return HOST_PORT_RE.sub("", _ascii_lower(raw))


def cache(raw: str) -> tuple[str | None, str]:
    value = None if raw in ("-", "") else raw
    return value, cache_class(value)


def query_q(raw: str) -> str | None:
    return raw[1:] if raw.startswith("?") else None


def args(raw: str) -> str | None:
    return None if raw in ("", "-") else raw


def rule(raw: str) -> str | None:
    """The rule id an edge logged, verbatim: '-' (nginx, varnishncsa: no such header) and ''
    (an optional field the line does not have) mean none; never guessed from the policy."""
    return None if raw in ("", "-") else raw


# kind → function(raw) → values for KIND_COLUMNS[kind]
CONVERTERS: dict[str, Callable[[str], tuple[object, ...]]] = {
    "client": lambda v: (_dash_none(v),),
    "clf_time": clf_time,
    "iso_time": iso_time,
    "msec": msec_time,
    "request": request,
    "method": lambda v: (_dash_none(v),),
    "uri": lambda v: (_dash_none(v),),
    "query_q": lambda v: (query_q(v),),
    "args": lambda v: (args(v),),
    "request_uri": lambda v: split_target(v) if v != "-" else (None, None),
    "protocol": lambda v: (_dash_none(v),),
    "status": lambda v: (status(v),),
    "bytes": lambda v: (0 if v == "-" else integer(v, "a byte count"),),
    "referer": lambda v: (_dash_none(v),),
    "user_agent": lambda v: (_dash_none(v),),
    "host": lambda v: (host(v),),
    "cache": cache,
    "tt_us": lambda v: (micros(v, 1),),
    "tt_ms": lambda v: (micros(v, 1000),),
    "tt_s": lambda v: (micros(v, 1_000_000),),
    "edge": lambda v: (_dash_none(v),),
    "rule": lambda v: (rule(v),),
}

NO_SITE = "no site: the line has no host (host field '-' or absent, no absolute URL) and no --site was given"


def no_time_reason(fields: Sequence[Field]) -> str:
    names = " ".join(f.name for f in fields)
    return f"time: no time field in the format ({names[:200]})"


class RecordBuilder:
    """Field texts (in the order of ``fields``) → one record row (a list in COLUMNS order).

    The first field giving a column wins; W3C ``date`` + ``time`` (UTC) or ``date-local`` +
    ``time-local`` (``local_tz``) give the time. The site is the host field, else the host of
    an absolute request URL, else ``site``. A conversion error names its field:
    ``sc-status: 'abc' is not an HTTP status (3 digits)``.
    """

    def __init__(self, fields: Sequence[Field], site: str | None = None,
                 local_tz: str = "Europe/Paris") -> None:
        self.site = site
        self.fields = list(fields)
        self.zone = ZoneInfo(local_tz)
        self.plan: list[tuple[int, Callable[[str], tuple[object, ...]], list[tuple[int, int]]]] = []
        taken: set[str] = set()
        at = {kind: next((i for i, f in enumerate(fields) if f.kind == kind), -1) for kind in DATE_TIME_PARTS}
        self.request_at = -1
        for i, field in enumerate(fields):
            if field.kind in DATE_TIME_PARTS:
                continue
            cols = KIND_COLUMNS[field.kind]
            slots = [(j, COL[c]) for j, c in enumerate(cols) if c not in taken]
            if slots:
                taken.update(c for c in cols)
                self.plan.append((i, CONVERTERS[field.kind], slots))
                if field.kind == "request":
                    self.request_at = i
        self.date_at = self.time_at = -1
        self.local = False
        if "time" not in taken:
            if at["w3c_date"] >= 0 and at["w3c_time"] >= 0:
                self.date_at, self.time_at = at["w3c_date"], at["w3c_time"]
            elif at["w3c_ldate"] >= 0 and at["w3c_ltime"] >= 0:
                self.date_at, self.time_at, self.local = at["w3c_ldate"], at["w3c_ltime"], True
        self.has_time = "time" in taken or self.date_at >= 0
        self.has_host = "site" in taken
        self.no_time = no_time_reason(self.fields)

    def build(self, values: Sequence[str]) -> list[object]:
        row: list[object] = [None] * len(COLUMNS)
        url_host = None
        for i, conv, slots in self.plan:
            try:
                out = conv(values[i])
            except LineError as exc:
                raise LineError(f"{self.fields[i].name}: {exc}") from None
            for j, col in slots:
                row[col] = out[j]
            if i == self.request_at:
                url_host = out[4]
        if self.date_at >= 0:
            date, time = values[self.date_at], values[self.time_at]
            try:
                row[0], row[1] = w3c_local_time(date, time, self.zone) if self.local else w3c_time(date, time)
            except LineError as exc:
                names = f"{self.fields[self.date_at].name} {self.fields[self.time_at].name}"
                raise LineError(f"{names}: {exc}") from None
        if row[0] is None:
            raise LineError(self.no_time)
        if row[2] is None:
            row[2] = host(url_host) if url_host is not None else None
            if row[2] is None:
                row[2] = self.site
            if row[2] is None:
                raise LineError(NO_SITE)
        return row
