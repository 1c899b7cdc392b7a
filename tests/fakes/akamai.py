"""A local Akamai Fast Purge v3 API (https://techdocs.akamai.com/purge-cache/reference/api).

``POST /ccu/v3/{invalidate|delete}/{url|tag|cpcode}/{staging|production}`` with
``{"objects": [...]}``; checks the EdgeGrid ``Authorization`` header's shape and client
and access tokens (signature verification is edgegrid-python's business); 413 over
50,000 bytes; errors as ``application/problem+json``; 201 with ``estimatedSeconds``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from tests.fakes.common import FakeServer, Reply, Req

CLIENT_TOKEN = "akab-client-token-xxx"
ACCESS_TOKEN = "akab-access-token-xxx"
_AUTH = re.compile(r"EG1-HMAC-SHA256 client_token=([^;]+);access_token=([^;]+);timestamp=(\d{8}T\d\d:\d\d:\d\d\+0000);"
                   r"nonce=[0-9a-f-]+;signature=[A-Za-z0-9+/=]+")


def problem(status: int, title: str, detail: str) -> Reply:
    return Reply(status, {"type": f"https://problems.purge.akamaiapis.net/-/pep-authn/{status}", "title": title,
                          "detail": detail, "httpStatus": status, "supportId": uuid.uuid4().hex[:16]},
                 {"Content-Type": "application/problem+json"})


def write_edgerc(path: Path, host: str = "akab-host.purge.akamaiapis.net") -> Path:
    path.write_text(f"[default]\nclient_secret = c2VjcmV0\nhost = {host}\naccess_token = {ACCESS_TOKEN}\n"
                    f"client_token = {CLIENT_TOKEN}\n")
    return path


class FakeAkamai(FakeServer):
    def __init__(self, estimated: int = 5) -> None:
        super().__init__()
        self.estimated = estimated
        self.purged: list[tuple[str, str, str, object]] = []  # (action, kind, network, object)
        self.bodies: list[int] = []

    def handle(self, req: Req) -> Reply:
        m = _AUTH.fullmatch(req.headers.get("authorization", ""))
        if not m or (m[1], m[2]) != (CLIENT_TOKEN, ACCESS_TOKEN):
            return problem(401, "Not authorized", "The signature does not match")
        parts = req.path.strip("/").split("/")
        if req.method != "POST" or len(parts) != 5 or parts[:2] != ["ccu", "v3"] or parts[2] not in ("invalidate", "delete") \
                or parts[3] not in ("url", "tag", "cpcode") or parts[4] not in ("staging", "production"):
            return problem(404, "Not found", f"no such endpoint {req.path}")
        if len(req.body) >= 50_000:
            return problem(413, "Request Entity Too Large", "The request exceeds the maximum message body size 50,000 bytes")
        body = req.json()
        objects = body.get("objects") if isinstance(body, dict) else None
        if not isinstance(objects, list) or not objects:
            return problem(400, "Bad request", "objects must be a non-empty array")
        self.bodies.append(len(req.body))
        self.purged += [(parts[2], parts[3], parts[4], o) for o in objects]
        return Reply(201, {"httpStatus": 201, "detail": "Request accepted", "estimatedSeconds": self.estimated,
                           "purgeId": uuid.uuid4().hex, "supportId": uuid.uuid4().hex[:16]})
