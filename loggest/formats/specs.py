"""Apache ``LogFormat`` and nginx ``log_format`` strings → token lists (pyparsing).

Users describe their logs in the notation their server already uses (as GoAccess does):

    LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
    log_format cdn '$remote_addr - $remote_user [$time_local] "$request" $status ...';

Either the bare format string or the whole configuration line is accepted. Directives
and variables that carry no record column (``%l``, ``$pipe``…) are parsed and skipped.
"""

from __future__ import annotations

import itertools

import pyparsing as pp

from loggest.formats.model import Field, FormatError, Literal, Token, merge_literals

# ---- Apache httpd mod_log_config (and varnishncsa, which uses the same notation) ----

_APACHE_SIMPLE: dict[str, str] = {
    "h": "client", "a": "client", "l": "skip", "u": "skip", "r": "request", "s": "status",
    "b": "bytes", "B": "bytes", "O": "bytes", "v": "host", "V": "host", "D": "tt_us", "T": "tt_s",
    "m": "method", "U": "uri", "q": "query_q", "H": "protocol", "A": "skip", "p": "skip",
    "P": "skip", "I": "skip", "S": "skip", "X": "skip", "k": "skip", "L": "skip", "f": "skip",
    "R": "skip", "e": "skip", "n": "skip", "C": "skip", "c": "skip",
}
_APACHE_HEADERS: dict[str, str] = {
    "referer": "referer", "referrer": "referer", "user-agent": "user_agent", "host": "host",
    "x-cache": "cache", "x-cache-status": "cache", "x-cache-result": "cache", "cdn-cache": "cache",
    "x-edge-node": "edge", "x-served-by": "edge",
}
# Response headers only (%{…}o): the rule id is a decision of the edge, never of the client.
_APACHE_RESPONSE_HEADERS: dict[str, str] = {"x-cache-rule": "rule"}
_VARNISH_X: dict[str, str] = {
    "varnish:handling": "cache", "varnish:hitmiss": "cache", "varnish:time_firstbyte": "tt_s",
    "vcl_log:cdn-rule": "rule",            # std.log("cdn-rule:" + id), as cdnctl's VCL writes it
}
_TIME_UNITS = {"us": "tt_us", "ms": "tt_ms", "s": "tt_s"}


def _apache_grammar() -> pp.ParserElement:
    modifiers = pp.Optional(pp.Regex(r"!?\d{3}(,\d{3})*")) + pp.Optional(pp.one_of("< >"))
    arg = pp.Suppress("{") + pp.Regex(r"[^}]*")("arg") + pp.Suppress("}")
    directive = pp.Group(pp.Suppress("%") + pp.Suppress(modifiers)
                         + pp.Optional(arg)
                         + pp.Regex(r"[a-zA-Z%]")("letter"))("directive")
    literal = pp.Regex(r"[^%]+")("literal")
    return pp.ZeroOrMore(directive | literal).leave_whitespace() + pp.StringEnd()


def _apache_field(arg: str | None, letter: str) -> list[Token]:
    name = f"%{{{arg}}}{letter}" if arg is not None else f"%{letter}"
    if letter == "%":
        return [Literal("%")]
    if letter == "t":
        if arg is None:
            return [Literal("["), Field("clf_time", name), Literal("]")]
        raise FormatError(f"{name}: custom time formats are not supported; use %t")
    if letter == "i" and arg is not None:
        return [Field(_APACHE_HEADERS.get(arg.lower(), "skip"), name)]
    if letter == "o" and arg is not None:
        low = arg.lower()
        kind = "skip" if low == "host" else _APACHE_HEADERS.get(low, "skip")
        return [Field(_APACHE_RESPONSE_HEADERS.get(low, kind), name)]
    if letter == "x" and arg is not None:
        return [Field(_VARNISH_X.get(arg.lower(), "skip"), name)]
    if letter == "T" and arg is not None:
        if arg not in _TIME_UNITS:
            raise FormatError(f"{name}: unit must be us, ms or s")
        return [Field(_TIME_UNITS[arg], name)]
    if letter == "a" and arg is not None:
        return [Field("client" if arg == "c" else "skip", name)]
    if letter in _APACHE_SIMPLE:
        return [Field(_APACHE_SIMPLE[letter], name)]
    if letter in "inoxaeCP^" and arg is None:
        raise FormatError(f"%{letter} needs a {{name}} argument")
    if arg is not None:
        return [Field("skip", name)]
    raise FormatError(f"unknown directive {name}")


