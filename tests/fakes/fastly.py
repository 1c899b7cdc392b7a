"""A local Fastly purge API (https://www.fastly.com/documentation/reference/api/purging/).

Implements ``POST /purge/{cached_url}``, ``POST /service/{id}/purge`` (``Surrogate-Key``
header, ≤ 256 keys), ``POST /service/{id}/purge/{key}`` and ``POST /service/{id}/purge_all``,
authenticated by ``Fastly-Key``; errors as Fastly sends them (``{"msg", "detail"}``).
"""

from __future__ import annotations

import itertools

from tests.fakes.common import FakeServer, Reply, Req


class FakeFastly(FakeServer):
    def __init__(self, token: str = "fastly-test-token", services: tuple[str, ...] = ("SVC1",)) -> None:
        super().__init__()
        self.token = token
        self.services = set(services)
        self.ids = itertools.count(1)
        self.purged: list[tuple[str, str, bool]] = []  # (kind, value, soft)

    def handle(self, req: Req) -> Reply:
        if req.headers.get("fastly-key") != self.token:
            return Reply(401, {"msg": "Provided credentials are missing or invalid"})
        if req.method != "POST":
            return Reply(405, {"msg": "Method not allowed"})
        soft = req.headers.get("fastly-soft-purge") == "1"
        if req.path.startswith("/purge/"):
            self.purged.append(("url", req.target[len("/purge/"):], soft))
            return Reply(200, {"status": "ok", "id": f"purge-{next(self.ids)}"})
        parts = req.path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "service" and parts[2] in ("purge", "purge_all"):
            if parts[1] not in self.services:
                return Reply(404, {"msg": "Record not found", "detail": f"Cannot find service '{parts[1]}'"})
            if parts[2] == "purge_all":
                self.purged.append(("all", "", False))
                return Reply(200, {"status": "ok"})
            keys = parts[3:4] or req.headers.get("surrogate-key", "").split()
            if not keys or len(keys) > 256:
                return Reply(400, {"msg": "Bad request", "detail": "between 1 and 256 surrogate keys"})
            self.purged += [("tag", k, soft) for k in keys]
            return Reply(200, {k: f"purge-{next(self.ids)}" for k in keys})
        return Reply(404, {"msg": "Record not found"})
