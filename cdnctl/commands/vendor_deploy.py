"""`cdnctl vendor plan|apply`: a site's policy on commercial CDNs, through their config APIs.

Thin wrapper over :mod:`cdnctl.deploy` (plan, apply, change record and audit); the same
UX as `cdnctl plan|apply` for the edge fleet (:mod:`cdnctl.commands.edge`): a diff first,
``--requested-at`` / ``--who`` recorded for QS-06, ``--json``, exit codes 0 ok,
1 failed (nothing live changed, or rolled back), 2 usage, 3 half-applied.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.markup import escape

from cdnctl.audit import AuditError, Journal
from cdnctl.audit import state_dir as default_state_dir
from cdnctl.changes import Change, current_user
from cdnctl.commands.policy import parse_at
from cdnctl.deploy import DEPLOYABLE, ApplyReport, Units, VendorPlan, apply_plans, plan_units, record
from cdnctl.errors import CdnctlError, Exit
from cdnctl.output import console, emit_json, json_option
from cdnctl.settings import Settings
from cdnctl.vendors import VENDORS, VendorConfigError, load_vendors
from cdnctl.vendors.base import Deadline, RunContext

_COLOURS = {"unchanged": "dim", "create": "green", "update": "yellow", "applied": "green"}


def _options(f):  # type: ignore[no-untyped-def]
    for option in reversed([
        click.option("--vendor", "vendors", multiple=True, type=click.Choice(VENDORS),
                     help="Only this vendor (repeatable). Default: every vendor of the vendors file."),
        click.option("--site", "sites", multiple=True, metavar="HOST",
                     help="Only this site (primary host or alias); repeatable. Default: every site."),
        click.option("--vendors", "vendors_path", type=click.Path(path_type=Path, dir_okay=False),
                     envvar="CDNCTL_VENDORS", default="vendors.yaml", show_default=True, show_envvar=True,
                     help="Vendors file: which CDN account serves which site, where its token is."),
        click.option("--timeout", default=300.0, show_default=True, metavar="SECONDS",
                     help="Time budget for the vendor calls, retries (429 Retry-After, 5xx) included."),
    ]):
        f = option(f)
    return f


def _units(settings: Settings, vendors: tuple[str, ...], sites: tuple[str, ...], vendors_path: Path,
           timeout: float) -> Units:
    if not vendors_path.exists():
        raise CdnctlError(f"no vendors file {vendors_path} (--vendors or $CDNCTL_VENDORS)", Exit.USAGE)
    try:
        config = load_vendors(vendors_path)
    except VendorConfigError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    policy = settings.policy()
    try:
        units = plan_units(policy, config, vendors, sites, RunContext(deadline=Deadline(timeout)))
    except KeyError as exc:
        raise CdnctlError(str(exc.args[0]), Exit.USAGE) from None
    if not units.plans and not units.skipped:
        raise CdnctlError(f"no site of {settings.policy_dir} is mapped to "
                          f"{' or '.join(vendors) or 'a vendor'} in {vendors_path}", Exit.USAGE)
    return units


def _print_plans(plans: list[VendorPlan], skipped: list[str], with_diff: bool) -> None:
    for p in plans:
        colour = _COLOURS.get(p.action, "red")
        line = f"[{colour}]{p.action:>9}[/]  {p.vendor} {escape(p.site)} ({escape(p.ident)})"
        if p.version:
            line += f" [dim]live version {escape(p.version)}[/]"
        if p.error:
            line += f": {escape(p.error)}"
        console.print(line)
        for change in p.changes:
            console.print(f"           {escape(change)}", highlight=False)
        if with_diff and p.diff:
            console.print(escape(p.diff), highlight=False, markup=False, end="")
        for note in p.notes:
            if note.startswith("not exact"):
                console.print(f"           [dim]{escape(note)}[/]", highlight=False)
    for s in skipped:
        console.print(f"[red]{'skipped':>9}[/]  {escape(s)}")
    changing = [p for p in plans if p.action in ("create", "update")]
    console.print(f"{len(changing)} vendor config(s) to change, "
                  f"{sum(p.action == 'unchanged' for p in plans)} unchanged, "
                  f"{sum(p.action == 'error' for p in plans)} error(s)"
                  + (f", {len(skipped)} not deployable here" if skipped else ""))


@click.group("vendor")
def vendor_group() -> None:
    """Plan / apply the policy on commercial CDNs (Cloudflare, Fastly, CloudFront, Akamai) through
    their APIs."""


@vendor_group.command("plan")
@_options
@click.option("--diff/--no-diff", "with_diff", default=True, show_default=True,
              help="Show the config diff of each vendor config to change.")
@json_option
@click.pass_obj
def plan_cmd(settings: Settings, vendors: tuple[str, ...], sites: tuple[str, ...], vendors_path: Path,
             timeout: float, with_diff: bool, as_json: bool) -> None:
    """Show what `cdnctl vendor apply` would change: the live config read from each vendor's
    API against the compiled policy. Read-only.

    Exit 0 (changes or not), 1 if a vendor config could not be read (credentials, API error),
    2 for a usage error.
    """
    units = _units(settings, vendors, sites, vendors_path, timeout)
    try:
        errors = [p for p in units.plans if p.action == "error"]
        if as_json:
            emit_json({"ok": not errors, "plans": [p.to_json(with_diff) for p in units.plans],
                       "skipped": units.skipped, "deployable": list(DEPLOYABLE),
                       "changes": sum(p.action in ("create", "update") for p in units.plans)})
            if errors:
                raise SystemExit(int(Exit.INVALID))
            return
        _print_plans(units.plans, units.skipped, with_diff)
        if errors:
            raise CdnctlError(f"{len(errors)} vendor config(s) could not be planned (see above)",
                              Exit.INVALID)
    finally:
        units.close()


def _render(report: ApplyReport, change: Change | None, journal: Path, skipped: list[str],
            as_json: bool) -> None:
    status = report.status
    code = Exit.OK if report.ok else (Exit.PARTIAL if status == "partial" else Exit.INVALID)
    if as_json:
        emit_json({"ok": report.ok, "status": status, "exit_code": int(code),
                   "effective_at": report.effective_at.isoformat() if report.effective_at else None,
                   "units": [u.to_json() for u in report.units], "skipped": skipped,
                   "half_applied": report.half_applied() if status == "partial" else None,
                   "change": change.to_json() if change else None, "journal": str(journal)})
        if not report.ok:
            raise SystemExit(int(code))
        return
    for u in report.units:
        colour = _COLOURS.get(u.status, "red")
        console.print(f"[{colour}]{u.status:>11}[/]  {u.vendor} {escape(u.site)} ({escape(u.ident)})"
                      + (f": {escape(u.message)}" if u.message else ""))
        if not u.ok:
            for step in u.done:
                console.print(f"             done: {escape(step)}", highlight=False)
            for step in u.not_done:
                console.print(f"             not done: {escape(step)}", highlight=False)
    for s in skipped:
        console.print(f"[red]{'skipped':>11}[/]  {escape(s)}")
    if report.ok:
        when = f"effective {report.effective_at.isoformat()}" if report.effective_at else "nothing to do"
        console.print(f"[green]{status}[/] — {when}")
    if change:
        console.print(f"[dim]change {change.id} recorded in {escape(str(journal))}[/]")
    if status == "partial":
        raise CdnctlError(f"half-applied: {report.half_applied()}", Exit.PARTIAL)
    if status == "rolled-back":
        raise CdnctlError("apply failed; what had gone live was rolled back (see above)", Exit.INVALID)
    if status == "failed":
        raise CdnctlError("apply failed; nothing live was changed (see above)", Exit.INVALID)


@vendor_group.command("apply")
@_options
@click.option("--journal", "journal", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Change journal (JSON lines, QS-06). Default: <state dir>/changes.jsonl.")
@click.option("--requested-at", "requested_at", default=None, metavar="ISO8601",
              help="When the change was requested (the ticket's time; default now; no offset = "
                   "Europe/Paris). Recorded for QS-06.")
@click.option("--who", default=None, help="Who asked for the change (default $CDNCTL_WHO or the login).")
@json_option
@click.pass_obj
def apply_cmd(settings: Settings, vendors: tuple[str, ...], sites: tuple[str, ...], vendors_path: Path,
              timeout: float, journal: Path | None, requested_at: str | None, who: str | None,
              as_json: bool) -> None:
    """Plan, then change each vendor config that differs (nothing else: the same policy twice
    makes no new version). Fastly: clone, VCL, dictionary, validate, activate, rollback on
    failure; Cloudflare: one PUT of the cache rules; CloudFront: cache policies, Lambda@Edge
    version, UpdateDistribution (IfMatch), wait for Deployed; Akamai: new property version,
    rules (If-Match), activate on STAGING then PRODUCTION. Each apply is recorded in the
    change journal and the audit journal.

    Exit 0 applied or nothing to do, 1 failed with nothing live changed (or rolled back),
    2 usage error, 3 half-applied (the message says what is done and what is not).
    """
    when: datetime = parse_at(requested_at)
    audit = Journal()
    try:
        audit.check_writable()  # never change a vendor config without a trace
    except AuditError as exc:
        raise CdnctlError(str(exc), Exit.INVALID) from None
    journal = journal or default_state_dir() / "changes.jsonl"
    units = _units(settings, vendors, sites, vendors_path, timeout)
    try:
        report = apply_plans(units.plans, units.deployers)
    finally:
        units.close()
    change = record(report, who=who or current_user(), requested_at=when, journal_path=journal,
                    vendors_file=str(vendors_path), policy_dir=str(settings.policy_dir),
                    audit_dir=audit.directory)
    _render(report, change, journal, units.skipped, as_json)  # type: ignore[arg-type]


def register(group: click.Group) -> None:
    group.add_command(vendor_group)
