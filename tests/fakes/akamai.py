"""A local Akamai Fast Purge v3 API (https://techdocs.akamai.com/purge-cache/reference/api).

``POST /ccu/v3/{invalidate|delete}/{url|tag|cpcode}/{staging|production}`` with
``{"objects": [...]}``; checks the EdgeGrid ``Authorization`` header's shape and client
and access tokens (signature verification is edgegrid-python's business); 413 over
50,000 bytes; errors as ``application/problem+json``; 201 with ``estimatedSeconds``.

Property Manager (PAPI, https://techdocs.akamai.com/property-mgr/reference/api), for
``cdnctl vendor apply`` (:class:`PapiProperty` per property id in ``properties``):

- ``GET /papi/v1/properties/{id}`` → ``{"properties": {"items": [{latestVersion,
  stagingVersion, productionVersion, …}]}}``;
- ``POST /papi/v1/properties/{id}/versions`` ``{"createFromVersion", "createFromVersionEtag"}``
  → 201 ``{"versionLink"}``; 409 when the etag is not the version's;
- ``GET|PUT /papi/v1/properties/{id}/versions/{v}/rules``: ``etag`` in the body (and the
  ``ETag`` header); PUT needs ``If-Match`` = the etag (else 412) and a
  ``application/vnd.akamai.papirules.*+json`` body; a tree whose JSON contains
  ``reject_marker`` is stored with ``errors`` in the 200 answer (PAPI's validation);
  PUT on an activated version is 403 (PAPI: versions are read-only once activated);
- ``POST /papi/v1/properties/{id}/activations`` → 201 ``{"activationLink"}``; 409 while
  another activation on the same network is pending; ``GET …/activations/{aid}`` is
  ``PENDING`` for ``pending_polls`` reads, then ``ACTIVE`` (or ``FAILED`` when the network is
  in ``fail_network``), and the network's version switches when ACTIVE.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.common import FakeServer, Reply, Req

CLIENT_TOKEN = "akab-client-token-xxx"
ACCESS_TOKEN = "akab-access-token-xxx"
_AUTH = re.compile(
    r"EG1-HMAC-SHA256 client_token=([^;]+);access_token=([^;]+);timestamp=(\d{8}T\d\d:\d\d:\d\d\+0000);"
    r"nonce=[0-9a-f-]+;signature=[A-Za-z0-9+/=]+"
)


def problem(status: int, title: str, detail: str) -> Reply:
    return Reply(
        status,
        {
            "type": f"https://problems.purge.akamaiapis.net/-/pep-authn/{status}",
            "title": title,
            "detail": detail,
            "httpStatus": status,
            "supportId": uuid.uuid4().hex[:16],
        },
        {"Content-Type": "application/problem+json"},
    )


def write_edgerc(path: Path, host: str = "akab-host.purge.akamaiapis.net") -> Path:
    path.write_text(
        f"[default]\nclient_secret = c2VjcmV0\nhost = {host}\naccess_token = {ACCESS_TOKEN}\n"
        f"client_token = {CLIENT_TOKEN}\n"
    )
    return path


def default_tree() -> dict[str, object]:
    """A property's rule tree as Property Manager makes it: origin, CP code, one hand-made child."""
    return {
        "name": "default",
        "criteria": [],
        "criteriaMustSatisfy": "all",
        "uuid": "default",
        "behaviors": [
            {"name": "origin", "options": {"hostname": "origin.example.gouv.fr"}},
            {"name": "cpCode", "options": {"value": {"id": 12345}}},
        ],
        "children": [
            {
                "name": "Static by hand",
                "uuid": "u-static",
                "criteria": [
                    {"name": "fileExtension", "options": {"matchOperator": "IS_ONE_OF", "values": ["woff2"]}}
                ],
                "criteriaMustSatisfy": "all",
                "behaviors": [
                    {
                        "name": "caching",
                        "options": {"behavior": "MAX_AGE", "ttl": "7d", "mustRevalidate": False},
                    }
                ],
                "children": [],
            }
        ],
    }


