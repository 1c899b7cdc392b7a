"""Fastly: the service's custom VCL (``cdnctl``, main) and edge dictionary ``cdnctl_rules``.

API reference (https://www.fastly.com/documentation/reference/api/):
- versions: https://www.fastly.com/documentation/reference/api/services/version/
  ``GET /service/{id}/version`` (list, ``active``), ``PUT …/version/{v}/clone``,
  ``GET …/version/{v}/validate`` (``{"status": "ok"|"error", "msg", "errors"}``),
  ``PUT …/version/{v}/activate``
- custom VCL: https://www.fastly.com/documentation/reference/api/vcl-services/vcl/
  ``GET|PUT …/version/{v}/vcl/{name}``, ``POST …/version/{v}/vcl`` (form ``name``,
  ``content``, ``main``), ``PUT …/version/{v}/vcl/{name}/main``
- dictionaries: https://www.fastly.com/documentation/reference/api/dictionaries/dictionary/
  ``GET …/version/{v}/dictionary/{name}``, ``POST …/version/{v}/dictionary`` (form ``name``)
- dictionary items: https://www.fastly.com/documentation/reference/api/dictionaries/dictionary-item/
  ``GET /service/{id}/dictionary/{dictionary_id}/items`` (``page``, ``per_page``),
  ``PATCH`` same path ``{"items": [{"op": "upsert"|"delete", "item_key", "item_value"}]}``
  (at most 1,000 operations per call)
- ``Fastly-Key: <token>`` authenticates; errors are ``{"msg", "detail"}``.

Edge dictionary items are **versionless**: a dictionary keeps its id across cloned
versions, and its items change what the live service does as soon as they are written.
Hence the order of apply:

1. the active version must still be the one plan read (else: conflict, nothing done);
2. if only items differ (the VCL is the same and the dictionary exists), write the items
   (no new version: Fastly's "change data, not code"); else
3. clone the active version → upload the VCL, make it main → create the dictionary if
   the version has none → validate (a refused VCL stops here: the vendor's message,
   nothing live touched, an inactive draft left) → write the items → activate.

On a failure after items were written to a live dictionary, the previous items are
written back (read the dictionary, diff, PATCH); if Fastly reports the activation as
failed, the previous version is activated again if the new one became active anyway.
Result ``rolled-back`` when everything was put back, ``partial`` (half-applied, with the
steps done and not done) when it could not be. Same policy twice: no new version.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from cache_rules.model import SitePolicy
from cache_rules.targets import CompileOptions
from cache_rules.targets.fastly import DICTIONARY, DICTIONARY_FILE
from cache_rules.targets.fastly import TARGET as COMPILER
from cache_rules.targets.plan import SitePlan
from cdnctl.deploy import Deployer, UnitResult, VendorPlan, text_diff
from cdnctl.deploy.http import ApiError, ConfigHTTP, Conflict
from cdnctl.vendors.base import RunContext
from cdnctl.vendors.http import json_message

VCL_NAME = "cdnctl"
BATCH = 1000  # dictionary item operations per PATCH
SHOWN = 20  # item changes listed one by one in a plan


# -- pure ---------------------------------------------------------------------------------

def item_ops(before: dict[str, str], after: dict[str, str]) -> list[dict[str, str]]:
    """Batch operations turning ``before`` into ``after`` (upserts first, then deletes)."""
    ops = [{"op": "upsert", "item_key": k, "item_value": v} for k, v in after.items() if before.get(k) != v]
    ops += [{"op": "delete", "item_key": k} for k in before if k not in after]
    return ops


def item_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    added = [k for k in after if k not in before]
    changed = [k for k in after if k in before and before[k] != after[k]]
    removed = [k for k in before if k not in after]
    if not (added or changed or removed):
        return []
    lines = [f"dictionary {DICTIONARY}: {len(added)} item(s) added, {len(changed)} changed, "
             f"{len(removed)} removed"]
    listed = [f"  + {k} = {after[k]}" for k in added] \
        + [f"  ~ {k}: {before[k]} → {after[k]}" for k in changed] + [f"  - {k}" for k in removed]
    lines += listed[:SHOWN]
    if len(listed) > SHOWN:
        lines.append(f"  … and {len(listed) - SHOWN} more")
    return lines


def items_diff(before: dict[str, str], after: dict[str, str]) -> str:
    def text(items: dict[str, str]) -> str:
        return "".join(f"{k} = {v}\n" for k, v in sorted(items.items()))
    return text_diff(text(before), text(after), f"dictionary {DICTIONARY}")


def compiled_config(compiled: SitePlan, options: CompileOptions) -> tuple[str, dict[str, str]]:
    files = COMPILER.files([compiled], options)
    items = json.loads(files[DICTIONARY_FILE])[DICTIONARY]
    return files[COMPILER.main], {str(k): str(v) for k, v in items.items()}


# -- I/O ----------------------------------------------------------------------------------

class FastlyDeployer(Deployer):
    vendor = "fastly"

    def __init__(self, service: str, token: str, ctx: RunContext,
                 api: str = "https://api.fastly.com") -> None:
        super().__init__(service)
        self.http = ConfigHTTP(api, {"Fastly-Key": token},
                               lambda r: json_message(r, "detail", "msg", "message"), ctx)
        self.svc = f"/service/{quote(service)}"

    # reads
    def active_version(self) -> tuple[int | None, int]:
        versions = self.http.json("GET", f"{self.svc}/version")
        active = [int(v["number"]) for v in versions if v.get("active")]
        latest = max((int(v["number"]) for v in versions), default=0)
        return (active[0] if active else None), latest

    def vcl(self, version: int) -> dict[str, Any] | None:
        resp = self.http.call("GET", f"{self.svc}/version/{version}/vcl/{VCL_NAME}", accept=(404,))
        return None if resp.status_code == 404 else resp.json()

    def dictionary_id(self, version: int) -> str | None:
        resp = self.http.call("GET", f"{self.svc}/version/{version}/dictionary/{DICTIONARY}", accept=(404,))
        return None if resp.status_code == 404 else str(resp.json()["id"])

    def items(self, dictionary_id: str) -> dict[str, str]:
        out: dict[str, str] = {}
        page = 1
        while True:
            got = self.http.json("GET", f"{self.svc}/dictionary/{dictionary_id}/items",
                                 params={"page": page, "per_page": BATCH})
            out.update({str(i["item_key"]): str(i["item_value"]) for i in got})
            if len(got) < BATCH:
                return out
            page += 1

    def plan(self, site: SitePolicy, compiled: SitePlan, options: CompileOptions) -> VendorPlan:
        vcl, items = compiled_config(compiled, options)
        notes = COMPILER.notes([compiled], options)

        def error(message: str) -> VendorPlan:
            return VendorPlan(self.vendor, site.site, self.ident, "error", error=message, notes=notes)

        try:
            active, latest = self.active_version()
            base = active if active is not None else latest
            if not base:
                return error("the service has no version to clone")
            live_vcl = self.vcl(base)
            dict_id = self.dictionary_id(base)
            live_items = self.items(dict_id) if dict_id else {}
        except (ApiError, Conflict) as exc:
            return error(str(exc))
        live_text = str(live_vcl.get("content") or "") if live_vcl else ""
        vcl_same = live_vcl is not None and live_text == vcl and bool(live_vcl.get("main"))
        same = vcl_same and dict_id is not None and live_items == items and active is not None
        current = {"active": active, "base": base, "vcl": live_text if live_vcl else None,
                   "dictionary_id": dict_id, "items": live_items}
        items_only = vcl_same and dict_id is not None and active is not None
        desired = {"vcl": vcl, "items": items, "items_only": items_only}
        version = str(active) if active is not None else None
        if same:
            return VendorPlan(self.vendor, site.site, self.ident, "unchanged", notes=notes, current=current,
                              desired=desired, version=version)
        changes = []
        if not vcl_same:
            changes.append(f"{'~' if live_vcl else '+'} VCL {VCL_NAME} (main)"
                           + (f" — new version cloned from {base}" if active is not None else ""))
        else:
            changes.append("= VCL unchanged: items written to the live dictionary, no new version")
        if dict_id is None:
            changes.append(f"+ dictionary {DICTIONARY}")
        changes += item_changes(live_items, items)
        diff = (text_diff(live_text, vcl, f"VCL {VCL_NAME}") if not vcl_same else "") \
            + items_diff(live_items, items)
        action = "update" if live_vcl else "create"
        return VendorPlan(self.vendor, site.site, self.ident, action, changes, diff,
                          notes=notes, current=current, desired=desired, version=version)

    # writes
    def apply(self, plan: VendorPlan) -> UnitResult:
        cur: dict[str, Any] = plan.current  # type: ignore[assignment]
        want: dict[str, Any] = plan.desired  # type: ignore[assignment]
        done: list[str] = []

        result = self.outcome(plan, done)

        try:
            active, _ = self.active_version()
        except ApiError as exc:
            return result("failed", f"nothing changed: cannot read the service versions: {exc}",
                          ["everything"])
        if active != cur["active"]:
            return result("failed", f"nothing changed: conflict: active version is {active}, plan read "
                                    f"{cur['active']}; run plan again", ["everything"])
        if want["items_only"]:
            return self._items_only(plan, cur, want, done, result)
        return self._new_version(plan, cur, want, done, result)

    def _write_items(self, dictionary_id: str, ops: list[dict[str, str]]) -> None:
        for start in range(0, len(ops), BATCH):
            self.http.call("PATCH", f"{self.svc}/dictionary/{dictionary_id}/items",
                           json={"items": ops[start:start + BATCH]})

    def _restore_items(self, dictionary_id: str, previous: dict[str, str]) -> str | None:
        """Write ``previous`` back; None when done, else why not."""
        try:
            self._write_items(dictionary_id, item_ops(self.items(dictionary_id), previous))
        except (ApiError, Conflict) as exc:
            return str(exc)
        return None

    def _items_only(self, plan: VendorPlan, cur: dict[str, Any], want: dict[str, Any], done: list[str],
                    result: Any) -> UnitResult:
        ops = item_ops(cur["items"], want["items"])
        step = f"write {len(ops)} item operation(s) to live dictionary {DICTIONARY}"
        try:
            self._write_items(cur["dictionary_id"], ops)
        except (ApiError, Conflict) as exc:
            return self._rollback(cur, done, result, f"{step} failed: {exc}", [step], restore_items=True)
        done.append(step)
        return result("applied", f"{len(ops)} dictionary item operation(s), version {cur['active']} kept",
                      [], str(cur["active"]))

    def _new_version(self, plan: VendorPlan, cur: dict[str, Any], want: dict[str, Any], done: list[str],
                     result: Any) -> UnitResult:
        base = cur["base"]
        steps = ["clone", "upload VCL", "create dictionary", "validate", "write items", "activate"]
        try:
            new = int(self.http.json("PUT", f"{self.svc}/version/{base}/clone")["number"])
        except (ApiError, Conflict) as exc:
            return result("failed", f"nothing changed: clone of version {base} failed: {exc}", steps)
        done.append(f"draft version {new} cloned from {base} (inactive)")
        left = f"draft version {new} left inactive"
        try:
            self._upload_vcl(new, want["vcl"])
            done.append(f"VCL {VCL_NAME} uploaded to version {new} as main")
            dict_id = self.dictionary_id(new)
            if dict_id is None:
                dict_id = str(self.http.json("POST", f"{self.svc}/version/{new}/dictionary",
                                             data={"name": DICTIONARY})["id"])
                done.append(f"dictionary {DICTIONARY} created in version {new}")
            check = self.http.json("GET", f"{self.svc}/version/{new}/validate")
        except (ApiError, Conflict) as exc:
            return result("failed", f"nothing live changed ({left}): {exc}", steps[len(done):])
        if str(check.get("status")).lower() != "ok":
            errors = "; ".join(str(e) for e in check.get("errors") or []) or str(check.get("msg") or check)
            return result("failed", f"nothing live changed ({left}): Fastly refused version {new}: {errors}",
                          ["validate", "write items", "activate"])
        done.append(f"version {new} validated")
        live_dict = dict_id == cur["dictionary_id"]
        before = cur["items"] if live_dict else {}
        ops = item_ops(before, want["items"])
        try:
            self._write_items(dict_id, ops)
        except (ApiError, Conflict) as exc:
            if not live_dict:
                return result("failed", f"nothing live changed ({left}; its new dictionary is not live): "
                                        f"writing items failed: {exc}", ["write items", "activate"])
            return self._rollback(cur, done, result, f"writing items failed: {exc}",
                                  ["write items", "activate"], restore_items=True)
        done.append(f"{len(ops)} item operation(s) written to dictionary {DICTIONARY}"
                    + (" (live)" if live_dict else ""))
        try:
            self.http.call("PUT", f"{self.svc}/version/{new}/activate")
        except (ApiError, Conflict) as exc:
            return self._rollback(cur, done, result, f"activation of version {new} failed: {exc}",
                                  ["activate"],
                                  restore_items=live_dict, new=new)
        done.append(f"version {new} activated")
        return result("applied", f"version {cur['active']} → {new}", [], str(new))

    def _upload_vcl(self, version: int, text: str) -> None:
        path = f"{self.svc}/version/{version}/vcl"
        if self.vcl(version) is None:
            self.http.call("POST", path, data={"name": VCL_NAME, "content": text, "main": "true"})
        else:
            self.http.call("PUT", f"{path}/{VCL_NAME}", data={"content": text})
        self.http.call("PUT", f"{path}/{VCL_NAME}/main")

    def _rollback(self, cur: dict[str, Any], done: list[str], result: Any, why: str, not_done: list[str],
                  restore_items: bool, new: int | None = None) -> UnitResult:
        problems = []
        if new is not None and cur["active"] is not None:
            try:
                active, _ = self.active_version()
                if active == new:  # Fastly said it failed, yet it is live: go back to the known version
                    self.http.call("PUT", f"{self.svc}/version/{cur['active']}/activate")
                    done.append(f"version {cur['active']} activated again (rollback)")
            except (ApiError, Conflict) as exc:
                problems.append(f"cannot check or re-activate version {cur['active']}: {exc}")
        if restore_items and cur["dictionary_id"]:
            failed = self._restore_items(cur["dictionary_id"], cur["items"])
            if failed:
                problems.append(f"previous dictionary items NOT restored: {failed}")
            else:
                done.append(f"previous dictionary items restored ({len(cur['items'])})")
        if problems:
            return result("partial", f"{why}; rollback incomplete: {'; '.join(problems)}",
                          [*not_done, "rollback"])
        return result("rolled-back", f"{why}; rolled back: version {cur['active']} active, previous items in "
                                     "place", not_done, str(cur["active"]))

    def calls(self) -> int:
        return len(self.http.calls)

    def close(self) -> None:
        self.http.close()
