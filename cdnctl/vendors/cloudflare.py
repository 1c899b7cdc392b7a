"""Cloudflare: purge by files (URLs), prefixes, tags, hosts or everything.

API reference: https://developers.cloudflare.com/api/resources/cache/methods/purge/
Limits: https://developers.cloudflare.com/cache/how-to/purge-cache/ (checked 2026:
every plan may purge by URL, hostname, tag, prefix and everything; at most 100
operations per request; per-account token buckets of 5 requests/minute (Free),
5/s burst 25 (Pro), 10/s burst 50 (Business), 50/s burst 500 (Enterprise), and URL
rates of 800 / 1,500 / 1,500 / 3,000 URLs per second).

``POST /zones/{zone_id}/purge_cache`` with ``Authorization: Bearer <token>`` and one of
``{"files": [...]}``, ``{"prefixes": [...]}`` (host + path, no scheme), ``{"tags": [...]}``,
``{"purge_everything": true}``. Answers ``{"success": bool, "errors": [{"code",
"message"}], "result": {"id"}}``. Each host of the site is its own cache key, so a
path is purged as ``https://<host><path>`` for every host. No soft purge.

Client-side token buckets (requests and URLs per second, per plan) keep a large flush
under the documented rates instead of collecting 429s.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdnctl.flush import FlushPlan, Item, batches
from cdnctl.vendors.base import Batch, Permanent, RunContext, Target, TokenBucket
from cdnctl.vendors.http import VendorHTTP

MAX_OPS = 100
# plan → (requests per second, request burst, URLs per second)
PLANS = {"free": (5 / 60, 5.0, 800.0), "pro": (5.0, 25.0, 1500.0), "business": (10.0, 50.0, 1500.0),
         "enterprise": (50.0, 500.0, 3000.0)}


def _errors(resp: object) -> str:
    try:
        data = resp.json()  # type: ignore[attr-defined]
        errs = data.get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errs) or str(data)[:200]
    except (ValueError, AttributeError):
        return " ".join(str(getattr(resp, "text", "")).split())[:200]


class CloudflareTarget(Target):
    vendor = "cloudflare"
    kinds = frozenset({"url", "prefix", "tag", "all"})
    parallel = 4

    def __init__(self, name: str, zone: str, token: str, api: str = "https://api.cloudflare.com/client/v4",
                 plan: str = "enterprise") -> None:
        super().__init__(name)
        if plan not in PLANS:
            raise ValueError(f"cloudflare plan {plan!r}: one of {', '.join(PLANS)}")
        self.zone = zone
        rate, burst, urls = PLANS[plan]
        self.requests = TokenBucket(rate, burst)
        self.urls = TokenBucket(urls, urls)
        self.http = VendorHTTP(api, {"Authorization": f"Bearer {token}"}, _errors)

    def batch(self, plan: FlushPlan, items: Sequence[Item]) -> list[Batch]:
        # A path is one operation per host: batch plan items so the expanded call stays ≤ MAX_OPS.
        per_call = max(1, MAX_OPS // len(plan.hosts))
        out = [Batch("url", b, "files") for b in batches([i for i in items if i.kind == "url"], per_call)]
        out += [Batch("prefix", b, "prefixes")
                for b in batches([i for i in items if i.kind == "prefix"], per_call)]
        out += [Batch("tag", b, "tags") for b in batches([i for i in items if i.kind == "tag"], MAX_OPS)]
        out += [Batch("all", [i], "purge_everything") for i in items if i.kind == "all"]
        return out

    @staticmethod
    def operations(plan: FlushPlan, batch: Batch) -> list[str]:
        if batch.kind == "url":
            return [f"https://{h}{i.value}" for i in batch.items for h in plan.hosts]
        if batch.kind == "prefix":
            return [f"{h}{i.value}" for i in batch.items for h in plan.hosts]
        return [i.value for i in batch.items]

    def send(self, plan: FlushPlan, batch: Batch, ctx: RunContext) -> tuple[str, str, str | None]:
        values = self.operations(plan, batch)
        body: dict[str, object] = ({"purge_everything": True} if batch.kind == "all"
                                   else {batch.method: values})
        self.requests.take(1, ctx.deadline, ctx.sleep)
        if batch.kind == "url":
            self.urls.take(len(values), ctx.deadline, ctx.sleep)
        resp = self.http.post(f"/zones/{self.zone}/purge_cache", json=body)
        data = resp.json()
        if not data.get("success"):
            raise Permanent(f"cloudflare refused: {_errors(resp)}")
        return "done", "", str((data.get("result") or {}).get("id") or "") or None

    def close(self) -> None:
        self.http.close()