@dataclass
class PapiProperty:
    versions: dict[int, dict[str, object]] = field(
        default_factory=lambda: {
            1: {"rules": default_tree(), "etag": uuid.uuid4().hex, "ruleFormat": "v2024-10-21"}
        }
    )
    staging: int | None = 1
    production: int | None = 1
    activations: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def latest(self) -> int:
        return max(self.versions)


class FakeAkamai(FakeServer):
    def __init__(self, estimated: int = 5, properties: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.estimated = estimated
        self.purged: list[tuple[str, str, str, object]] = []  # (action, kind, network, object)
        self.bodies: list[int] = []
        self.properties = {p: PapiProperty() for p in properties}
        self.pending_polls = 1
        self.fail_network: str | None = None
        self.reject_marker: str | None = None
        self.puts = 0

    def handle(self, req: Req) -> Reply:
        m = _AUTH.fullmatch(req.headers.get("authorization", ""))
        if not m or (m[1], m[2]) != (CLIENT_TOKEN, ACCESS_TOKEN):
            return problem(401, "Not authorized", "The signature does not match")
        parts = req.path.strip("/").split("/")
        if parts[:2] == ["papi", "v1"]:
            return self.papi(req, parts[2:])
        if (
            req.method != "POST"
            or len(parts) != 5
            or parts[:2] != ["ccu", "v3"]
            or parts[2] not in ("invalidate", "delete")
            or parts[3] not in ("url", "tag", "cpcode")
            or parts[4] not in ("staging", "production")
        ):
            return problem(404, "Not found", f"no such endpoint {req.path}")
        if len(req.body) >= 50_000:
            return problem(
                413,
                "Request Entity Too Large",
                "The request exceeds the maximum message body size 50,000 bytes",
            )
        body = req.json()
        objects = body.get("objects") if isinstance(body, dict) else None
        if not isinstance(objects, list) or not objects:
            return problem(400, "Bad request", "objects must be a non-empty array")
        self.bodies.append(len(req.body))
        self.purged += [(parts[2], parts[3], parts[4], o) for o in objects]
        return Reply(
            201,
            {
                "httpStatus": 201,
                "detail": "Request accepted",
                "estimatedSeconds": self.estimated,
                "purgeId": uuid.uuid4().hex,
                "supportId": uuid.uuid4().hex[:16],
            },
        )

    # -- PAPI ---------------------------------------------------------------------------------

    def papi(self, req: Req, parts: list[str]) -> Reply:
        if len(parts) < 2 or parts[0] != "properties" or parts[1] not in self.properties:
            return problem(404, "Not Found", f"no property {'/'.join(parts[1:2])}")
        pid, prop, rest = parts[1], self.properties[parts[1]], parts[2:]
        base = f"/papi/v1/properties/{pid}"
        if not rest and req.method == "GET":
            return Reply(
                200,
                {
                    "properties": {
                        "items": [
                            {
                                "propertyId": pid,
                                "propertyName": pid,
                                "latestVersion": prop.latest,
                                "stagingVersion": prop.staging,
                                "productionVersion": prop.production,
                            }
                        ]
                    }
                },
            )
        if rest == ["versions"] and req.method == "POST":
            body = req.json()
            assert isinstance(body, dict)
            src = prop.versions.get(int(body.get("createFromVersion") or 0))
            if src is None:
                return problem(404, "Not Found", "no such version")
            if body.get("createFromVersionEtag") and body["createFromVersionEtag"] != src["etag"]:
                return problem(409, "Conflict", "The version's etag does not match: it was modified")
            new = prop.latest + 1
            prop.versions[new] = {
                "rules": copy.deepcopy(src["rules"]),
                "etag": uuid.uuid4().hex,
                "ruleFormat": src["ruleFormat"],
            }
            return Reply(201, {"versionLink": f"{base}/versions/{new}?contractId=ctr_1&groupId=grp_1"})
        if len(rest) == 3 and rest[0] == "versions" and rest[2] == "rules" and rest[1].isdigit():
            version = prop.versions.get(int(rest[1]))
            if version is None:
                return problem(404, "Not Found", "no such version")
            if req.method == "PUT":
                if int(rest[1]) in (prop.staging, prop.production) or any(
                    a["version"] == int(rest[1]) for a in prop.activations.values()
                ):
                    return problem(
                        403, "Forbidden", "The property version is read-only: it has been activated"
                    )
                if req.headers.get("if-match") != version["etag"]:
                    return problem(412, "Precondition Failed", "If-Match does not match the rule tree's etag")
                if not re.fullmatch(
                    r"application/vnd\.akamai\.papirules\.[\w.-]+\+json", req.headers.get("content-type", "")
                ):
                    return problem(
                        415, "Unsupported Media Type", "expected application/vnd.akamai.papirules.*+json"
                    )
                body = req.json()
                if not isinstance(body, dict) or not isinstance(body.get("rules"), dict):
                    return problem(400, "Bad Request", "rules: expected an object")
                self.puts += 1
                version["rules"], version["etag"] = body["rules"], uuid.uuid4().hex
                version["errors"] = (
                    [
                        {
                            "type": "https://problems.papi.akamaiapis.net/-/property-versions/validation",
                            "title": "Invalid criterion",
                            "detail": "contentType: invalid value",
                        }
                    ]
                    if self.reject_marker and self.reject_marker in json.dumps(body)
                    else []
                )
            out = {
                "propertyId": pid,
                "propertyVersion": int(rest[1]),
                "etag": version["etag"],
                "ruleFormat": version["ruleFormat"],
                "rules": version["rules"],
            }
            if version.get("errors"):
                out["errors"] = version["errors"]
            return Reply(200, out, {"ETag": f'"{version["etag"]}"'})
        if rest == ["activations"] and req.method == "POST":
            body = req.json()
            assert isinstance(body, dict)
            network = body.get("network")
            if network not in ("STAGING", "PRODUCTION") or not body.get("notifyEmails"):
                return problem(400, "Bad Request", "network and notifyEmails are required")
            if int(body.get("propertyVersion") or 0) not in prop.versions:
                return problem(404, "Not Found", "no such version")
            if prop.versions[int(body["propertyVersion"])].get("errors"):
                return problem(400, "Validation errors", "The property version has validation errors")
            if any(a["network"] == network and a["status"] == "PENDING" for a in prop.activations.values()):
                return problem(409, "Conflict", f"An activation is already pending on {network}")
            aid = f"atv_{len(prop.activations) + 1}"
            prop.activations[aid] = {
                "network": network,
                "version": int(body["propertyVersion"]),
                "status": "PENDING",
                "polls": 0,
            }
            return Reply(201, {"activationLink": f"{base}/activations/{aid}?contractId=ctr_1&groupId=grp_1"})
        if (
            len(rest) == 2
            and rest[0] == "activations"
            and req.method == "GET"
            and rest[1] in prop.activations
        ):
            a = prop.activations[rest[1]]
            if a["status"] == "PENDING":
                a["polls"] = int(a["polls"]) + 1  # type: ignore[call-overload]
                if int(a["polls"]) > self.pending_polls:  # type: ignore[call-overload]
                    a["status"] = "FAILED" if a["network"] == self.fail_network else "ACTIVE"
                    if a["status"] == "ACTIVE":
                        setattr(prop, str(a["network"]).lower(), a["version"])
            return Reply(
                200,
                {
                    "activations": {
                        "items": [
                            {
                                "activationId": rest[1],
                                "network": a["network"],
                                "propertyVersion": a["version"],
                                "status": a["status"],
                            }
                        ]
                    }
                },
            )
        return problem(404, "Not Found", f"no such endpoint {req.method} {req.path}")
