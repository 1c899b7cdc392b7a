"""Fastly: purge URL, purge by surrogate key (batched), purge all; soft purge.

API reference: https://www.fastly.com/documentation/reference/api/purging/

- ``POST /purge/{host}{path}`` — one URL (the cached URL without scheme); a path is
  sent once per host of the site, since each host has its own cache objects.
- ``POST /service/{service_id}/purge`` with ``Surrogate-Key: k1 k2 …`` — up to 256 keys
  per call; answers ``{"key": "purge id", …}``.
- ``POST /service/{service_id}/purge_all`` — everything (never soft).
- ``Fastly-Key: <API token>`` authenticates; ``Fastly-Soft-Purge: 1`` marks content
  stale instead of removing it. Errors are ``{"msg": …, "detail": …}``.

Prefixes are not supported by Fastly (no wildcard purge): use surrogate keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from cdnctl.flush import FlushPlan, Item, batches
from cdnctl.vendors.base import Batch, RunContext, Target
from cdnctl.vendors.http import VendorHTTP, json_message

MAX_KEYS = 256


class FastlyTarget(Target):
    vendor = "fastly"
    kinds = frozenset({"url", "tag", "all"})
    soft = True
    parallel = 8

    def __init__(self, name: str, service_id: str, token: str, api: str = "https://api.fastly.com") -> None:
        super().__init__(name)
        self.service = service_id
        self.http = VendorHTTP(api, {"Fastly-Key": token},
                               lambda r: json_message(r, "detail", "msg", "message"))

    def unsupported_reason(self, item: Item) -> str:
        return "fastly has no prefix purge: tag the pages with a surrogate key" if item.kind == "prefix" \
            else super().unsupported_reason(item)

    def batch(self, plan: FlushPlan, items: Sequence[Item]) -> list[Batch]:
        out = [Batch("url", [i], "POST /purge/<url>") for i in items if i.kind == "url"]
        tags = [i for i in items if i.kind == "tag"]
        out += [Batch("tag", b, "surrogate keys") for b in batches(tags, MAX_KEYS)]
        out += [Batch("all", [i], "purge_all") for i in items if i.kind == "all"]
        return out

    def send(self, plan: FlushPlan, batch: Batch, ctx: RunContext) -> tuple[str, str, str | None]:
        soft = {"Fastly-Soft-Purge": "1"} if plan.soft else {}
        if batch.kind == "url":
            ids = []
            for host in plan.hosts:
                url = host + quote(batch.items[0].value, safe="/?=&;%:@!$'()*+,~-._")
                resp = self.http.post("/purge/" + url, headers=soft)
                ids.append(str(resp.json().get("id", "")))
            return "done", "", ",".join(ids)
        if batch.kind == "tag":
            keys = " ".join(i.value for i in batch.items)
            self.http.post(f"/service/{quote(self.service)}/purge", headers={"Surrogate-Key": keys, **soft})
            return "done", "", None
        resp = self.http.post(f"/service/{quote(self.service)}/purge_all")
        return "done", "soft purge does not exist for purge_all: purged hard" if plan.soft else "", \
            str(resp.json().get("id") or "") or None

    def close(self) -> None:
        self.http.close()
