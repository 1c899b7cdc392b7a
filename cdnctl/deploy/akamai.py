"""Akamai: the site's rule tree in its Property Manager property, through PAPI with
EdgeGrid signing (edgegrid-python).

API reference (https://techdocs.akamai.com/property-mgr/reference/api):
- Get a property (``latestVersion``, ``stagingVersion``, ``productionVersion``):
  ``GET /papi/v1/properties/{propertyId}`` — https://techdocs.akamai.com/property-mgr/reference/get-property
- Create a property version: ``POST /papi/v1/properties/{propertyId}/versions`` with
  ``{"createFromVersion", "createFromVersionEtag"}`` → 201 ``{"versionLink"}`` —
  https://techdocs.akamai.com/property-mgr/reference/post-property-versions
- Get / update a rule tree: ``GET|PUT /papi/v1/properties/{propertyId}/versions/{v}/rules``;
  the GET answers ``{"rules", "ruleFormat", "etag", "errors"?}``; the PUT sends
  ``If-Match: <etag>`` (412 when the tree changed since read) with
  ``Content-Type: application/vnd.akamai.papirules.<ruleFormat>+json``; validation
  problems come back in the 200 answer's ``errors`` —
  https://techdocs.akamai.com/property-mgr/reference/get-property-version-rules,
  https://techdocs.akamai.com/property-mgr/reference/put-property-version-rules
- Activate: ``POST /papi/v1/properties/{propertyId}/activations`` with
  ``{"propertyVersion", "network": "STAGING"|"PRODUCTION", "notifyEmails", "note",
  "acknowledgeAllWarnings"}`` → 201 ``{"activationLink"}``; status:
  ``GET …/activations/{activationId}`` → ``activations.items[0].status`` (``ACTIVE``,
  ``PENDING``…, ``FAILED``, ``ABORTED``) —
  https://techdocs.akamai.com/property-mgr/reference/post-property-activations,
  https://techdocs.akamai.com/property-mgr/recipes/activate-a-property-version
- Errors are ``application/problem+json`` (``title``, ``detail``); 429 with
  ``Retry-After`` (retried by :class:`cdnctl.deploy.http.ConfigHTTP`), 409 / 412 conflicts.

What is ours: the child rule named ``cdnctl cache policy``
(:data:`cache_rules.targets.akamai.MANAGED`) of the property's default rule; apply
replaces that child only (appended last when missing: the last matching rule wins), the
origin, CP code and every other rule stay as they are.

Plan reads the property, the latest version's rule tree, and compares our child (name,
criteria, behaviors, children, ``criteriaMustSatisfy``; server fields such as ``uuid``
ignored) with the compiled one. Unchanged when they are equal and the latest version is
active on staging and production; when equal but not active everywhere, apply only
activates it (no new version). Otherwise apply:

1. create a version from the latest (with its etag: a concurrent new version → 409/412);
2. GET its rules (etag), replace our child, PUT with ``If-Match``; ``errors`` in the
   answer stop here (nothing activated, an inactive draft left);
3. activate on STAGING, poll until ACTIVE; then PRODUCTION, poll until ACTIVE.

Staging failure → ``failed`` (production untouched); production failure or still pending
at the time limit → ``partial`` (staging has the new version, production the old one; a
pending activation continues at Akamai).
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any
from urllib.parse import quote

from cache_rules.model import SitePolicy
from cache_rules.targets import CompileOptions
from cache_rules.targets.akamai import MANAGED
from cache_rules.targets.akamai import TARGET as COMPILER
from cache_rules.targets.plan import SitePlan
from cdnctl.deploy import Deployer, UnitResult, VendorPlan, json_text, text_diff
from cdnctl.deploy.http import ApiError, ConfigHTTP, Conflict
from cdnctl.vendors.base import RunContext
from cdnctl.vendors.http import json_message

NETWORKS = ("STAGING", "PRODUCTION")
POLL = 15.0  # seconds between activation status checks
RULE_KEYS = ("name", "criteria", "behaviors", "children", "criteriaMustSatisfy", "comments")
_DONE = {"ACTIVE"}
_BAD = {"FAILED", "ABORTED", "DEACTIVATED", "INACTIVE"}


# -- pure ------------------------------------------------------------------------------------


def normal(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as compared: no server fields (uuid, templateUuid, locked…), children recursively."""
    out = {k: rule[k] for k in RULE_KEYS if k in rule}
    out.setdefault("criteriaMustSatisfy", "all")
    out["criteria"] = [
        {"name": c["name"], "options": c.get("options", {})} for c in rule.get("criteria") or []
    ]
    out["behaviors"] = [
        {"name": b["name"], "options": b.get("options", {})} for b in rule.get("behaviors") or []
    ]
    out["children"] = [normal(c) for c in rule.get("children") or []]
    return out


def ours(tree: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in tree.get("children") or [] if c.get("name") == MANAGED), None)


