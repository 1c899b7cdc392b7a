"""A local Cloudflare purge API (https://developers.cloudflare.com/api/resources/cache/methods/purge/).

``POST /client/v4/zones/{zone}/purge_cache`` with ``Authorization: Bearer``; one of
``files`` / ``prefixes`` / ``tags`` / ``hosts`` / ``purge_everything``; at most
``max_ops`` (100) operations per call; Cloudflare's envelope ``{"success", "errors",
"messages", "result"}`` on success and error.

Cache Rules (https://developers.cloudflare.com/api/resources/rulesets/subresources/phases/methods/get/
and ``…/methods/update/``): ``GET|PUT /client/v4/zones/{zone}/rulesets/phases/{phase}/entrypoint``.
GET answers 404 (code 10003) until a PUT created the entry point; PUT replaces the rules,
gives each an ``id``/``version``/``last_updated`` and bumps the ruleset ``version``; a rule
whose expression contains ``reject_marker`` is refused as Cloudflare refuses a bad
expression (400, code 20021, nothing changed). ``rulesets[zone]`` is the live state.
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
        self.rulesets: dict[str, dict[str, object]] = {}  # zone -> live entry point ruleset
        self.reject_marker: str | None = None
        self.puts = 0

    def handle(self, req: Req) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(403, envelope(False, [{"code": 10000, "message": "Authentication error"}]))
        parts = req.path.strip("/").split("/")
        if len(parts) == 8 and parts[:3] == ["client", "v4", "zones"] and parts[4:6] == ["rulesets", "phases"] \
                and parts[7] == "entrypoint":
            return self.entrypoint(req, parts[3], parts[6])
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

    def entrypoint(self, req: Req, zone: str, phase: str) -> Reply:
        if zone not in self.zones:
            return Reply(404, envelope(False, [{"code": 1001, "message": "Invalid zone identifier"}]))
        live = self.rulesets.get(zone)
        if req.method == "GET":
            if live is None:
                return Reply(404, envelope(False, [{"code": 10003, "message": "could not find entrypoint ruleset "
                                                    f"in the {phase} phase"}]))
            return Reply(200, envelope(True, result=live))
        if req.method != "PUT":
            return Reply(405, envelope(False, [{"code": 10000, "message": "method not allowed"}]))
        body = req.json()
        rules = body.get("rules") if isinstance(body, dict) else None
        if not isinstance(rules, list):
            return Reply(400, envelope(False, [{"code": 20005, "message": "rules: expected an array"}]))
        for n, rule in enumerate(rules):
            expr = rule.get("expression") if isinstance(rule, dict) else None
            if not isinstance(expr, str) or not expr or rule.get("action") != "set_cache_settings" \
                    or (self.reject_marker and self.reject_marker in expr):
                return Reply(400, envelope(False, [{"code": 20021, "message": f"rules[{n}]: filter parsing error: "
                                                    f"invalid expression or action"}]))
        self.puts += 1
        version = int(str(live["version"])) + 1 if live else 1
        stamp = f"2027-01-01T00:00:{self.puts % 60:02d}Z"
        out = [{**r, "id": r.get("id") or uuid.uuid4().hex, "version": str(version), "last_updated": stamp,
                "enabled": r.get("enabled", True)} for r in rules]
        self.rulesets[zone] = {"id": (live or {}).get("id") or uuid.uuid4().hex, "name": body.get("name", "default"),
                               "description": body.get("description", ""), "kind": "zone", "phase": phase,
                               "version": str(version), "last_updated": stamp, "rules": out}
        return Reply(200, envelope(True, result=self.rulesets[zone]))
