"""Expected figures for the real-world log fixtures, computed from the file bytes alone.

A deliberately simple, test-only reader written from the formats' own documentation. It
imports nothing from ``loggest`` or ``cdnctl``: its figures are what the ingestion is
compared with, so they must not come from the code under test.

Sources of the rules:

- W3C Extended Log File Format, working draft WD-logfile-960323
  (https://www.w3.org/TR/WD-logfile.html): directives start with ``#``; ``#Fields:``
  lists the columns of the lines that follow (it may appear again later in a file);
  values are separated by whitespace; a value may be a double-quoted string (``""``
  inside stands for one quote, the quotes are not part of the value); ``-`` is an
  absent value; ``time-taken`` is in seconds. What real producers add: several spaces
  or tabs between values (Oracle Web Cache, IIS Advanced Logging), IIS
  ``time-taken`` in milliseconds (learn.microsoft.com, "Configure Logging in IIS":
  "time-taken: the length of time that the action took, in milliseconds"), IIS
  Advanced Logging ``date-local``/``time-local`` and its ``TimeTakenMS`` field
  ("Time Taken (ms)" in the module's default field list), a UTF-8 BOM written before
  the first line (it is not data), blank lines (not data).
- Amazon CloudFront standard logs (docs.aws.amazon.com, "Standard logging (access
  logs)", "Standard log file fields"): ``#Version``/``#Fields`` headers, then one
  tab-separated line per request; ``sc-bytes`` is the response size; ``time-taken``
  is in seconds to the thousandth; ``cs(Host)`` is the distribution's own domain and
  ``x-host-header`` the host the viewer asked for (the site); ``x-edge-result-type``
  is Hit, RefreshHit, OriginShieldHit, Miss, LimitExceeded, CapacityExceeded, Error or
  Redirect.
- NCSA combined (Apache ``LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\"
  \\"%{User-agent}i\\""``, nginx's predefined ``combined``), varnishncsa's default
  format (the same fields; varnishncsa writes the request line with the absolute URL,
  ``GET http://host/path HTTP/1.1``, varnishncsa(1)), and the ingress-nginx default
  ``log-format-upstream`` (nginx ``$request_time`` in seconds with milliseconds; the
  ``$upstream_*`` variables hold comma-separated lists when several upstreams were
  tried, nginx ngx_http_upstream_module documentation).

Lines: a line is a ``\\n``-terminated piece of the file, plus a final unterminated
piece if there is one (such a file is truncated: the ingestion must refuse it). A
trailing ``\\r`` belongs to the line ending. Bytes that are not UTF-8 (a Latin-1 user
agent) do not make a line unreadable: they are decoded as U+FFFD.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

BOM = b"\xef\xbb\xbf"
KINDS = ("w3c", "cloudfront", "combined", "varnishncsa", "ingress-nginx")

# CloudFront x-edge-result-type → cache class (AWS "Standard log file fields").
# Redirect: "The server redirected the viewer from HTTP to HTTPS according to the
# distribution settings" — the edge answers by itself, from its configuration, without
# asking the origin and without an error: for the CDN share (SPEC §5, hit / (hit + miss
# + pass); origin requests = miss + pass) it is a request the CDN absorbed, so it counts
# as a hit. It is neither a miss nor a pass (nothing went to the origin) nor an error
# (it is the intended answer).
CLOUDFRONT_CACHE = {
    "Hit": "hit", "RefreshHit": "hit", "OriginShieldHit": "hit", "Redirect": "hit",
    "Miss": "miss",
    "Error": "error", "LimitExceeded": "error", "CapacityExceeded": "error",
}

_Q = r'"((?:[^"\\]|\\.)*)"'                 # a double-quoted log value (\" escaped inside)
COMBINED = re.compile(
    r"(\S+) (\S+) (\S+) \[([^\]]+)\] " + _Q + r" (\d{3}) (\d+|-) " + _Q + " " + _Q
)
_LIST = r"((?:\S+, )*\S*[^\s,])"             # an nginx $upstream_* value: "a, b, c" or "-"
INGRESS = re.compile(
    r"(\S+) - (\S+) \[([^\]]+)\] " + _Q + r" (\d{3}) (\d+) " + _Q + " " + _Q
    + r" (\d+) (\d+(?:\.\d+)?) \[([^\]]*)\] \[([^\]]*)\] "
    + " ".join([_LIST] * 4) + r" (\S+)"
)


class Rejected(Exception):
    """The line is data but cannot be a record (the ingestion must quarantine it)."""


@dataclass
class Figures:
    lines: int = 0
    records: int = 0
    directives: int = 0
    blank: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    bytes: int = 0
    status: dict[str, int] = field(default_factory=lambda: {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0})
    timed: int | None = 0                   # records with a time taken; None: unit not established
    time_us: int | None = 0
    sites: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    cache: dict[str, int] = field(default_factory=lambda: {"hit": 0, "miss": 0, "pass": 0, "error": 0})
    unterminated: bool = False              # last line without "\n": a truncated file


def file_lines(data: bytes) -> tuple[list[str], bool]:
    """The file's lines (decoded, line ending removed) and whether the last is cut."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if not data:
        return [], False
    pieces = data.split(b"\n")
    unterminated = pieces[-1] != b""
    if not unterminated:
        pieces.pop()
    if pieces and pieces[0].startswith(BOM):
        pieces[0] = pieces[0][len(BOM):]
    out = []
    for raw in pieces:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        out.append(raw.decode("utf-8", "replace"))
    return out, unterminated


