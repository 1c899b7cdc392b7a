"""Cloudflare: the zone's Cache Rules, i.e. the entry point ruleset of phase
``http_request_cache_settings``, read and replaced through the Rulesets API.

API reference:
- Get a zone entry point ruleset:
  https://developers.cloudflare.com/api/resources/rulesets/subresources/phases/methods/get/
  (``GET /zones/{zone_id}/rulesets/phases/http_request_cache_settings/entrypoint``; 404
  while the zone has no Cache Rules yet)
- Update a zone entry point ruleset:
  https://developers.cloudflare.com/api/resources/rulesets/subresources/phases/methods/update/
  (``PUT`` same path, body ``{"name", "description", "rules": [...]}``: the rules listed
  *replace* the ruleset's rules and make a new ruleset ``version``; the entry point is
  created if missing)
- Add rules to phase entry points: https://developers.cloudflare.com/ruleset-engine/basic-operations/add-rule-phase-rulesets/
- ``Authorization: Bearer <token>`` (token permission "Cache Settings Write"); answers
  are the envelope ``{"success", "errors": [{"code", "message"}], "result"}``.

Plan: the live rules whose ``ref`` starts with ``cdnctl_`` are compared with the compiled
ones (:meth:`cache_rules.targets.cloudflare.CloudflareTarget.ruleset`), field by field,
order included (later Cache Rules override earlier ones). Rules somebody added by hand
(other refs) are **kept**, placed before ours so the policy decides where both match;
plan lists them.

Apply is one ``PUT``: atomic at Cloudflare, so there is no half-applied state. Before
it, the entry point is read again: if its ``version`` moved since plan (a concurrent
change), nothing is written (conflict, exit 1). 409/412 answers are conflicts too. If the
PUT's answer is lost (timeout, 5xx after retries), the ruleset is read back to tell
"applied" from "not applied".
"""

from __future__ import annotations

from typing import Any

from cache_rules.model import SitePolicy
from cache_rules.targets import CompileOptions
from cache_rules.targets.cloudflare import PHASE
from cache_rules.targets.cloudflare import TARGET as COMPILER
from cache_rules.targets.plan import SitePlan
from cdnctl.deploy import Deployer, UnitResult, VendorPlan, json_text, now, text_diff
from cdnctl.deploy.http import ApiError, ConfigHTTP, Conflict
from cdnctl.vendors.base import RunContext
from cdnctl.vendors.cloudflare import _errors

OURS = "cdnctl_"
RULE_KEYS = ("ref", "description", "expression", "action", "action_parameters", "enabled")


# -- pure: what the ruleset should be, and how it differs ---------------------------------