def with_ours(tree: dict[str, Any], mine: dict[str, Any]) -> dict[str, Any]:
    """``tree`` with our child replaced (or appended last)."""
    out = copy.deepcopy(tree)
    children = list(out.get("children") or [])
    at = next((n for n, c in enumerate(children) if c.get("name") == MANAGED), None)
    if at is None:
        children.append(mine)
    else:
        children[at] = mine
    out["children"] = children
    return out


def rule_lines(rule: dict[str, Any] | None) -> list[str]:
    return [c["name"] for c in (rule or {}).get("children") or []]


def tree_changes(live: dict[str, Any] | None, mine: dict[str, Any]) -> list[str]:
    if live is None:
        return [f"+ rule {MANAGED!r} ({len(mine['children'])} child rules), last child of the default rule"]
    before = {c["name"]: normal(c) for c in live.get("children") or []}
    after = {c["name"]: normal(c) for c in mine.get("children") or []}
    lines = [f"+ {n}" for n in after if n not in before]
    lines += [f"~ {n}" for n in after if n in before and before[n] != after[n]]
    lines += [f"- {n}" for n in before if n not in after]
    if not lines and normal(live) != normal(mine):
        lines.append(f"~ rule {MANAGED!r}: order or options changed")
    return lines


def id_of(link: str, marker: str) -> str:
    """``/papi/v1/properties/prp_1/versions/3?contractId=…`` → ``3`` (for marker ``versions``)."""
    parts = link.split("?")[0].strip("/").split("/")
    return parts[parts.index(marker) + 1]


# -- I/O --------------------------------------------------------------------------------------


