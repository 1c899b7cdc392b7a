"""A stand-in purge endpoint (what a Varnish node answers to PURGE/BAN from its ACL).

For API and CLI tests that need a target but not a real cache; the e2e tests use real
varnishd and nginx instead.
"""

from __future__ import annotations

from tests.fakes.common import FakeServer, Reply, Req


class FakeEdge(FakeServer):
    def handle(self, req: Req) -> Reply:
        if req.method == "PURGE":
            return Reply(200, "Purged", {"Content-Type": "text/plain"})
        if req.method == "BAN":
            return Reply(200, "Banned", {"Content-Type": "text/plain"})
        return Reply(405, "Method not allowed", {"Content-Type": "text/plain"})

    def purged(self) -> list[tuple[str, str, str]]:
        """(method, target or ban header, Host) of every purge received."""
        out = []
        for r in self.requests:
            ban = r.headers.get("x-ban-regex") or r.headers.get("x-ban-prefix", "")
            what = r.target if r.method == "PURGE" else ban
            out.append((r.method, what, r.headers.get("host", "")))
        return out
