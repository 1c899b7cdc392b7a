"""A local Fastly purge API (https://www.fastly.com/documentation/reference/api/purging/).

Implements ``POST /purge/{cached_url}``, ``POST /service/{id}/purge`` (``Surrogate-Key``
header, ≤ 256 keys), ``POST /service/{id}/purge/{key}`` and ``POST /service/{id}/purge_all``,
authenticated by ``Fastly-Key``; errors as Fastly sends them (``{"msg", "detail"}``).

Config API (https://www.fastly.com/documentation/reference/api/services/version/,
``…/vcl-services/vcl/``, ``…/dictionaries/dictionary/``, ``…/dictionaries/dictionary-item/``):
versions (list, clone, validate, activate), custom VCL (get, create from a form, update,
set main), dictionaries per version (same id in every clone, like Fastly) and their
versionless items (list with ``page``/``per_page``, batch ``PATCH`` of ≤ 1,000 ops). A
locked (activated) version refuses edits (400); a VCL name used twice is 409; validate
answers ``{"status": "error"}`` when the main VCL contains ``invalid_marker``;
``activate_then_fail`` (a version number) activates that version and then answers 503 (the vendor reports a failure that
did happen). ``services[id]`` is the live state.
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
        # service -> {"versions": {n: {"active", "locked", "vcl": {name: {"content", "main"}},
        #                               "dicts": {name: id}}}}; items: dictionary id -> {key: value}
        self.config: dict[str, dict[int, dict[str, object]]] = {
            s: {1: {"active": True, "locked": True, "vcl": {}, "dicts": {}}} for s in services}
        self.items: dict[str, dict[str, str]] = {}
        self.invalid_marker: str | None = None
        self.activate_then_fail: int | None = None

    def active(self, service: str) -> int | None:
        return next((n for n, v in self.config[service].items() if v["active"]), None)

    def handle(self, req: Req) -> Reply:
        if req.headers.get("fastly-key") != self.token:
            return Reply(401, {"msg": "Provided credentials are missing or invalid"})
        parts = req.path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "service" and parts[2] in ("version", "dictionary"):
            if parts[1] not in self.services:
                return Reply(404, {"msg": "Record not found", "detail": f"Cannot find service '{parts[1]}'"})
            return self.configure(req, parts[1], parts[2:])
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

    # -- config API ------------------------------------------------------------------------

    def configure(self, req: Req, sid: str, rest: list[str]) -> Reply:
        versions = self.config[sid]
        m = req.method
        if rest[0] == "dictionary":  # /service/{sid}/dictionary/{id}/items
            if len(rest) != 3 or rest[2] != "items" or rest[1] not in self.items:
                return Reply(404, {"msg": "Record not found"})
            items = self.items[rest[1]]
            if m == "GET":
                page = int(req.query.get("page", ["1"])[0])
                per = min(1000, int(req.query.get("per_page", ["100"])[0]))
                keys = sorted(items)[(page - 1) * per: page * per]
                return Reply(200, [{"dictionary_id": rest[1], "item_key": k, "item_value": items[k]} for k in keys])
            if m == "PATCH":
                ops = (req.json() or {}).get("items")  # type: ignore[union-attr]
                if not isinstance(ops, list) or len(ops) > 1000:
                    return Reply(400, {"msg": "Bad request", "detail": "items: 1 to 1000 operations"})
                for op in ops:
                    if op.get("op") not in ("create", "update", "upsert", "delete") or not op.get("item_key"):
                        return Reply(400, {"msg": "Bad request", "detail": f"invalid operation {op}"})
                for op in ops:
                    if op["op"] == "delete":
                        items.pop(op["item_key"], None)
                    else:
                        items[op["item_key"]] = str(op.get("item_value", ""))
                return Reply(200, {"status": "ok"})
            return Reply(405, {"msg": "Method not allowed"})
        if len(rest) == 1:
            if m != "GET":
                return Reply(405, {"msg": "Method not allowed"})
            return Reply(200, [{"number": n, "active": v["active"], "locked": v["locked"], "service_id": sid}
                               for n, v in sorted(versions.items())])
        try:
            n = int(rest[1])
        except ValueError:
            return Reply(400, {"msg": "Bad request", "detail": "version must be a number"})
        if n not in versions:
            return Reply(404, {"msg": "Record not found", "detail": f"Cannot find version {n}"})
        v = versions[n]
        vcl: dict[str, dict[str, object]] = v["vcl"]  # type: ignore[assignment]
        dicts: dict[str, str] = v["dicts"]  # type: ignore[assignment]
        what = rest[2:]
        editing = m in ("POST", "PATCH") or (m == "PUT" and what not in (["clone"], ["activate"]))
        if editing and v["locked"]:
            return Reply(400, {"msg": "Bad request", "detail": f"Version {n} is locked"})
        if what == ["clone"] and m == "PUT":
            new = max(versions) + 1
            versions[new] = {"active": False, "locked": False, "vcl": {k: dict(x) for k, x in vcl.items()},
                             "dicts": dict(dicts)}
            return Reply(200, {"number": new, "active": False, "locked": False, "service_id": sid})
        if what == ["validate"] and m == "GET":
            main = [x for x in vcl.values() if x["main"]]
            if not main:
                return Reply(200, {"status": "error", "msg": "No main VCL", "errors": ["no main custom VCL"]})
            if self.invalid_marker and self.invalid_marker in str(main[0]["content"]):
                return Reply(200, {"status": "error", "msg": "Syntax error",
                                   "errors": [f"Unexpected '{self.invalid_marker}' in main VCL"]})
            return Reply(200, {"status": "ok", "msg": None, "errors": [], "warnings": []})
        if what == ["activate"] and m == "PUT":
            for other in versions.values():
                other["active"] = False
            v["active"] = v["locked"] = True
            if self.activate_then_fail == n:
                return Reply(503, {"msg": "Service Unavailable", "detail": "activation did not complete"})
            return Reply(200, {"number": n, "active": True, "locked": True, "service_id": sid})
        if what and what[0] == "vcl":
            if len(what) == 1 and m == "POST":
                form = req.form()
                name = form.get("name", "")
                if not name or "content" not in form:
                    return Reply(400, {"msg": "Bad request", "detail": "name and content are required"})
                if name in vcl:
                    return Reply(409, {"msg": "Duplicate record", "detail": f"Duplicate vcl: '{name}'"})
                vcl[name] = {"content": form["content"], "main": form.get("main") == "true"}
                if vcl[name]["main"]:
                    for k, x in vcl.items():
                        x["main"] = k == name
                return Reply(200, {"name": name, "version": n, **vcl[name]})
            if len(what) >= 2:
                name = what[1]
                if name not in vcl:
                    return Reply(404, {"msg": "Record not found", "detail": f"Couldn't find VCL '{name}'"})
                if len(what) == 2 and m == "GET":
                    return Reply(200, {"name": name, "version": n, **vcl[name]})
                if len(what) == 2 and m == "PUT":
                    vcl[name]["content"] = req.form().get("content", vcl[name]["content"])
                    return Reply(200, {"name": name, "version": n, **vcl[name]})
                if what[2:] == ["main"] and m == "PUT":
                    for k, x in vcl.items():
                        x["main"] = k == name
                    return Reply(200, {"name": name, "version": n, **vcl[name]})
        if what and what[0] == "dictionary":
            if len(what) == 1 and m == "POST":
                name = req.form().get("name", "")
                if name in dicts:
                    return Reply(409, {"msg": "Duplicate record", "detail": f"Duplicate dictionary: '{name}'"})
                ident = f"dict{len(self.items) + 1}"
                dicts[name] = ident
                self.items[ident] = {}
                return Reply(200, {"id": ident, "name": name, "version": n, "service_id": sid})
            if len(what) == 2 and m == "GET":
                if what[1] not in dicts:
                    return Reply(404, {"msg": "Record not found", "detail": f"Couldn't find dictionary '{what[1]}'"})
                return Reply(200, {"id": dicts[what[1]], "name": what[1], "version": n, "service_id": sid})
        return Reply(404, {"msg": "Record not found"})
