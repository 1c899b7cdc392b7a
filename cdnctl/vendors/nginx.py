"""nginx nodes: ``PURGE <url>`` to the ngx_cache_purge location of the compiled config.

The config (``cache_rules/templates/nginx.conf.j2``) sends PURGE from its purger ACL
to a separate ``proxy_cache_purge`` location (the same-location form crashes workers,
see MEASUREMENTS.md). The module answers 200 when it removed the object and 412 when
the object was not in the cache — both mean "not served from cache any more". It has
no wildcard purge (the config answers BAN with 501): prefixes, tags and "everything"
are unsupported on nginx nodes and reported as failures for those nodes.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdnctl.flush import FlushPlan, Item
from cdnctl.vendors.base import Batch, RunContext, Target
from cdnctl.vendors.edgehttp import EdgeHTTP, refuse


class NginxTarget(Target):
    vendor = "nginx"
    kinds = frozenset({"url"})
    parallel = 8

    def __init__(self, name: str, endpoint: str, timeout: float = 10.0) -> None:
        super().__init__(name)
        self.http = EdgeHTTP(endpoint, timeout)

    def unsupported_reason(self, item: Item) -> str:
        what = "everything" if item.kind == "all" else f"by {item.kind}"
        return f"nginx (ngx_cache_purge) cannot purge {what}: exact URLs only"

    def batch(self, plan: FlushPlan, items: Sequence[Item]) -> list[Batch]:
        return [Batch("url", [i], "PURGE") for i in items if i.kind == "url"]

    def send(self, plan: FlushPlan, batch: Batch, ctx: RunContext) -> tuple[str, str, str | None]:
        status, body = self.http.request("PURGE", batch.items[0].value, plan.site)
        if status == 200:
            return "done", "", None
        if status == 412:
            return "done", "not in cache", None
        raise refuse(status, body, self.name)

    def close(self) -> None:
        self.http.close()