def _unquote_config(spec: str, keyword: str) -> str:
    """``LogFormat "..." nick`` / ``log_format name '...' '...';`` → the format text."""
    text = spec.strip()
    if text.split(None, 1)[0:1] != [keyword]:
        return text
    body = text.split(None, 1)[1] if len(text.split(None, 1)) > 1 else ""
    quoted = pp.QuotedString('"', esc_char="\\") | pp.QuotedString("'", esc_char="\\")
    if keyword == "log_format":
        body = body.split(None, 1)[1] if len(body.split(None, 1)) > 1 else ""
        if body.startswith("escape="):
            body = body.split(None, 1)[1] if len(body.split(None, 1)) > 1 else ""
    pieces = [str(t[0]) for t, _s, _e in quoted.scan_string(body)]
    if not pieces:
        raise FormatError(f"no quoted format string after {keyword}")
    return "".join(pieces) if keyword == "log_format" else pieces[0]


def parse_apache(spec: str) -> list[Token]:
    """An Apache/varnishncsa ``LogFormat`` string → tokens."""
    text = _unquote_config(spec, "LogFormat")
    text = text.replace('\\"', '"').replace("\\t", "\t").replace("\\n", "\n")
    try:
        parsed = _apache_grammar().parse_string(text, parse_all=True)
    except pp.ParseException as exc:
        raise FormatError(f"Apache LogFormat: cannot parse at column {exc.column}: {text!r}") from None
    tokens: list[Token] = []
    for item in parsed:
        if isinstance(item, str):
            tokens.append(Literal(item))
        else:
            arg = item.get("arg")
            tokens.extend(_apache_field(None if arg is None else str(arg), str(item["letter"])))
    return _finish(tokens, "Apache LogFormat")


# ---- nginx ngx_http_log_module ----

_NGINX: dict[str, str] = {
    "remote_addr": "client", "realip_remote_addr": "skip", "remote_user": "skip",
    "time_local": "clf_time", "time_iso8601": "iso_time", "msec": "msec", "request": "request",
    "status": "status", "body_bytes_sent": "bytes", "bytes_sent": "bytes", "http_referer": "referer",
    "http_user_agent": "user_agent", "host": "host", "http_host": "host", "server_name": "host",
    "request_time": "tt_s", "upstream_cache_status": "cache", "sent_http_x_cache": "cache",
    "sent_http_x_cache_status": "cache", "request_method": "method", "uri": "uri",
    "document_uri": "uri", "request_uri": "request_uri", "args": "args", "query_string": "args",
    "server_protocol": "protocol", "hostname": "edge",
    # the rule id: as sent to the client (cache hits included), or as the upstream (cdnctl's
    # decision server) said it — empty on a hit, which nginx logs as '-'
    "sent_http_x_cache_rule": "rule", "upstream_http_x_cache_rule": "rule",
}


def _nginx_grammar() -> pp.ParserElement:
    name = pp.Regex(r"[A-Za-z0-9_]+")
    variable = pp.Group(pp.Suppress("$") + ((pp.Suppress("{") + name + pp.Suppress("}")) | name))
    literal = pp.Regex(r"[^$]+") | pp.Regex(r"\$(?![A-Za-z0-9_{])")
    return pp.ZeroOrMore(variable("variable") | literal).leave_whitespace() + pp.StringEnd()


def parse_nginx(spec: str) -> list[Token]:
    """An nginx ``log_format`` string (or the whole directive) → tokens."""
    text = _unquote_config(spec.rstrip().rstrip(";"), "log_format")
    try:
        parsed = _nginx_grammar().parse_string(text, parse_all=True)
    except pp.ParseException as exc:
        raise FormatError(f"nginx log_format: cannot parse at column {exc.column}: {text!r}") from None
    tokens: list[Token] = []
    for item in parsed:
        if isinstance(item, str):
            tokens.append(Literal(item))
        else:
            var = item[0]
            tokens.append(Field(_NGINX.get(var, "skip"), f"${var}"))
    return _finish(tokens, "nginx log_format")


def _finish(tokens: list[Token], what: str) -> list[Token]:
    tokens = merge_literals(tokens)
    for a, b in itertools.pairwise(tokens):
        if isinstance(a, Field) and isinstance(b, Field):
            raise FormatError(f"{what}: {a.name} and {b.name} have no separator between them")
    if not any(isinstance(t, Field) and t.kind != "skip" for t in tokens):
        raise FormatError(f"{what}: no field that cdnctl knows")
    return tokens
