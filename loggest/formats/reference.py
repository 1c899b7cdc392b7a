"""The pure-Python reference parser: one line of text → one record row, or a reason.

Slow but obvious; it defines what every faster path must produce (differential tests).
Token formats compile to one anchored regular expression whose syntax is shared by
Python ``re`` and RE2 (ClickHouse ``extractGroups``), so the SQL fallback path uses the
very same expression.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from loggest.formats.convert import LineError, RecordBuilder
from loggest.formats.model import Field, Literal, Token

# Fields that may contain spaces when they are not between quotes.
SPACEY_KINDS = frozenset({"request", "referer", "user_agent"})
QUOTED = r'((?:[^"\\]|\\.)*)'


_META = frozenset(".^$*+?()[]{}|\\")


def escape(text: str) -> str:
    """Escape regex metacharacters only (RE2 rejects some of Python's escapes)."""
    return "".join("\\" + c if c in _META else c for c in text)


def token_regex(tokens: Sequence[Token], optional: int = 0) -> str:
    """The anchored regex (Python ``re`` and RE2 compatible) with one group per field.

    The last ``optional`` tokens may be absent all together (a preset that gained a field:
    the lines written before still parse); the groups of an absent tail match nothing and
    read as ''. The tokens before the tail read as they would without it, except that a
    last field reading to the end of the line stops, lazily, where the tail begins."""
    if not optional:
        return "^" + "".join(token_parts(tokens)) + "$"
    cut = len(tokens) - optional
    head = token_parts(tokens[:cut])
    if head and head[-1] == "(.*)":
        head[-1] = "(.*?)"
    return "^" + "".join(head) + "(?:" + "".join(token_parts(tokens)[cut:]) + ")?$"


def token_parts(tokens: Sequence[Token]) -> list[str]:
    """One regex piece per token (a field's piece depends on the literal that follows it)."""
    parts: list[str] = []
    for i, tok in enumerate(tokens):
        if isinstance(tok, Literal):
            parts.append(escape(tok.text))
            continue
        prev = tokens[i - 1] if i > 0 else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        quoted = (isinstance(prev, Literal) and prev.text.endswith('"')
                  and isinstance(nxt, Literal) and nxt.text.startswith('"'))
        if quoted:
            parts.append(QUOTED)
        elif not isinstance(nxt, Literal):
            parts.append("(.*)")
        elif tok.kind in SPACEY_KINDS:
            parts.append("(.*?)")
        else:
            stop = nxt.text[0]
            cls = "[^" + ("\\" + stop if stop in "\\]^-[" else stop) + "]*"
            spaces = 1 if tok.kind == "clf_time" else 0
            parts.append("(" + " ".join([cls] * (spaces + 1)) + ")")
    return parts


def diagnose(tokens: Sequence[Token], line: str, optional: int = 0) -> str:
    """Where a line that does not match its format stops matching: the longest prefix of
    the format that matches, and what was expected next. For people (``logs rejects``);
    the stored reason stays ``does not match the format`` on both engines. With an optional
    tail, the shape (with or without it) that reads further is the one described."""
    if optional:
        shapes = [_diagnose(tokens[:len(tokens) - optional], line), _diagnose(tokens, line)]
        return max(shapes, key=lambda s: s[0])[1]
    return _diagnose(tokens, line)[1]


def _diagnose(tokens: Sequence[Token], line: str) -> tuple[int, str]:
    parts = token_parts(tokens)
    for k in range(len(parts), -1, -1):
        m = re.match("".join(parts[:k]), line, re.DOTALL)
        if m is not None:
            break
    at = m.end() if m is not None else 0
    found = "'" + line[at:at + 24] + "'" if at < len(line) else "the end of the line"
    if k == len(parts):
        return at, f"unexpected text at column {at + 1}: {found}"
    nxt = tokens[k]
    after = ""
    prev = next((t for t in reversed(tokens[:k]) if isinstance(t, Field)), None)
    if prev is not None:
        after = f" after {prev.name}"
    if isinstance(nxt, Literal):
        return at, f"expected {nxt.text!r}{after} at column {at + 1}, found {found}"
    return at, f"{nxt.name} cannot be read{after} at column {at + 1}, found {found}"


BOM = "\ufeff"


def clean_line(raw: bytes) -> str:
    """Bytes of one line (without its newline) → text as ClickHouse ``toValidUTF8`` gives it."""
    return decode_line(raw[:-1] if raw.endswith(b"\r") else raw)


def decode_line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return re.sub("\ufffd+", "\ufffd", raw.decode("utf-8", "replace"))


def is_blank(text: str) -> bool:
    """Empty or only spaces/tabs: not data (counted as blank)."""
    return text.strip(" \t") == ""


class TokenParser:
    """Parser for CLF, combined, varnishncsa and any Apache/nginx format string."""

    def __init__(
        self, tokens: Sequence[Token], site: str | None = None, local_tz: str = "Europe/Paris",
        optional: int = 0,
    ) -> None:
        self.tokens = list(tokens)
        self.fields = [t for t in tokens if isinstance(t, Field)]
        self.regex = re.compile(token_regex(tokens, optional), re.DOTALL)
        self.builder = RecordBuilder(self.fields, site, local_tz)
        self.time_unit = token_time_unit(self.fields)

    def parse(self, line: str) -> list[object] | None:
        m = self.regex.fullmatch(line)
        if m is None:
            raise LineError("does not match the format")
        return self.builder.build(m.groups(""))  # a field of an absent optional tail reads ''



_TT_UNIT = {"tt_us": "µs", "tt_ms": "ms", "tt_s": "s"}


def token_time_unit(fields: Sequence[Field]) -> str:
    """The unit of the time-taken field, as shown in ``logs status`` (e.g. ``µs (%D)``)."""
    for f in fields:
        if f.kind in _TT_UNIT:
            return f"{_TT_UNIT[f.kind]} ({f.name})"
    return ""


W3C_FIELDS: dict[str, str] = {
    "date": "w3c_date",
    "time": "w3c_time",
    "date-local": "w3c_ldate",
    "time-local": "w3c_ltime",
    "c-ip": "client",
    "cs-method": "method",
    "cs-uri-stem": "uri",
    "cs-uri-query": "args",
    "cs-uri": "request_uri",
    "sc-status": "status",
    "sc-bytes": "bytes",
    "bytes": "bytes",
    "cs-host": "host",
    "x-host-header": "host",
    "cs-version": "protocol",
    "cs-protocol-version": "protocol",
    "x-cache": "cache",
    "x-cache-status": "cache",
    "x-edge-result-type": "cache",
    "s-computername": "edge",
    "s-ip": "edge",
    "x-edge-location": "edge",
    "timetakenms": "tt_ms",  # IIS Advanced Logging's "Time Taken (ms)"
    "x-cache-rule": "rule",
}
# cs(Header) / sc(Header): request and response headers (W3C draft "prefix(header)").
W3C_REQUEST_HEADERS = {
    "referer": "referer",
    "referrer": "referer",
    "user-agent": "user_agent",
    "host": "host",
}
W3C_RESPONSE_HEADERS = {"x-cache": "cache", "x-cache-status": "cache", "cache-status": "cache",
                        "x-cache-rule": "rule"}
_HEADER_FIELD = re.compile(r"(cs|sc|s|c|x)\((.+)\)")
# IIS writes time-taken in milliseconds (Microsoft's documentation); the working draft and
# CloudFront in seconds.
_IIS = re.compile(r"\biis\b|internet information services", re.IGNORECASE)
TIME_UNIT_CHOICES = ("auto", "s", "ms", "us")


def w3c_time_unit(option: str, software: str | None, cloudfront: bool) -> tuple[str, str]:
    """(``s``/``ms``/``us``, why) for a W3C ``time-taken`` field."""
    if option != "auto":
        return option, "--time-taken-unit"
    if cloudfront:
        return "s", "CloudFront"
    if software and _IIS.search(software):
        return "ms", f"#Software: {software[:60]}"
    return "s", "W3C draft" + (f", #Software: {software[:60]}" if software else "")


def w3c_kind(name: str, cloudfront: bool, unit: str) -> str:
    low = name.lower()
    if low == "time-taken":
        return {"s": "tt_s", "ms": "tt_ms", "us": "tt_us"}[unit]
    if cloudfront and low == "cs(host)":
        return "skip"  # CloudFront: cs(Host) is the distribution's domain; the site is x-host-header
    if low in W3C_FIELDS:
        return W3C_FIELDS[low]
    m = _HEADER_FIELD.fullmatch(low)
    if m:
        table = W3C_REQUEST_HEADERS if m.group(1) in ("cs", "c") else W3C_RESPONSE_HEADERS
        return table.get(m.group(2), "skip")
    return "skip"  # unknown identifiers are kept as columns of the line, not stored


def w3c_fields(names: Sequence[str], cloudfront: bool = False, unit: str = "s") -> list[Field]:
    return [Field(w3c_kind(n, cloudfront, unit), n) for n in names]


# One W3C value: a double-quoted string ("" inside stands for a quote) or a run of non-blanks.
# The same expression runs in ClickHouse (RE2, extractAll): both engines split alike.
W3C_VALUE_RE = '"(?:[^"]|"")*"|[^ \\t]+'
_W3C_VALUE = re.compile(W3C_VALUE_RE)


def w3c_unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('""', '"')
    return value


def w3c_values(line: str) -> list[str]:
    """Fields separated by one or more spaces or tabs; quoted strings may hold spaces."""
    return [w3c_unquote(v) for v in _W3C_VALUE.findall(line)]


class W3CParser:
    """W3C extended log files (and CloudFront standard logs, tab-separated).

    ``#Fields:`` defines the columns of the lines that follow and may change anywhere
    in the file; ``#Software:`` tells the producer (IIS: time-taken in milliseconds); other
    ``#`` directives (``#Version``, ``#Date``, ``#Start-Date``, ``#Remark``…) are counted, not
    data. Data lines before any ``#Fields:`` are quarantined.
    """

    def __init__(
        self,
        sep: str = " ",
        site: str | None = None,
        cloudfront: bool = False,
        local_tz: str = "Europe/Paris",
        time_unit: str = "auto",
    ) -> None:
        self.sep = sep
        self.site = site
        self.cloudfront = cloudfront
        self.local_tz = local_tz
        self.unit_option = time_unit
        self.software: str | None = None
        self.builder: RecordBuilder | None = None
        self.count = 0
        self.units: list[str] = []  # unit used by each #Fields: segment (for the manifest)

    def set_fields(self, names: Sequence[str]) -> None:
        unit, why = w3c_time_unit(self.unit_option, self.software, self.cloudfront)
        fields = w3c_fields(names, self.cloudfront, unit)
        if any(f.kind.startswith("tt_") for f in fields):
            label = f"{unit.replace('us', 'µs')} ({why})"
            if label not in self.units:
                self.units.append(label)
        self.builder = RecordBuilder(fields, self.site, self.local_tz)
        self.count = len(names)

    @property
    def time_unit(self) -> str:
        return "; ".join(self.units)

    def parse(self, line: str) -> list[object] | None:
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                self.set_fields(line[len("#Fields:") :].split())
            elif line.startswith("#Software:"):
                self.software = line[len("#Software:") :].strip()
            return None
        if self.builder is None:
            raise LineError("data line before any #Fields: directive")
        values = line.split(self.sep) if self.cloudfront else w3c_values(line)
        if len(values) != self.count:
            raise LineError(f"{len(values)} values for {self.count} #Fields")
        return self.builder.build(values)
