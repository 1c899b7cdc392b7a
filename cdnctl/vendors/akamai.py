"""Akamai Fast Purge v3: invalidate (soft) or delete (hard) by URL, cache tag or CP code.

API reference: https://techdocs.akamai.com/purge-cache/reference/api
(``POST /ccu/v3/{invalidate|delete}/{url|tag|cpcode}/{staging|production}`` with
``{"objects": [...]}``; 201 ``{"httpStatus": 201, "estimatedSeconds", "purgeId",
"supportId", "detail"}``; errors are ``application/problem+json`` with ``title`` and
``detail``; 413 above 50,000 bytes of body; 429 when over the rate or object limits,
with ``X-Ratelimit-*`` headers — wait and retry).

Requests are signed with EdgeGrid (edgegrid-python's ``EdgeGridAuth``) from an
``.edgerc`` section (``host``, ``client_token``, ``client_secret``, ``access_token``).
URLs are sent as ``https://<host><path>`` for every host of the site. "Everything"
purges the site's CP codes from the vendors file; prefixes are not supported.
``--wait``: Fast Purge has no status endpoint; it waits ``estimatedSeconds`` (≈5 s).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from cdnctl.flush import FlushPlan, Item, batches
from cdnctl.vendors.base import Batch, Outcome, RunContext, Target
from cdnctl.vendors.http import VendorHTTP, json_message

MAX_BODY = 50_000
SAFE_BODY = MAX_BODY - 1_000  # margin: the documented limit is on the whole body


class AkamaiTarget(Target):
    vendor = "akamai"
    kinds = frozenset({"url", "tag", "all"})
    soft = True
    parallel = 4

    def __init__(self, name: str, cpcodes: list[str], edgerc: str = "~/.edgerc", section: str = "default",
                 network: str = "production", api: str | None = None) -> None:
        super().__init__(name)
        from akamai.edgegrid import EdgeGridAuth, EdgeRc

        from cdnctl.vendors import VendorConfigError

        if network not in ("production", "staging"):
            raise VendorConfigError(f"{name}: network must be production or staging")
        path = os.path.expanduser(edgerc)
        if not os.path.exists(path):
            raise VendorConfigError(f"{name}: no EdgeGrid credentials file {path} "
                                    "(set 'edgerc' in the vendors file)")
        rc = EdgeRc(path)
        if not rc.has_section(section):
            raise VendorConfigError(f"{name}: no section [{section}] in {path}")
        self.cpcodes = cpcodes
        self.network = network
        base = api or "https://" + rc.get(section, "host")
        self.http = VendorHTTP(base, {"Content-Type": "application/json"},
                               lambda r: json_message(r, "detail", "title"),
                               auth=EdgeGridAuth.from_edgerc(rc, section))
        self.estimated: dict[str, float] = {}

    def unsupported_reason(self, item: Item) -> str:
        if item.kind == "all":
            return "akamai: no CP code for this site in the vendors file (needed to purge everything)"
        return "akamai Fast Purge has no prefix purge: use cache tags" if item.kind == "prefix" \
            else super().unsupported_reason(item)

    def batch(self, plan: FlushPlan, items: Sequence[Item]) -> list[Batch]:
        hosts = len(plan.hosts)

        def size(i: Item) -> int:  # bytes this item adds to {"objects": [...]}
            return sum(len(json.dumps(u)) + 1 for u in self._objects(plan, "url", [i])) if i.kind == "url" \
                else len(json.dumps(i.value)) + 1

        overhead = len('{"objects": []}')
        urls = [i for i in items if i.kind == "url"]
        tags = [i for i in items if i.kind == "tag"]
        out = [Batch("url", b, "url") for b in batches(urls, 10_000 // hosts, SAFE_BODY, size, overhead)]
        out += [Batch("tag", b, "tag") for b in batches(tags, 5_000, SAFE_BODY, size, overhead)]
        for i in items:
            if i.kind == "all":
                out.append(Batch("all", [i], "cpcode"))
        return out

    def _objects(self, plan: FlushPlan, kind: str, items: Sequence[Item]) -> list[object]:
        if kind == "url":
            return [f"https://{h}{i.value}" for i in items for h in plan.hosts]
        if kind == "all":
            return [int(c) if c.isdigit() else c for c in self.cpcodes]
        return [i.value for i in items]

    def send(self, plan: FlushPlan, batch: Batch, ctx: RunContext) -> tuple[str, str, str | None]:
        if batch.kind == "all" and not self.cpcodes:
            from cdnctl.vendors.base import Permanent

            raise Permanent(self.unsupported_reason(batch.items[0]))
        action = "invalidate" if plan.soft else "delete"
        kind = {"url": "url", "tag": "tag", "all": "cpcode"}[batch.kind]
        body = json.dumps({"objects": self._objects(plan, batch.kind, batch.items)}).encode()
        resp = self.http.post(f"/ccu/v3/{action}/{kind}/{self.network}", data=body)
        data = resp.json()
        ref = str(data.get("purgeId") or "") or None
        if ref:
            self.estimated[ref] = float(data.get("estimatedSeconds") or 5)
        return "accepted", f"{action}, estimated {data.get('estimatedSeconds', '?')} s", ref

    def wait(self, plan: FlushPlan, outcomes: list[Outcome], ctx: RunContext) -> None:
        longest = max((self.estimated.get(o.ref or "", 0) for o in outcomes if o.status == "accepted"),
                      default=0)
        if longest > ctx.deadline.remaining():
            raise RuntimeError(f"Akamai estimates {longest:.0f}s, past the time limit")
        ctx.sleep(longest)
        for o in outcomes:
            if o.status == "accepted":
                o.status = "done"

    def close(self) -> None:
        self.http.close()
