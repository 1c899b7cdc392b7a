"""Deploy compiled policies to commercial CDNs through their configuration APIs (plan / apply).

``cdnctl vendor plan|apply`` (:mod:`cdnctl.commands.vendor_deploy`) is a thin wrapper
over this package; one module per vendor holds its API client and its plan/apply:

- :mod:`cdnctl.deploy.cloudflare` — Rulesets API, phase ``http_request_cache_settings``;
- :mod:`cdnctl.deploy.fastly` — service versions, custom VCL, edge dictionary;
- :mod:`cdnctl.deploy.cloudfront` — distribution cache behaviors, cache policies, Lambda@Edge;

- :mod:`cdnctl.deploy.akamai` — PAPI: new property version, rule tree, STAGING then PRODUCTION.

Like ``cdnctl plan`` / ``apply`` for the edge fleet (Terraform's model):

- **plan** fetches the vendor's *current* configuration from its API, compiles the
  site's policy for that vendor (:mod:`cache_rules.targets`) and computes the diff with
  a pure function (no I/O) per vendor; read-only.
- **apply** plans again, then changes only what differs: the same policy twice makes no
  new version / no call that writes. Each unit (one site on one vendor account) ends as
  ``applied``, ``unchanged``, ``failed`` (nothing live was changed), ``rolled-back``
  (something went live and was put back) or ``partial`` (half-applied: the unit's
  ``done`` and ``not_done`` steps say exactly what).
- every apply appends a :class:`cdnctl.changes.Change` (QS-06) to the change journal and
  an entry to the audit journal (:class:`cdnctl.audit.Journal`), never credentials.

Where the vendors file sits and what it maps is :mod:`cdnctl.vendors` (site → Fastly
service id / Cloudflare zone id, and the environment variable holding the token).
"""

from __future__ import annotations

import difflib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cache_rules.model import Policy, SitePolicy
from cache_rules.targets import CompileOptions
from cache_rules.targets.base import plan_sites
from cache_rules.targets.plan import SitePlan

DEPLOYABLE = ("cloudflare", "fastly", "cloudfront", "akamai")  # vendors whose config apply is built
UNIT_STATUSES = ("applied", "unchanged", "failed", "rolled-back", "partial")


@dataclass
class VendorPlan:
    """What apply would change for one site on one vendor account."""

    vendor: str
    site: str
    ident: str  # Fastly service id, Cloudflare zone id…
    action: str  # "unchanged" | "update" | "create" | "error"
    changes: list[str] = field(default_factory=list)  # one line per change, for people
    diff: str = ""  # unified diff of the current vs. the compiled config
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # the compile's fidelity notes
    current: object = None  # vendor snapshot read by plan (apply checks it did not move)
    desired: object = None
    version: str | None = None  # the vendor's version of what is live (ruleset version, service version)

    @property
    def unit(self) -> str:
        return f"{self.vendor}:{self.ident}"

    def to_json(self, with_diff: bool = True) -> dict[str, object]:
        out: dict[str, object] = {"vendor": self.vendor, "site": self.site, "id": self.ident,
                                  "action": self.action, "version": self.version, "changes": self.changes,
                                  "error": self.error, "notes": self.notes}
        if with_diff:
            out["diff"] = self.diff
        return out


@dataclass
class UnitResult:
    vendor: str
    site: str
    ident: str
    status: str  # one of UNIT_STATUSES
    message: str = ""
    done: list[str] = field(default_factory=list)  # steps that took effect (or were made), in order
    not_done: list[str] = field(default_factory=list)  # steps planned but not made
    version: str | None = None  # the vendor version now live
    effective_at: datetime | None = None
    calls: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "unchanged")

    def to_json(self) -> dict[str, object]:
        return {"vendor": self.vendor, "site": self.site, "id": self.ident, "status": self.status,
                "message": self.message, "done": self.done, "not_done": self.not_done,
                "version": self.version,
                "effective_at": self.effective_at.isoformat() if self.effective_at else None,
                "calls": self.calls}


