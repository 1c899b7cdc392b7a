"""nginx (1.22, with ngx_cache_purge) target: one complete ``nginx.conf``.

``proxy_cache_valid`` takes no variables, so each site runs as two servers:

- the *edge* server (``listen``, ``server_name`` = the site's hosts) holds the cache.
  It picks the active override window with ``$msec`` (a regex over the clock's
  digits: nginx has no arithmetic), decides ``enabled``, keys the cache on
  ``site|window|request URI`` (an object cached under one window is never served
  under another) and proxies to
- the *decision* server (a unix socket), which fetches from the origin and adds
  ``X-Accel-Expires`` (honoured by the edge cache), ``X-Cache-Rule`` and
  ``X-Cache-TTL`` from maps on the raw path and the origin's Content-Type.

Paths: ``$uri`` is useless for SPEC §1 (it decodes ``%2F`` into ``/``), so the maps
read the raw path of ``$request_uri``. A path already in normal form (the usual case)
is looked up exactly (hash) for pages and by plain prefix regexes for directories; any
other spelling is matched by regexes that accept every spelling of the normalised
path (:func:`cache_rules.targets.plan.tolerant_path_regex`).

Response headers: ``X-Cache`` (HIT, MISS or PASS — PASS when the decision is "not
cached", the site is off, or the method is not GET/HEAD), ``X-Cache-Rule``
(absent when the site is off), ``X-Cache-TTL``. Stored statuses: 200 203 204 300
301 302 304 307 308 404 410; ``Set-Cookie`` responses and ``Authorization`` requests
are never stored.

Purge: ``PURGE <url>`` from the ``cdn_purgers`` addresses removes the URL for the
current window (ngx_cache_purge, separate named location: the same-location form
crashes workers). ``BAN`` answers 501: ngx_cache_purge 2.3 has no prefix or regex
purge. Any other address gets 403.

Access log, exactly as written in the config (nginx joins the two strings)::

    log_format cdn '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                   '"$http_referer" "$http_user_agent" "$host" $sent_http_x_cache $request_time '
                   '"$sent_http_x_cache_rule"';

that is NCSA combined followed by the host (lower-cased, without port, quoted), the
cache status (HIT, MISS, PASS; ``-`` for answers nginx makes itself such as 403/404),
the time taken in **seconds with millisecond resolution** and the id of the rule that
decided, as sent in ``X-Cache-Rule`` (quoted; ``"-"`` when the site is off or nginx
answered itself): ``logs ingest --format nginx-cdn`` reads it into the records' ``rule``,
and lines written before it existed still parse with that format.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from cache_rules.targets.base import TEST_CLOCK_HEADER, CompileOptions, Target
from cache_rules.targets.plan import (
    CANONICAL_PATH_REGEX,
    Head,
    Outcome,
    RuleSetPlan,
    SitePlan,
    UnsafeValue,
    WindowPlan,
    checked,
    epoch,
    int_range_regex,
    regex_literal,
    tolerant_path_regex,
    window_active,
)

LOG_FORMAT = ('$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
              '"$http_referer" "$http_user_agent" "$host" $sent_http_x_cache $request_time '
              '"$sent_http_x_cache_rule"')
PURGE_MODULE = "/usr/lib/nginx/modules/ngx_http_cache_purge_module.so"
_TOKEN = "[!#$%&'*+.^_`|~0-9a-z-]+"
_CACHEABLE = "200|203|204|300|301|302|304|307|308|404|410"


def quote(value: str) -> str:
    """A double-quoted nginx string of a pre-validated value.

    Inside quotes nginx unescapes only \\", \\\\, \\t, \\n and \\r; our regexes use
    \\t on purpose (a tab is a tab to PCRE) and never the others.
    """
    if any(c in value for c in '"\n\r') or "\\\\" in value or "\\n" in value or "\\r" in value:
        raise UnsafeValue(f"refusing to write {value!r} into an nginx config")
    return f'"{value}"'


def _value(o: Outcome | None) -> str:
    return quote(f"{o.ttl}|{checked('rule_id', o.rule_id)}") if o else '""'


@dataclass
class MapEntry:
    key: str
    value: str


@dataclass
class RuleSetMaps:
    name: str  # variable prefix, e.g. cdn_s1_r
    canonical: list[MapEntry]  # raw path in normal form → head key
    tolerant: list[MapEntry]  # any spelling → head key
    table: list[MapEntry]  # "head|class" → "ttl|id"
    defaults: list[MapEntry]  # head → "ttl|id" for types no class names


def _rule_set(site: SitePlan, rs: RuleSetPlan) -> RuleSetMaps:
    name = f"cdn_{site.key}_{rs.key}"
    # Pages are regexes too: nginx compares map strings ignoring case, and paths are
    # case-sensitive (SPEC §1).
    canonical = [MapEntry(quote("~^" + regex_literal(h.path or "") + "$"), h.key) for h in rs.pages]
    canonical += [MapEntry(quote("~^" + regex_literal(h.path or "")), h.key) for h in rs.dirs]
    tolerant = [MapEntry(quote("~^" + tolerant_path_regex(h.path or "") + "$"), h.key) for h in rs.pages]
    tolerant += [MapEntry(quote("~^" + tolerant_path_regex(h.path or "")), h.key) for h in rs.dirs]
    heads: list[Head] = [*rs.pages, *rs.dirs, rs.site]
    table = [MapEntry(quote(f"{h.key}|{cls}"), _value(o)) for h in heads for cls, o in h.by_class.items()]
    defaults = [MapEntry(h.key, _value(h.other)) for h in heads]
    return RuleSetMaps(name, canonical, tolerant, table, defaults)


class NginxTarget(Target):
    name = "nginx"
    main = "nginx.conf"
    template = "nginx.conf.j2"
    engine = "nginx"

    def context(self, plans: list[SitePlan], options: CompileOptions) -> dict[str, object]:
        def windows(site: SitePlan) -> list[tuple[WindowPlan, str]]:
            out = []
            for w in site.windows:
                if options.clock == "frozen":
                    assert options.at is not None
                    out.append((w, "active" if window_active(w, options.at) else "inactive"))
                    continue
                lo = _ceil_ms(epoch(w.start))
                hi = _ceil_ms(epoch(w.end))
                out.append((w, quote(f"~^{int_range_regex(lo, hi, 13)}$")))
            return out

        def classes(site: SitePlan) -> list[MapEntry]:
            out = [MapEntry(quote(f"~*^[ \\t]*{re.escape(m)}[ \\t]*(;|$)"), c) for m, c in site.exact.items()]
            out += [MapEntry(quote(f"~*^[ \\t]*{re.escape(m)}/{_TOKEN}[ \\t]*(;|$)"), c)
                    for m, c in site.majors.items()]
            return out

        def frozen_window(site: SitePlan) -> str:
            assert options.at is not None
            active = [w for w in site.windows if window_active(w, options.at)]
            return active[0].key if active else ""

        listen = options.listen
        if not re.fullmatch(r"(?:\[[0-9a-fA-F:]+\]:|[0-9.]+:)?[0-9]{1,5}", listen):
            raise UnsafeValue(f"listen {listen!r}: expected PORT, IP:PORT or [IPv6]:PORT")
        for path in (options.state_dir, options.access_log):
            if not re.fullmatch(r"/[A-Za-z0-9._/-]*", path):
                raise UnsafeValue(f"{path!r}: nginx paths must be absolute, letters, digits . _ - /")
        return {
            "rule_sets": {p.key: [_rule_set(p, p.regular)] + [_rule_set(p, w.rules) for w in p.windows]
                          for p in plans},
            "windows": windows,
            "frozen_window": frozen_window,
            "classes": classes,
            "q": quote,
            "canonical": quote(f"~^{CANONICAL_PATH_REGEX}$"),
            "log_format": LOG_FORMAT,
            "cacheable": _CACHEABLE,
            "purgers": [checked("ip", ip) for ip in options.purgers],
            "purge_module": PURGE_MODULE if Path(PURGE_MODULE).exists() else None,
            "test_header": TEST_CLOCK_HEADER.lower().replace("-", "_") if options.clock == "header" else None,
            "proxy_hash_max": 1 << max(10, (sum(len(p.regular.pages) for p in plans) * 2).bit_length()),
        }

    def notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        out = ["all sites: BAN (prefix/regex) is answered 501: ngx_cache_purge has no wildcard purge; "
               "PURGE removes the URL for the current override window only (the window is in the cache key)",
               "all sites: responses with Set-Cookie, requests with Authorization and statuses other "
               f"than {_CACHEABLE.replace('|', ' ')} are never stored"]
        if not Path(PURGE_MODULE).exists():
            out.append(f"{PURGE_MODULE} not installed here: PURGE is answered 501 "
                       "(install libnginx-mod-http-cache-purge)")
        return out

    def check_command(self, path: Path, workdir: Path) -> list[str]:
        return [shutil.which("nginx") or "nginx", "-t", "-q", "-p", str(workdir), "-c", str(path),
                "-e", str(workdir / "error.log")]


def _ceil_ms(seconds: float) -> int:
    ms = seconds * 1000
    return int(ms) if ms == int(ms) else int(ms) + 1


TARGET = NginxTarget()
