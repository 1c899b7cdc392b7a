"""Log formats: named presets and user-given Apache/nginx specifications.

``resolve_format("combined")``, ``resolve_format("nginx:$remote_addr …")``,
``resolve_format("apache:%h %l %u %t \\"%r\\" %>s %b")`` or a bare spec string (``%`` →
Apache notation, ``$`` → nginx). ``w3c`` and ``cloudfront`` read their columns from the
files' ``#Fields:`` directives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loggest.formats.model import Field, FormatError, Token
from loggest.formats.reference import TokenParser, W3CParser
from loggest.formats.specs import parse_apache, parse_nginx

CLF = '%h %l %u %t "%r" %>s %b'
COMBINED = CLF + ' "%{Referer}i" "%{User-Agent}i"'

# name → (notation, spec, description)
PRESETS: dict[str, tuple[str, str, str]] = {
    "clf": ("apache", CLF, "NCSA common log format"),
    "combined": ("apache", COMBINED, "NCSA combined (Apache/nginx default)"),
    "varnishncsa": ("apache", '%h %l %u %t "%r" %s %b "%{Referer}i" "%{User-agent}i"',
                    "varnishncsa default format"),
    "varnishncsa-cdn": ("apache", '%h %l %u %t "%r" %s %b "%{Referer}i" "%{User-agent}i" "%{Host}i" '
                        '%{Varnish:handling}x %D',
                        "varnishncsa as cdnctl's Varnish edges log (the quoted rule id last, optional)"),
    "nginx-cdn": ("nginx", '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                  '"$http_referer" "$http_user_agent" "$host" $upstream_cache_status $request_time',
                  "nginx as cdnctl's nginx edges log (combined + host, cache status, time taken, the quoted "
                  "rule id last, optional)"),
    "w3c": ("w3c", "", "W3C extended log file (#Fields: directive; IIS, Oracle Web Cache, others)"),
    "cloudfront": ("cloudfront", "", "Amazon CloudFront standard logs (W3C, tab-separated)"),
}


# Fields a preset gained after lines were written without them: the preset reads both
# shapes, line by line (a file written across an edge's config reload holds both). cdnctl's
# edges log the id of the rule that decided (X-Cache-Rule) last, between quotes: the report
# of misses by rule needs it, the archives written before must still parse with the same
# --format, and a quoted tail cannot be mistaken for stray text after the last field (a
# line ending "0.5 extra" stays a bad time taken, as before the tail existed).
OPTIONAL_TAILS: dict[str, str] = {
    "varnishncsa-cdn": ' "%{X-Cache-Rule}o"',
    "nginx-cdn": ' "$sent_http_x_cache_rule"',
}

ABSOLUTE_URL_PRESETS = frozenset({"varnishncsa", "varnishncsa-cdn"})


@dataclass(frozen=True)
class LogFormat:
    name: str
    notation: str                         # apache | nginx | w3c | cloudfront
    spec: str = ""
    tokens: tuple[Token, ...] = field(default=())
    optional: int = 0                     # the last `optional` tokens may be absent (OPTIONAL_TAILS)

    @property
    def is_w3c(self) -> bool:
        return self.notation in ("w3c", "cloudfront")

    @property
    def has_host(self) -> bool | None:
        """Whether lines carry the site (None: decided by each file's #Fields, or by each
        request line — varnishncsa logs absolute URLs, whose host is the site). The host of
        an absolute URL is used by every format; only varnishncsa is expected to write them."""
        if self.is_w3c:
            return None
        kinds = {t.kind for t in self.tokens if isinstance(t, Field)}
        if "host" in kinds:
            return True
        return None if "request" in kinds and self.name in ABSOLUTE_URL_PRESETS else False

    def parser(self, site: str | None = None, local_tz: str = "Europe/Paris",
               time_unit: str = "auto") -> TokenParser | W3CParser:
        if self.notation == "cloudfront":
            return W3CParser("\t", site, cloudfront=True, local_tz=local_tz, time_unit=time_unit)
        if self.notation == "w3c":
            return W3CParser(" ", site, local_tz=local_tz, time_unit=time_unit)
        return TokenParser(self.tokens, site, local_tz, self.optional)


def resolve_format(spec: str) -> LogFormat:
    """A preset name, ``apache:SPEC``, ``nginx:SPEC``, or a bare Apache/nginx spec."""
    text = spec.strip()
    if text in PRESETS:
        notation, body, _desc = PRESETS[text]
        return _build(text, notation, body, OPTIONAL_TAILS.get(text, ""))
    for prefix in ("apache", "nginx"):
        if text.startswith(prefix + ":"):
            return _build(text, prefix, text[len(prefix) + 1:])
    if text.startswith("log_format") or ("$" in text and "%" not in text):
        return _build(text, "nginx", text)
    if "%" in text:
        return _build(text, "apache", text)
    raise FormatError(f"unknown log format {spec!r}: use one of {', '.join(PRESETS)}, "
                      "an Apache LogFormat string (%h …) or an nginx log_format string ($remote_addr …)")


def _build(name: str, notation: str, body: str, tail: str = "") -> LogFormat:
    if notation in ("w3c", "cloudfront"):
        return LogFormat(name, notation)
    parse = parse_apache if notation == "apache" else parse_nginx
    tokens = parse(body)
    if not tail:
        return LogFormat(name, notation, body, tuple(tokens))
    full = parse(body + tail)
    if full[:len(tokens)] != tokens:   # the tail must only add tokens (a body ending in a field)
        raise FormatError(f"{name}: optional tail {tail!r} changes the tokens before it")
    return LogFormat(name, notation, body + tail, tuple(full), len(full) - len(tokens))


__all__ = ["OPTIONAL_TAILS", "PRESETS", "FormatError", "LogFormat", "resolve_format"]