class AkamaiDeployer(Deployer):
    vendor = "akamai"

    def __init__(
        self,
        property_id: str,
        ctx: RunContext,
        edgerc: str = "~/.edgerc",
        section: str = "default",
        api: str | None = None,
        contract_id: str | None = None,
        group_id: str | None = None,
        notify: list[str] | None = None,
    ) -> None:
        super().__init__(property_id)
        from akamai.edgegrid import EdgeGridAuth, EdgeRc

        from cdnctl.vendors import VendorConfigError

        path = os.path.expanduser(edgerc)
        if not os.path.exists(path):
            raise VendorConfigError(
                f"akamai:{property_id}: no EdgeGrid credentials file {path} "
                "(set 'edgerc' in the vendors file)"
            )
        rc = EdgeRc(path)
        if not rc.has_section(section):
            raise VendorConfigError(f"akamai:{property_id}: no section [{section}] in {path}")
        self.http = ConfigHTTP(
            api or "https://" + rc.get(section, "host"),
            {"PAPI-Use-Prefixes": "true"},
            lambda r: json_message(r, "detail", "title"),
            ctx,
            auth=EdgeGridAuth.from_edgerc(rc, section),
        )
        self.ctx = ctx
        self.params = {k: v for k, v in (("contractId", contract_id), ("groupId", group_id)) if v}
        self.notify = notify or []
        self.prop = f"/papi/v1/properties/{quote(property_id)}"

    def _get(self, path: str) -> Any:
        return self.http.json("GET", path, params=self.params)

    def property(self) -> dict[str, Any]:
        return dict(self._get(self.prop)["properties"]["items"][0])

    def rules(self, version: int) -> dict[str, Any]:
        return dict(self._get(f"{self.prop}/versions/{version}/rules"))

    def plan(self, site: SitePolicy, compiled: SitePlan, options: CompileOptions) -> VendorPlan:
        mine, _ = COMPILER.tree(compiled)
        notes = COMPILER.notes([compiled], options)

        def error(message: str) -> VendorPlan:
            return VendorPlan(self.vendor, site.site, self.ident, "error", error=message, notes=notes)

        if not self.notify:
            return error(
                "PAPI activations need 'notify_emails' (a list) in the vendors file's akamai section"
            )
        try:
            prop = self.property()
            latest = int(prop["latestVersion"])
            got = self.rules(latest)
        except (ApiError, Conflict) as exc:
            return error(str(exc))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            return error(f"unexpected PAPI answer: {type(exc).__name__}: {exc}")
        live = ours(got["rules"])
        active = {n: prop.get(f"{n.lower()}Version") for n in NETWORKS}
        current = {
            "latest": latest,
            "etag": got.get("etag"),
            "active": active,
            "ruleFormat": got.get("ruleFormat"),
        }
        desired = {"rule": mine}
        same = live is not None and normal(live) == normal(mine)
        if same and all(active[n] == latest for n in NETWORKS):
            return VendorPlan(
                self.vendor,
                site.site,
                self.ident,
                "unchanged",
                notes=notes,
                current=current,
                desired=desired,
                version=str(latest),
            )
        if same:
            todo = [n for n in NETWORKS if active[n] != latest]
            desired["activate_only"] = True
            return VendorPlan(
                self.vendor,
                site.site,
                self.ident,
                "update",
                [f"= rule tree unchanged in version {latest}: activate it on {', '.join(todo)}"],
                notes=notes,
                current=current,
                desired=desired,
                version=str(latest),
            )
        diff = text_diff(
            json_text(normal(live)) if live else "", json_text(normal(mine)), f"rule {MANAGED!r}"
        )
        changes = [
            f"new version from {latest}, activated on STAGING then PRODUCTION",
            *tree_changes(live, mine),
        ]
        return VendorPlan(
            self.vendor,
            site.site,
            self.ident,
            "update" if live else "create",
            changes,
            diff,
            notes=notes,
            current=current,
            desired=desired,
            version=str(latest),
        )

    def apply(self, plan: VendorPlan) -> UnitResult:
        cur: dict[str, Any] = plan.current  # type: ignore[assignment]
        want: dict[str, Any] = plan.desired  # type: ignore[assignment]
        done: list[str] = []
        steps = ["new version", "PUT rules", "activate STAGING", "activate PRODUCTION"]

        result = self.outcome(plan, done)

        try:
            latest = int(self.property()["latestVersion"])
        except (ApiError, Conflict, KeyError, IndexError, ValueError) as exc:
            return result("failed", f"nothing changed: cannot read the property: {exc}", steps)
        if latest != cur["latest"]:
            return result(
                "failed",
                f"nothing changed: conflict: latest version is {latest}, plan read "
                f"{cur['latest']}; run plan again",
                steps,
            )
        if want.get("activate_only"):
            version = latest
        else:
            try:
                link = self.http.json(
                    "POST",
                    f"{self.prop}/versions",
                    params=self.params,
                    json={"createFromVersion": latest, "createFromVersionEtag": cur["etag"]},
                )
                version = int(id_of(str(link["versionLink"]), "versions"))
            except (ApiError, Conflict) as exc:
                return result("failed", f"nothing changed: new version from {latest} failed: {exc}", steps)
            done.append(f"version {version} created from {latest} (inactive)")
            left = f"draft version {version} left inactive"
            try:
                got = self.rules(version)
                fmt = str(got.get("ruleFormat") or "latest")
                body = {"rules": with_ours(got["rules"], want["rule"])}
                answer = self.http.json(
                    "PUT",
                    f"{self.prop}/versions/{version}/rules",
                    params=self.params,
                    data=json.dumps(body),
                    headers={
                        "If-Match": str(got.get("etag") or ""),
                        "Content-Type": f"application/vnd.akamai.papirules.{fmt}+json",
                    },
                )
            except (ApiError, Conflict) as exc:
                return result("failed", f"nothing live changed ({left}): {exc}", steps[1:])
            errors = answer.get("errors") or []
            if errors:
                text = "; ".join(str(e.get("detail") or e.get("title") or e) for e in errors)
                return result(
                    "failed", f"nothing live changed ({left}): Akamai refused the rules: {text}", steps[1:]
                )
            done.append(f"rules written to version {version}")
        for network in NETWORKS:
            if cur["active"].get(network) == version:
                continue
            status = self._activate(version, network, plan.site)
            if status != "ACTIVE":
                why = f"activation of version {version} on {network}: {status}"
                if network == "STAGING":
                    return result(
                        "failed", f"production not changed: {why}", [f"activate {x}" for x in NETWORKS]
                    )
                return result(
                    "partial",
                    f"{why} (STAGING runs version {version}, PRODUCTION still "
                    f"{cur['active'].get('PRODUCTION')})",
                    [f"activate {network}"],
                    str(version),
                )
            done.append(f"version {version} ACTIVE on {network}")
        return result(
            "applied",
            f"version {version} active on STAGING and PRODUCTION (was {cur['active'].get('PRODUCTION')})",
            [],
            str(version),
        )

    def _activate(self, version: int, network: str, site: str) -> str:
        """Request the activation and poll it; returns ACTIVE or what went wrong."""
        try:
            link = self.http.json(
                "POST",
                f"{self.prop}/activations",
                params=self.params,
                json={
                    "propertyVersion": version,
                    "network": network,
                    "notifyEmails": self.notify,
                    "note": f"cdnctl: cache policy of {site}",
                    "acknowledgeAllWarnings": True,
                    "useFastFallback": False,
                },
            )
            ident = id_of(str(link["activationLink"]), "activations")
        except (ApiError, Conflict) as exc:
            return f"refused: {exc}"
        while True:
            try:
                got = self._get(f"{self.prop}/activations/{ident}")
                status = str(got["activations"]["items"][0]["status"]).upper()
            except (ApiError, Conflict, KeyError, IndexError) as exc:
                return f"status unknown ({ident}): {exc}"
            if status in _DONE or status in _BAD:
                return status
            if self.ctx.deadline.remaining() < POLL:
                return f"{status} at the time limit (activation {ident} continues at Akamai)"
            self.ctx.sleep(POLL)

    def calls(self) -> int:
        return len(self.http.calls)

    def close(self) -> None:
        self.http.close()
