"""Purge drivers, one module per vendor, and what connects a site to its targets.

A site's targets are
- every node of the fleet file (:mod:`cdnctl.fleet`) that serves it (``sites:`` empty
  or naming the site or an alias), reached at the node's ``purge`` URL;
- every vendor account of the vendors file that lists it.

The **vendors file** (``vendors.yaml``, ``--vendors`` / ``$CDNCTL_VENDORS``) maps sites
to commercial CDN accounts; credentials never go in it, only the name of the
environment variable (or file) holding them::

    fastly:                            # https://www.fastly.com/documentation/reference/api/purging/
      token_env: FASTLY_API_TOKEN      # default
      sites: {www.example.gouv.fr: SU1Z0isxPaozGVKXdv0eY}       # site -> service id
    cloudflare:
      token_env: CLOUDFLARE_API_TOKEN  # default
      plan: enterprise                 # free | pro | business | enterprise: purge rate limits
      sites: {www.example.gouv.fr: 023e105f4ecef8ad9ca31a8372d0c353}  # site -> zone id
    cloudfront:                        # boto3's usual credentials (env, ~/.aws, role)
      lambda_role: arn:aws:iam::123456789012:role/cdnctl-edge    # vendor apply (Lambda@Edge)
      sites: {www.example.gouv.fr: E2QWRUHAPOMQZL}               # site -> distribution id
    akamai:
      edgerc: ~/.edgerc                # EdgeGrid credentials file (default), and its section
      section: default
      network: production              # or staging
      notify_emails: [ops@example.gouv.fr]                       # vendor apply: PAPI activations
      properties: {www.example.gouv.fr: prp_175780}              # vendor apply: site -> property
      sites: {www.example.gouv.fr: [12345]}                      # site -> CP codes (for --all)

Each section may also set ``api`` (``endpoint_url`` for CloudFront): the base URL, for
tests against local servers. A site may be on several vendors at once (migrations).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cache_rules.model import SitePolicy
from cdnctl.flush import FlushPlan, Item
from cdnctl.vendors.base import Batch, Permanent, RunContext, Target

VENDORS = ("fastly", "cloudflare", "cloudfront", "akamai")


class VendorConfigError(Exception):
    """The vendors file (or a credential it names) is unusable."""


@dataclass(frozen=True)
class VendorAccount:
    vendor: str
    settings: dict[str, object]
    sites: dict[str, object]  # site host -> service / zone / distribution id, or CP codes


@dataclass(frozen=True)
class VendorsConfig:
    path: Path | None
    accounts: tuple[VendorAccount, ...] = field(default_factory=tuple)


def load_vendors(path: str | os.PathLike[str] | None) -> VendorsConfig:
    if path is None:
        return VendorsConfig(None)
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise VendorConfigError(f"cannot read vendors file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise VendorConfigError(f"{path}: YAML syntax: {exc}") from None
    if not isinstance(raw, dict):
        raise VendorConfigError(f"{path}: expected a mapping of vendor name to settings")
    problems = [f"unknown vendor {k!r} (known: {', '.join(VENDORS)})" for k in raw if k not in VENDORS]
    accounts = []
    for vendor in VENDORS:
        section = raw.get(vendor)
        if section is None:
            continue
        if not isinstance(section, dict) or not isinstance(section.get("sites"), dict):
            problems.append(f"{vendor}: expected a mapping with 'sites: {{SITE: ID}}'")
            continue
        sites = {str(k).lower().rstrip("."): v for k, v in section["sites"].items()}
        settings = {k: v for k, v in section.items() if k != "sites"}
        accounts.append(VendorAccount(vendor, settings, sites))
    if problems:
        raise VendorConfigError(f"{path}: " + "; ".join(problems))
    return VendorsConfig(path, tuple(accounts))


def secret_from_env(settings: dict[str, object], default_env: str, what: str) -> str:
    """A credential from the environment variable the settings name (never from the file itself)."""
    env = str(settings.get("token_env") or default_env)
    value = os.environ.get(env)
    if not value:
        raise VendorConfigError(f"{what}: no API token: set the environment variable {env}")
    return value.strip()


class BrokenTarget(Target):
    """A target that cannot be used (no purge endpoint, missing credentials): every item fails,
    so the flush reports it instead of silently skipping it."""

    kinds = frozenset({"url", "prefix", "tag", "all"})

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name)
        self.reason = reason
        self.broken = reason

    def batch(self, plan: FlushPlan, items: Sequence[Item]) -> list[Batch]:
        return [Batch(items[0].kind, list(items), "none")]

    def send(self, plan: FlushPlan, batch: Batch, ctx: RunContext) -> tuple[str, str, str | None]:
        raise Permanent(self.reason)


def fleet_targets(site: SitePolicy, fleet_path: str | os.PathLike[str] | None) -> list[Target]:
    if fleet_path is None:
        return []
    from cdnctl.fleet import FleetError, load_fleet
    from cdnctl.vendors.nginx import NginxTarget
    from cdnctl.vendors.varnish import VarnishTarget

    try:
        fleet = load_fleet(fleet_path)
    except FleetError as exc:
        raise VendorConfigError(str(exc)) from None
    out: list[Target] = []
    for node in fleet.nodes:
        if node.sites and not set(node.sites) & set(site.hosts):
            continue
        make: Callable[[str, str], Target] = VarnishTarget if node.engine == "varnish" else NginxTarget
        if not node.purge:
            out.append(BrokenTarget(node.name, f"no 'purge' endpoint for node {node.name} in {fleet.path}"))
            continue
        try:
            out.append(make(node.name, node.purge))
        except ValueError as exc:
            out.append(BrokenTarget(node.name, str(exc)))
    return out


def vendor_targets(site: SitePolicy, config: VendorsConfig) -> list[Target]:
    out: list[Target] = []
    for account in config.accounts:
        ident = next((account.sites[h] for h in site.hosts if h in account.sites), None)
        if ident is None:
            continue
        name = f"{account.vendor}:{_ident_label(ident)}"
        try:
            out.append(_make_vendor(account, site, ident, name))
        except VendorConfigError as exc:
            out.append(BrokenTarget(name, str(exc)))
    return out


def _ident_label(ident: object) -> str:
    if isinstance(ident, list):
        return ",".join(str(x) for x in ident) or "all"
    return str(ident)


def _make_vendor(account: VendorAccount, site: SitePolicy, ident: object, name: str) -> Target:
    settings = account.settings
    if account.vendor == "fastly":
        from cdnctl.vendors.fastly import FastlyTarget

        return FastlyTarget(name, str(ident), secret_from_env(settings, "FASTLY_API_TOKEN", name),
                            api=str(settings.get("api") or "https://api.fastly.com"))
    if account.vendor == "cloudflare":
        from cdnctl.vendors.cloudflare import CloudflareTarget

        return CloudflareTarget(name, str(ident), secret_from_env(settings, "CLOUDFLARE_API_TOKEN", name),
                                api=str(settings.get("api") or "https://api.cloudflare.com/client/v4"),
                                plan=str(settings.get("plan") or "enterprise"))
    if account.vendor == "cloudfront":
        from cdnctl.vendors.cloudfront import CloudFrontTarget

        return CloudFrontTarget(name, str(ident), endpoint_url=_opt(settings.get("endpoint_url")),
                                region=str(settings.get("region") or "us-east-1"))
    from cdnctl.vendors.akamai import AkamaiTarget

    cpcodes = ident if isinstance(ident, list) else ([ident] if ident not in (None, "") else [])
    return AkamaiTarget(name, [str(c) for c in cpcodes], edgerc=str(settings.get("edgerc") or "~/.edgerc"),
                        section=str(settings.get("section") or "default"),
                        network=str(settings.get("network") or "production"), api=_opt(settings.get("api")))


def _opt(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def targets_for_site(site: SitePolicy, fleet_path: str | os.PathLike[str] | None,
                     vendors: VendorsConfig, only: Sequence[str] = ()) -> list[Target]:
    targets = fleet_targets(site, fleet_path) + vendor_targets(site, vendors)
    if only:
        unknown = sorted(set(only) - {t.name for t in targets})
        if unknown:
            known = ", ".join(t.name for t in targets) or "none"
            raise VendorConfigError(f"no target {', '.join(unknown)} for {site.site} (its targets: {known})")
        targets = [t for t in targets if t.name in only]
    return targets


# -- one flush, start to finish: resume state, every target, audit ------------------------

AUDIT_ITEM_CAP = 200  # the journal names at most this many items per entry (plus a digest of all)


def run_flush(plan: FlushPlan, targets: Sequence[Target], *, wait: bool = False, timeout: float = 120,
              dry_run: bool = False, fresh: bool = False, who: str | None = None,
              source: dict[str, object] | None = None, action: str = "flush",
              state_dir: Path | None = None) -> tuple[FlushResult, dict[str, object] | None]:
    """Flush ``plan`` on ``targets``; returns the result and its audit entry (None for a dry run).

    The journal is checked writable *before* any call: a flush must never go unrecorded.
    """
    import hashlib
    import uuid

    from cdnctl.audit import Journal
    from cdnctl.audit import state_dir as default_state_dir
    from cdnctl.flush import ResumeState
    from cdnctl.vendors.base import Deadline, execute

    directory = state_dir or default_state_dir()
    journal = Journal(directory)
    if not dry_run:
        journal.check_writable()
    resume = ResumeState.load(directory, plan.site)
    fingerprint = plan.fingerprint()
    pending = None if fresh else resume.pending(fingerprint)
    if pending is not None:
        names = {t.name for t in targets}
        pending = {t: items for t, items in pending.items() if t in names}
    ctx = RunContext(wait=wait, deadline=Deadline(timeout), run_id=uuid.uuid4().hex[:16])
    result = execute(plan, targets, ctx, pending, dry_run)
    if dry_run:
        return result, None
    failed = result.failed()
    resume.save(fingerprint, failed)

    def cap(items: Sequence[Item]) -> list[str]:
        return [i.label() for i in items[:AUDIT_ITEM_CAP]]

    digest = hashlib.sha256("\n".join(f"{i.kind} {i.value}" for i in plan.items).encode()).hexdigest()
    what: dict[str, object] = {
        "summary": plan.summary(), "items": cap(plan.items), "item_count": len(plan.items),
        "items_sha256": digest, "soft": plan.soft, "wait": wait, "targets": result.targets,
        "resumed": result.resumed, "per_target": result.per_target(), "calls": result.calls(),
        "failed": {t: cap(items) for t, items in failed.items()},
    }
    entry = journal.record(action, result.status, who=who, source=source, site=plan.site, what=what)
    return result, entry


from cdnctl.vendors.base import FlushResult  # noqa: E402  (re-exported for callers)