class Deployer(ABC):
    """One vendor account's config API for one site: read, diff (pure), write."""

    vendor = ""

    def __init__(self, ident: str) -> None:
        self.ident = ident

    @abstractmethod
    def plan(self, site: SitePolicy, compiled: SitePlan, options: CompileOptions) -> VendorPlan:
        """Fetch the current config and diff it against the compiled one (read-only)."""

    @abstractmethod
    def apply(self, plan: VendorPlan) -> UnitResult:
        """Make the vendor's config what ``plan.desired`` says; never raises for a vendor failure."""

    def outcome(self, plan: VendorPlan, done: list[str]) -> Callable[..., UnitResult]:
        """``result(status, message, not_done, version=None)`` for one apply: ``done`` is read
        when a result is made, so the steps finished so far are always reported."""

        def result(status: str, message: str, not_done: list[str], version: str | None = None) -> UnitResult:
            return UnitResult(self.vendor, plan.site, self.ident, status, message, list(done), not_done,
                              version, now() if status == "applied" else None)

        return result

    def calls(self) -> int:
        return 0

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections."""


def now() -> datetime:
    return datetime.now(UTC)


def site_plan(policy: Policy, site: str) -> tuple[SitePolicy, SitePlan, CompileOptions]:
    """The site's decision tables, compiled as ``cdnctl compile`` does (live clock, no engine check)."""
    options = CompileOptions(clock="live", check=False)
    plan = plan_sites(policy, [site], options)[0]
    return plan.site, plan, options


def text_diff(before: str, after: str, name: str) -> str:
    """Unified diff of two texts ('' when equal)."""
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 f"{name} (live)", f"{name} (compiled)", n=2)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def json_text(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass
class ApplyReport:
    """Every unit of one ``cdnctl vendor apply``; ``status`` is the run's."""

    plans: list[VendorPlan]
    units: list[UnitResult]

    @property
    def status(self) -> str:
        statuses = {u.status for u in self.units}
        if not self.units or statuses <= {"unchanged"}:
            return "unchanged"
        if statuses <= {"applied", "unchanged"}:
            return "applied"
        if "partial" in statuses or "applied" in statuses:
            return "partial"  # something is live and something is not: half-applied
        return "rolled-back" if "rolled-back" in statuses else "failed"

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "unchanged")

    @property
    def effective_at(self) -> datetime | None:
        times = [u.effective_at for u in self.units if u.effective_at and u.status == "applied"]
        return max(times) if times else None

    def half_applied(self) -> str:
        """'X done, Y not' for people, listing every unit and step."""
        done = [f"{u.vendor} {u.site} ({u.ident})" for u in self.units if u.status == "applied"]
        parts = [f"done: {', '.join(done)}"] if done else []
        for u in self.units:
            if u.status == "partial":
                parts.append(f"{u.vendor} {u.site} half-applied — done: {'; '.join(u.done) or 'nothing'}; "
                             f"not done: {'; '.join(u.not_done) or 'nothing'}")
            elif not u.ok:
                parts.append(f"not done: {u.vendor} {u.site} ({u.status}: {u.message})")
        return " — ".join(parts)


def apply_plans(plans: Sequence[VendorPlan], deployers: dict[str, Deployer]) -> ApplyReport:
    """Apply every plan in order (one unit after another: an operator reads one story).

    A unit whose plan could not be made (``action == 'error'``) is ``failed`` without a call;
    one unit failing does not stop the others (they are different accounts), and the
    report says which ones are live.
    """
    units: list[UnitResult] = []
    for p in plans:
        if p.action == "error":
            units.append(UnitResult(p.vendor, p.site, p.ident, "failed", p.error or "plan failed",
                                    not_done=["everything (plan failed)"]))
            continue
        if p.action == "unchanged":
            units.append(UnitResult(p.vendor, p.site, p.ident, "unchanged", version=p.version))
            continue
        deployer = deployers[p.unit + "|" + p.site]
        try:
            result = deployer.apply(p)
        except Exception as exc:  # a bug must not hide the other units' results
            result = UnitResult(p.vendor, p.site, p.ident, "partial",
                                f"{type(exc).__name__}: {exc}",
                                not_done=["unknown: run `cdnctl vendor plan`"])
        result.calls = deployer.calls()
        units.append(result)
    return ApplyReport(list(plans), units)


