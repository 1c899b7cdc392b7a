"""Varnish nodes: PURGE (exact URL) and BAN (prefix, regex) as accepted by the compiled VCL.

The VCL (``cache_rules/templates/varnish.vcl.j2``) accepts from its purger ACL:
``PURGE <url>`` — that object, now; ``BAN`` with ``X-Ban-Prefix: /path`` or
``X-Ban-Regex: <regex on the URL>`` — every matching object of the site (the Host
header chooses the site), lazily. A BAN answers 200 "Banned", PURGE 200 "Purged".

Many URLs: one PURGE each would be one request per URL per node. Above
``PURGE_MAX`` URLs the driver sends one BAN per batch instead, whose regex is the
alternation of the exact URLs, anchored (``^(?:/a|/b\\?x=1)$``): the same objects are
invalidated with ~100× fewer requests. Batches stay under ``BAN_MAX_BYTES`` so the
header fits Varnish's default ``http_req_hdr_len`` (8 KiB). Cache tags need the xkey
vmod, which the compiled VCL does not use: unsupported here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cdnctl.flush import FlushPlan, Item, batches
from cdnctl.vendors.base import Batch, RunContext, Target
from cdnctl.vendors.edgehttp import EdgeHTTP, refuse

PURGE_MAX = 20  # up to this many URLs: one exact PURGE each (frees memory at once)
BAN_MAX_URLS = 200
BAN_MAX_BYTES = 6000
_VCL_SAFE = re.compile(r"[!-~]+")  # what cdn_ban accepts in X-Ban-Regex (and no double quote)


def url_regex(paths: Sequence[str]) -> str:
    # re.escape leaves no space or quote (normalised URLs have none); PCRE reads "\x" for any
    # punctuation x as the literal character.
    return "^(?:" + "|".join(re.escape(p) for p in paths) + ")$"


class VarnishTarget(Target):
    vendor = "varnish"
    kinds = frozenset({"url", "prefix", "all"})
    parallel = 8

    def __init__(self, name: str, endpoint: str, timeout: float = 10.0) -> None:
        super().__init__(name)
        self.http = EdgeHTTP(endpoint, timeout)

    def unsupported_reason(self, item: Item) -> str:
        if item.kind == "tag":
            return "varnish: cache tags need the xkey vmod, not in the compiled VCL"
        return super().unsupported_reason(item)

    def batch(self, plan: FlushPlan, items: Sequence[Item]) -> list[Batch]:
        urls = [i for i in items if i.kind == "url"]
        out: list[Batch] = []
        if len(urls) <= PURGE_MAX:
            out += [Batch("url", [u], "PURGE") for u in urls]
        else:
            size = lambda i: len(re.escape(i.value)) + 1  # noqa: E731  (+1: the "|")
            out += [Batch("url", b, "BAN regex")
                    for b in batches(urls, BAN_MAX_URLS, BAN_MAX_BYTES, size, overhead=len("^(?:)$"))]
        out += [Batch(i.kind, [i], "BAN prefix") for i in items if i.kind in ("prefix", "all")]
        return out

    def send(self, plan: FlushPlan, batch: Batch, ctx: RunContext) -> tuple[str, str, str | None]:
        host = plan.site
        if batch.method == "PURGE":
            status, body = self.http.request("PURGE", batch.items[0].value, host)
        elif batch.method == "BAN regex":
            regex = url_regex([i.value for i in batch.items])
            if not _VCL_SAFE.fullmatch(regex) or '"' in regex:
                raise ValueError("URL regex has characters the VCL refuses")
            status, body = self.http.request("BAN", "/", host, {"X-Ban-Regex": regex})
        else:
            prefix = "/" if batch.kind == "all" else batch.items[0].value
            status, body = self.http.request("BAN", "/", host, {"X-Ban-Prefix": prefix})
        if status != 200:
            raise refuse(status, body, self.name)
        return "done", "", None

    def close(self) -> None:
        self.http.close()