def host_of(value: str) -> str:
    """Lower-case host name without port (``[v6]:port`` keeps the address)."""
    host = value.strip().lower()
    if host.startswith("["):
        return host[: host.index("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def status_class(f: Figures, value: str) -> None:
    if not value.isdigit():
        raise Rejected(f"status {value!r} is not a number")
    cls = f"{int(value) // 100}xx"
    if cls in f.status:
        f.status[cls] += 1


def add_time(f: Figures, value: str, unit_us: int | None) -> None:
    if value == "-":
        return
    if unit_us is None:                     # the producer's unit is not established
        f.timed = f.time_us = None
        return
    try:
        us = Decimal(value) * unit_us
    except InvalidOperation:
        raise Rejected(f"time taken {value!r} is not a number") from None
    if f.timed is not None and f.time_us is not None:
        f.timed += 1
        f.time_us += int(us)


def add_bytes(f: Figures, value: str) -> None:
    if value == "-":
        return
    if not value.isdigit():
        raise Rejected(f"bytes {value!r} is not a number")
    f.bytes += int(value)


# ---- W3C extended (and CloudFront) ----

def w3c_values(line: str) -> list[str]:
    """Split a W3C data line: runs of spaces/tabs separate values; "…" quoting, "" = "."""
    values: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] in " \t":
            i += 1
            continue
        if line[i] == '"':
            parts, j = [], i + 1
            while True:
                k = line.find('"', j)
                if k < 0:
                    raise Rejected("unterminated quoted value")
                parts.append(line[j:k])
                if k + 1 < n and line[k + 1] == '"':
                    parts.append('"')
                    j = k + 2
                    continue
                break
            i = k + 1
            if i < n and line[i] not in " \t":
                raise Rejected("text right after a closing quote")
            values.append("".join(parts))
        else:
            j = i
            while j < n and line[j] not in " \t":
                j += 1
            values.append(line[i:j])
            i = j
    return values


@dataclass
class W3CState:
    fields: list[str] | None = None
    software: str = ""


def w3c_time_unit(state: W3CState, name: str, cloudfront: bool) -> int | None:
    """Microseconds per unit of a time field, per the producer's documentation."""
    if name == "timetakenms":               # IIS Advanced Logging: "Time Taken (ms)"
        return 1000
    if cloudfront:
        return 1_000_000                    # seconds, to the thousandth
    if "microsoft internet information services" in state.software.lower():
        return 1000                         # IIS: milliseconds
    if "oracle" in state.software.lower():
        # Oracle Web Cache writes W3C files, but the unit of its time-taken could not be
        # established from its documentation (the W3C draft says seconds; the public
        # sample's 370879 looks like microseconds): not compared.
        return None
    return 1_000_000                        # W3C working draft: seconds


def w3c_directive(state: W3CState, line: str) -> None:
    name, _, rest = line[1:].partition(":")
    if name.strip().lower() == "fields":
        state.fields = [n.lower() for n in rest.split()]
    elif name.strip().lower() == "software":
        state.software = rest.strip()


def w3c_record(f: Figures, state: W3CState, line: str, site: str | None, cloudfront: bool) -> None:
    if state.fields is None:
        raise Rejected("data line before any #Fields: directive")
    values = line.split("\t") if cloudfront else w3c_values(line)
    if len(values) != len(state.fields):
        raise Rejected(f"{len(values)} values for {len(state.fields)} #Fields")
    row = dict(zip(state.fields, values, strict=True))

    def get(*names: str) -> str:
        for n in names:
            v = row.get(n, "-")
            if v not in ("-", ""):
                return v
        return "-"

    if not ((get("date") != "-" and get("time") != "-")
            or (get("date-local") != "-" and get("time-local") != "-")):
        raise Rejected("no date and time (date time, or date-local time-local)")
    stem = get("cs-uri-stem")
    path = stem if stem != "-" else get("cs-uri").split("?", 1)[0]
    host = get("x-host-header") if cloudfront else get("cs-host", "cs(host)")
    if host == "-" and site is None:
        raise Rejected("no host and no --site")
    status = get("sc-status")
    if status != "-":
        status_class(f, status)
    add_bytes(f, get("sc-bytes", "bytes"))
    for name in ("time-taken", "timetakenms"):
        if name in row:
            add_time(f, get(name), w3c_time_unit(state, name, cloudfront))
    if cloudfront and get("x-edge-result-type") in CLOUDFRONT_CACHE:
        f.cache[CLOUDFRONT_CACHE[get("x-edge-result-type")]] += 1
    f.sites.add(host_of(host) if host != "-" else host_of(site or ""))
    if path != "-":
        f.paths.add(path)


# ---- NCSA combined, varnishncsa, ingress-nginx ----

def clf_time(value: str) -> None:
    try:
        datetime.strptime(value, "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        raise Rejected(f"time {value!r} is not [dd/Mon/yyyy:hh:mm:ss +zzzz]") from None


def request_target(request: str) -> str:
    parts = request.split(" ")
    if len(parts) != 3:
        raise Rejected(f"request line {request!r} is not 'METHOD target PROTOCOL'")
    return parts[1]


def ncsa_record(f: Figures, kind: str, line: str, site: str | None) -> None:
    if kind == "ingress-nginx":
        m = INGRESS.fullmatch(line)
        if m is None:
            raise Rejected("does not match the ingress-nginx log format")
        time, request, status, size = m.group(3), m.group(4), m.group(5), m.group(6)
        request_time: str | None = m.group(10)
    else:
        m = COMBINED.fullmatch(line)
        if m is None:
            raise Rejected("does not match the combined log format")
        time, request, status, size = m.group(4), m.group(5), m.group(6), m.group(7)
        request_time = None
    clf_time(time)
    target = request_target(request)
    host = None
    if kind == "varnishncsa" and target.startswith(("http://", "https://")):
        url = urlsplit(target)
        host, path = url.netloc, url.path or "/"
    else:
        path = target.split("?", 1)[0]
    if host is None and site is None:
        raise Rejected("no host and no --site")
    status_class(f, status)
    add_bytes(f, size)
    if request_time is not None:
        add_time(f, request_time, 1_000_000)
    f.sites.add(host_of(host if host is not None else site or ""))
    f.paths.add(path)


def figures(data: bytes, kind: str, site: str | None = None) -> Figures:
    """Everything the ingestion of ``data`` (a whole file, maybe gzip) must account for."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    lines, unterminated = file_lines(data)
    f = Figures(lines=len(lines), unterminated=unterminated)
    state = W3CState()
    w3c_like = kind in ("w3c", "cloudfront")
    for number, line in enumerate(lines, start=1):
        if line.strip(" \t") == "":
            f.blank += 1
            continue
        if w3c_like and line.startswith("#"):
            f.directives += 1
            w3c_directive(state, line)
            continue
        before = (f.bytes, dict(f.status), f.timed, f.time_us, set(f.sites), set(f.paths), dict(f.cache))
        try:
            if w3c_like:
                w3c_record(f, state, line, site, cloudfront=kind == "cloudfront")
            else:
                ncsa_record(f, kind, line, site)
        except Rejected as exc:
            # a rejected line contributes nothing: put back what it may have counted
            f.bytes, f.status, f.timed, f.time_us, f.sites, f.paths, f.cache = before
            f.rejected.append((number, str(exc)))
            continue
        f.records += 1
    return f
