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


def token_regex(tokens: Sequence[Token]) -> str:
    """The anchored regex (Python ``re`` and RE2 compatible) with one group per field."""
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
    return "^" + "".join(parts) + "$"


def clean_line(raw: bytes) -> str:
    """Bytes of one line (without its newline) → text as ClickHouse ``toValidUTF8`` gives it."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return re.sub("\ufffd+", "\ufffd", raw.decode("utf-8", "replace"))


class TokenParser:
    """Parser for CLF, combined, varnishncsa and any Apache/nginx format string."""

    def __init__(self, tokens: Sequence[Token], site: str | None = None) -> None:
        self.tokens = list(tokens)
        self.fields = [t for t in tokens if isinstance(t, Field)]
        self.regex = re.compile(token_regex(tokens), re.DOTALL)
        self.builder = RecordBuilder(self.fields, site)

    def parse(self, line: str) -> list[object] | None:
        m = self.regex.fullmatch(line)
        if m is None:
            raise LineError("does not match the format")
        return self.builder.build(m.groups())


W3C_FIELDS: dict[str, str] = {
    "date": "w3c_date", "time": "w3c_time", "c-ip": "client", "cs-method": "method",
    "cs-uri-stem": "uri", "cs-uri-query": "args", "cs-uri": "request_uri", "sc-status": "status",
    "sc-bytes": "bytes", "cs(referer)": "referer", "cs(referrer)": "referer",
    "cs(user-agent)": "user_agent", "cs-host": "host", "cs(host)": "host", "x-host-header": "host",
    "time-taken": "tt_s", "cs-version": "protocol", "cs-protocol-version": "protocol",
    "x-cache": "cache", "x-cache-status": "cache", "x-edge-result-type": "cache",
    "s-computername": "edge", "s-ip": "edge", "x-edge-location": "edge",
}
# CloudFront: cs(Host) is the distribution's own domain; the site is x-host-header.
CLOUDFRONT_FIELDS = {**W3C_FIELDS, "cs(host)": "skip"}


def w3c_fields(names: Sequence[str], cloudfront: bool = False) -> list[Field]:
    table = CLOUDFRONT_FIELDS if cloudfront else W3C_FIELDS
    return [Field(table.get(n.lower(), "skip"), n) for n in names]


class W3CParser:
    """W3C extended log files (and CloudFront standard logs, tab-separated).

    ``#Fields:`` defines the columns of the lines that follow and may change anywhere
    in the file; other ``#`` directives are ignored. Data lines before any ``#Fields:``
    are quarantined (unless the format gives default fields).
    """

    def __init__(self, sep: str = " ", site: str | None = None, cloudfront: bool = False,
                 default_fields: Sequence[str] | None = None) -> None:
        self.sep = sep
        self.site = site
        self.cloudfront = cloudfront
        self.builder: RecordBuilder | None = None
        self.count = 0
        if default_fields:
            self.set_fields(default_fields)

    def set_fields(self, names: Sequence[str]) -> None:
        self.builder = RecordBuilder(w3c_fields(names, self.cloudfront), self.site)
        self.count = len(names)

    def parse(self, line: str) -> list[object] | None:
        if line.startswith("#"):
            if line.startswith("#Fields:"):
                self.set_fields(line[len("#Fields:"):].split())
            return None
        if self.builder is None:
            raise LineError("data line before any #Fields: directive")
        values = line.split(self.sep)
        if len(values) != self.count:
            raise LineError(f"{len(values)} values for {self.count} #Fields")
        return self.builder.build(values)