# -- which units: the vendors file × the policy -------------------------------------------

@dataclass
class Units:
    plans: list[VendorPlan]
    deployers: dict[str, Deployer]
    skipped: list[str]  # "akamai www.x (…): why" — mapped in the vendors file, not deployable here

    def close(self) -> None:
        for d in self.deployers.values():
            d.close()


def make_deployer(vendor: str, settings: dict[str, object], ident: str, ctx: object) -> Deployer:
    """The deployer of one account; raises VendorConfigError (missing credentials…)."""
    from cdnctl.vendors import secret_from_env

    name = f"{vendor}:{ident}"
    if vendor == "cloudflare":
        from cdnctl.deploy.cloudflare import CloudflareDeployer

        return CloudflareDeployer(ident, secret_from_env(settings, "CLOUDFLARE_API_TOKEN", name), ctx,  # type: ignore[arg-type]
                                  api=str(settings.get("api") or "https://api.cloudflare.com/client/v4"))
    if vendor == "fastly":
        from cdnctl.deploy.fastly import FastlyDeployer

        return FastlyDeployer(ident, secret_from_env(settings, "FASTLY_API_TOKEN", name), ctx,  # type: ignore[arg-type]
                              api=str(settings.get("api") or "https://api.fastly.com"))
    if vendor == "cloudfront":  # credentials: boto3's usual chain (env, ~/.aws, role)
        from cdnctl.deploy.cloudfront import CloudFrontDeployer

        endpoint = settings.get("endpoint_url") or settings.get("api")
        role = settings.get("lambda_role")
        return CloudFrontDeployer(ident, ctx, endpoint_url=str(endpoint) if endpoint else None,  # type: ignore[arg-type]
                                  region=str(settings.get("region") or "us-east-1"),
                                  lambda_role=str(role) if role else None)
    if vendor == "akamai":
        from cdnctl.deploy.akamai import AkamaiDeployer

        emails = settings.get("notify_emails") or []
        return AkamaiDeployer(ident, ctx, edgerc=str(settings.get("edgerc") or "~/.edgerc"),  # type: ignore[arg-type]
                              section=str(settings.get("section") or "default"),
                              api=_opt(settings.get("api")),
                              contract_id=_opt(settings.get("contract_id")),
                              group_id=_opt(settings.get("group_id")),
                              notify=[str(e) for e in (emails if isinstance(emails, list) else [emails])])
    raise ValueError(f"{vendor}: config deploy not built")