def normal(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as we compare and send it: no server fields (id, version, last_updated)."""
    out = {k: rule[k] for k in RULE_KEYS if k in rule}
    out.setdefault("enabled", True)
    return out


def ours(rule: dict[str, Any]) -> bool:
    return str(rule.get("ref") or "").startswith(OURS)


def desired_rules(live: list[dict[str, Any]], compiled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rules to PUT: the hand-made rules as they are (with their ids), then ours in order."""
    kept = [{**normal(r), **({"id": r["id"]} if r.get("id") else {})} for r in live if not ours(r)]
    return kept + [normal(r) for r in compiled]


def rule_changes(live: list[dict[str, Any]], compiled: list[dict[str, Any]]) -> list[str]:
    """One line per added / removed / changed cdnctl rule, and a line if only the order moved."""
    before = {str(r.get("ref")): normal(r) for r in live if ours(r)}
    after = {str(r["ref"]): normal(r) for r in compiled}
    lines = []
    for ref, rule in after.items():
        if ref not in before:
            lines.append(f"+ {ref}: {rule.get('description', '')}")
        elif before[ref] != rule:
            fields = sorted(k for k in set(rule) | set(before[ref]) if rule.get(k) != before[ref].get(k))
            lines.append(f"~ {ref}: {', '.join(fields)} changed")
    lines += [f"- {ref}: {before[ref].get('description', '')}" for ref in before if ref not in after]
    if not lines and [normal(r) for r in live if ours(r)] != [normal(r) for r in compiled]:
        lines.append("~ rule order changed")
    kept = [r for r in live if not ours(r)]
    if kept:
        lines.append(f"= {len(kept)} rule(s) not made by cdnctl kept before ours: "
                     + ", ".join(str(r.get("ref") or r.get("id") or "?") for r in kept))
    return lines


def needs_update(live: list[dict[str, Any]] | None, compiled: list[dict[str, Any]]) -> bool:
    if live is None:
        return bool(compiled)
    mine = [normal(r) for r in live if ours(r)]
    theirs_first = all(not ours(r) for r in live[: len(live) - len(mine)])  # hand rules before ours
    return mine != [normal(r) for r in compiled] or not theirs_first


def ruleset_diff(live: list[dict[str, Any]], compiled: list[dict[str, Any]]) -> str:
    return text_diff(json_text([normal(r) for r in live if ours(r)]),
                     json_text([normal(r) for r in compiled]),
                     f"{PHASE} entrypoint (cdnctl rules)")


# -- I/O -----------------------------------------------------------------------------------

class CloudflareDeployer(Deployer):
    vendor = "cloudflare"

    def __init__(self, zone: str, token: str, ctx: RunContext,
                 api: str = "https://api.cloudflare.com/client/v4") -> None:
        super().__init__(zone)
        self.http = ConfigHTTP(api, {"Authorization": f"Bearer {token}"}, _errors, ctx)
        self.path = f"/zones/{zone}/rulesets/phases/{PHASE}/entrypoint"

    def fetch(self) -> dict[str, Any] | None:
        """The live entry point ruleset, None when the zone has none yet."""
        resp = self.http.call("GET", self.path, accept=(404,))
        if resp.status_code == 404:
            message = _errors(resp)
            if "entrypoint" in message.lower() or "could not find" in message.lower():
                return None
            raise ApiError(f"GET {self.path}: HTTP 404: {message}", 404)
        result = resp.json().get("result")
        return result if isinstance(result, dict) else None

    def plan(self, site: SitePolicy, compiled: SitePlan, options: CompileOptions) -> VendorPlan:
        body = COMPILER.ruleset(compiled)
        rules: list[dict[str, Any]] = list(body["rules"])  # type: ignore[arg-type]
        notes = COMPILER.notes([compiled], options)
        try:
            live = self.fetch()
        except (ApiError, Conflict) as exc:
            return VendorPlan(self.vendor, site.site, self.ident, "error", error=str(exc), notes=notes)
        live_rules: list[dict[str, Any]] = list(live.get("rules") or []) if live else []
        version = str(live.get("version")) if live and live.get("version") is not None else None
        desired = {"name": body["name"], "description": body["description"],
                   "rules": desired_rules(live_rules, rules)}
        if live is not None and not needs_update(live_rules, rules):
            return VendorPlan(self.vendor, site.site, self.ident, "unchanged", notes=notes, current=live,
                              desired=desired, version=version)
        return VendorPlan(self.vendor, site.site, self.ident, "create" if live is None else "update",
                          rule_changes(live_rules, rules), ruleset_diff(live_rules, rules), notes=notes,
                          current=live, desired=desired, version=version)

    def apply(self, plan: VendorPlan) -> UnitResult:
        desired: dict[str, Any] = plan.desired  # type: ignore[assignment]
        step = f"PUT {PHASE} entrypoint ({len(desired['rules'])} rules)"

        def result(status: str, message: str = "", version: str | None = None) -> UnitResult:
            applied = status == "applied"
            return UnitResult(self.vendor, plan.site, self.ident, status, message,
                              done=[step] if applied else [], not_done=[] if applied else [step],
                              version=version, effective_at=now() if applied else None)

        try:
            live = self.fetch()
        except ApiError as exc:
            return result("failed", f"nothing changed: cannot read the ruleset: {exc}")
        live_version = str(live.get("version")) if live and live.get("version") is not None else None
        if live_version != plan.version:
            return result("failed", f"nothing changed: conflict: the ruleset changed since plan (version "
                                    f"{plan.version or 'none'} → {live_version or 'none'}); run plan again")
        try:
            data = self.http.json("PUT", self.path, json=desired)
        except Conflict as exc:
            return result("failed", f"nothing changed: {exc}")
        except ApiError as exc:
            return self._after_lost_answer(plan, desired, str(exc), result)
        if not data.get("success"):
            return result("failed", f"nothing changed: cloudflare refused the rules: {_errors_of(data)}")
        got = data.get("result") or {}
        version = str(got.get("version")) if got.get("version") is not None else None
        if [normal(r) for r in got.get("rules") or []] != [normal(r) for r in desired["rules"]]:
            return result("partial", f"cloudflare accepted the PUT but answers different rules (version "
                                     f"{version}): run `cdnctl vendor plan`", version)
        return result("applied", f"ruleset version {plan.version or 'none'} → {version}", version)

    def _after_lost_answer(self, plan: VendorPlan, desired: dict[str, Any], error: str,
                           result: Any) -> UnitResult:
        """The PUT failed or its answer was lost: read back to say whether it took effect."""
        try:
            live = self.fetch()
        except ApiError as exc:
            return result("partial", f"PUT failed ({error}) and the ruleset cannot be read back ({exc}): "
                                     "unknown whether the new rules are live; run `cdnctl vendor plan`")
        rules = [normal(r) for r in (live or {}).get("rules") or []]
        version = str(live.get("version")) if live and live.get("version") is not None else None
        if rules == [normal(r) for r in desired["rules"]]:
            return result("applied", f"the PUT's answer was lost ({error}) but the rules are live "
                                     f"(version {version})", version)
        if version == plan.version:
            return result("failed", f"nothing changed: {error}")
        return result("partial", f"PUT failed ({error}) and the ruleset is now version {version}, neither "
                                 "the old nor the new rules: run `cdnctl vendor plan`", version)

    def calls(self) -> int:
        return len(self.http.calls)

    def close(self) -> None:
        self.http.close()


def _errors_of(data: dict[str, Any]) -> str:
    errs = data.get("errors") or []
    return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errs) or str(data)[:200]
