"""A local Cloudflare purge API (https://developers.cloudflare.com/api/resources/cache/methods/purge/).

``POST /client/v4/zones/{zone}/purge_cache`` with ``Authorization: Bearer``; one of
``files`` / ``prefixes`` / ``tags`` / ``hosts`` / ``purge_everything``; at most
``max_ops`` (100) operations per call; Cloudflare's envelope ``{"success", "errors",
"messages", "result"}`` on success and error.
"""

from __future__ import annotations

import uuid

from tests.fakes.common import FakeServer, Reply, Req


def envelope(success: bool, errors: list[dict[str, object]] | None = None, result: object = None) -> dict[str, object]:
    return {"success": success, "errors": errors or [], "messages": [], "result": result}


class FakeCloudflare(FakeServer):
    def __init__(self, token: str = "cf-test-token", zones: tuple[str, ...] = ("ZONE1",), max_ops: int = 100) -> None:
        super().__init__()
        self.token, self.zones, self.max_ops = token, set(zones), max_ops
        self.purged: list[tuple[str, str]] = []
        self.calls: list[int] = []  # operations per accepted call

    def handle(self, req: Req) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(403, envelope(False, [{"code": 10000, "message": "Authentication error"}]))
        parts = req.path.strip("/").split("/")
        if req.method != "POST" or len(parts) != 5 or parts[:3] != ["client", "v4", "zones"] or parts[4] != "purge_cache":
            return Reply(404, envelope(False, [{"code": 7003, "message": "No route for that URI"}]))
        if parts[3] not in self.zones:
            return Reply(404, envelope(False, [{"code": 1001, "message": "Invalid zone identifier"}]))
        body = req.json()
        if not isinstance(body, dict) or len(body) != 1:
            return Reply(400, envelope(False, [{"code": 1012, "message": "Request must contain exactly one purge type"}]))
        (kind, values), = body.items()
        if kind == "purge_everything":
            self.purged.append(("all", ""))
            self.calls.append(1)
        else:
            if kind not in ("files", "prefixes", "tags", "hosts") or not isinstance(values, list):
                return Reply(400, envelope(False, [{"code": 1012, "message": f"unknown purge type {kind}"}]))
            if len(values) > self.max_ops:
                return Reply(400, envelope(False, [{"code": 1019, "message": f"Only {self.max_ops} {kind} may be purged at a time"}]))
            if kind == "files" and any(not str(v).startswith(("http://", "https://")) for v in values):
                return Reply(400, envelope(False, [{"code": 1016, "message": "URL must include scheme"}]))
            self.purged += [(kind, str(v)) for v in values]
            self.calls.append(len(values))
        return Reply(200, envelope(True, result={"id": uuid.uuid4().hex}))