def _opt(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _ident(account: object, site: SitePolicy) -> object:
    """The config object serving ``site``: Fastly service, Cloudflare zone, CloudFront
    distribution, or the Akamai property of ``properties:`` (``sites:`` holds CP codes there)."""
    sites: dict[str, object] = account.sites  # type: ignore[attr-defined]
    if account.vendor == "akamai":  # type: ignore[attr-defined]
        if not any(h in sites for h in site.hosts):
            return None
        props = account.settings.get("properties") or {}  # type: ignore[attr-defined]
        found = next((props[h] for h in site.hosts if isinstance(props, dict) and h in props), None)
        return found if found is not None else f"?{site.site}"  # plan_units reports it
    return next((sites[h] for h in site.hosts if h in sites), None)


def plan_units(policy: Policy, config: object, vendors: Sequence[str] = (), sites: Sequence[str] = (),
               ctx: object = None) -> Units:
    """Plan every (site, vendor account) pair the vendors file maps, filtered by ``vendors``/``sites``.

    Raises KeyError for a ``sites`` name the policy does not know.
    """
    from cdnctl.vendors import VendorConfigError, VendorsConfig
    from cdnctl.vendors.base import RunContext

    assert isinstance(config, VendorsConfig)
    ctx = ctx or RunContext()
    wanted: list[SitePolicy] = []
    for name in sites:
        found = policy.site_for_host(name)
        if found is None:
            known = ", ".join(sorted(policy.sites)) or "none"
            raise KeyError(f"no site {name!r} in the policy (known: {known})")
        wanted.append(found)
    chosen = wanted or [policy.sites[k] for k in sorted(policy.sites)]
    plans: list[VendorPlan] = []
    deployers: dict[str, Deployer] = {}
    skipped: list[str] = []
    for account in config.accounts:
        if vendors and account.vendor not in vendors:
            continue
        users: dict[str, list[str]] = {}
        for site in chosen:
            ident = _ident(account, site)
            if ident is not None:
                users.setdefault(str(ident), []).append(site.site)
        for site in chosen:
            ident = _ident(account, site)
            if ident is None:
                continue
            ident = str(ident)
            if account.vendor == "akamai" and ident.startswith("?"):
                why = (f"no Akamai property id for {site.site}: add 'properties: {{{site.site}: prp_…}}' "
                       "to the vendors file's akamai section")
                plans.append(VendorPlan("akamai", site.site, "?", "error", error=why))
                continue
            if account.vendor not in DEPLOYABLE:
                skipped.append(f"{account.vendor} {site.site} ({ident}): config deploy not built for "
                               f"{account.vendor} yet (compile it with `cdnctl compile --target "
                               f"{account.vendor}`)")
                continue
            if len(users[ident]) > 1:
                kind = {"cloudflare": "zone", "cloudfront": "distribution", "akamai": "property"}.get(
                    account.vendor, "service")
                plans.append(VendorPlan(account.vendor, site.site, ident, "error",
                                        error=f"{ident} serves {', '.join(users[ident])}: one site per "
                                              f"{account.vendor} {kind}"))
                continue
            site_policy, compiled, options = site_plan(policy, site.site)
            try:
                deployer = make_deployer(account.vendor, account.settings, ident, ctx)
            except VendorConfigError as exc:
                plans.append(VendorPlan(account.vendor, site.site, ident, "error", error=str(exc)))
                continue
            deployers[f"{account.vendor}:{ident}|{site.site}"] = deployer
            plans.append(deployer.plan(site_policy, compiled, options))
    return Units(plans, deployers, skipped)


def record(report: ApplyReport, *, who: str, requested_at: datetime, journal_path: object,
           vendors_file: str | None, policy_dir: str, audit_dir: object = None) -> object:
    """The change record (QS-06) and the audit entry of one apply; returns the Change (None if
    nothing changed and nothing failed)."""
    from pathlib import Path

    from cdnctl.audit import Journal
    from cdnctl.changes import Change, JsonlChangeLog

    units = [u.to_json() for u in report.units]
    change = None
    if report.status != "unchanged":
        changed = [f"{u.vendor} {u.site}" for u in report.units if u.status not in ("unchanged", "failed")]
        what = (f"vendor apply: {report.status}; " + (", ".join(changed) if changed else "nothing changed"))
        change = Change(who=who, requested_at=requested_at, effective_at=report.effective_at, what=what,
                        kind="apply", status=report.status,
                        sites=tuple(sorted({u.site for u in report.units if u.status != "unchanged"})),
                        details={"target": "vendors", "vendors_file": vendors_file, "policy_dir": policy_dir,
                                 "units": units,
                                 "changes": {p.unit: p.changes for p in report.plans if p.changes}})
        JsonlChangeLog(Path(str(journal_path))).append(change)
    sites = sorted({u.site for u in report.units})
    Journal(Path(str(audit_dir)) if audit_dir else None).record(
        "vendor-apply", {"applied": "ok", "unchanged": "ok"}.get(report.status, report.status),
        who=f"user:{who}",
        site=sites[0] if len(sites) == 1 else None,
        what={"status": report.status, "units": units, "sites": sites,
              "change": change.id if change else None})
    return change
