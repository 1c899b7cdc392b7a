"""`cdnctl compile`, `cdnctl plan`, `cdnctl apply`, `cdnctl site enable|disable`: edge configs.

Thin wrappers: the work is in :mod:`cache_rules.targets` (compile) and
:mod:`cdnctl.fleet` (plan/apply); this module parses options and renders.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click
from rich.markup import escape

from cache_rules.model import Policy
from cache_rules.targets import (
    TARGETS,
    Compiled,
    CompileOptions,
    ConfigCheckError,
    UnsafeValue,
    compile_policy,
)
from cdnctl.audit import AuditError, Journal
from cdnctl.changes import (
    Change,
    JsonlChangeLog,
    RegisterUpdate,
    current_user,
    register_rows,
    update_register,
)
from cdnctl.commands.logs import STORE_HELP
from cdnctl.commands.policy import parse_at
from cdnctl.errors import CdnctlError, Exit
from cdnctl.fleet import ApplyResult, DecisionChange, Fleet, FleetError, Plan, load_fleet
from cdnctl.fleet import apply as fleet_apply
from cdnctl.fleet import plan as fleet_plan
from cdnctl.output import console, emit_json, err_console, json_option
from cdnctl.settings import Settings


def parse_origins(values: tuple[str, ...]) -> dict[str, str]:
    """``--origin SITE=URL`` (``*=URL`` for every site) → mapping."""
    out: dict[str, str] = {}
    for value in values:
        site, sep, url = value.partition("=")
        if not sep or not site or not url:
            raise CdnctlError(f"--origin {value!r}: expected SITE=URL (or *=URL)", Exit.USAGE)
        out[site.strip().lower()] = url.strip()
    return out


def compile_options(at: str | None, origins: tuple[str, ...], purgers: tuple[str, ...], listen: str,
                    state_dir: str, access_log: str, tls_proxy: str, check: bool) -> CompileOptions:
    try:
        return CompileOptions(
            clock="frozen" if at else "live", at=parse_at(at) if at else None,
            origins=parse_origins(origins), purgers=purgers or ("127.0.0.1", "::1"), listen=listen,
            state_dir=state_dir, access_log=access_log, tls_proxy=tls_proxy, check=check)
    except ValueError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None


@click.command("compile")
@click.option("--target", "target", required=True, type=click.Choice(sorted(TARGETS)),
              help="Edge engine to compile for.")
@click.option("--site", "sites", multiple=True, metavar="HOST",
              help="Compile only this site (primary host or alias); repeatable. Default: every site.")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Directory to write the config into (created if missing).")
@click.option("--at", "at", default=None, metavar="ISO8601",
              help="Freeze override windows at this instant (default: the config follows the "
                   "server's clock).")
@click.option("--origin", "origins", multiple=True, metavar="SITE=URL",
              help="Fetch SITE from URL instead of the policy's origin (*=URL for all); repeatable.")
@click.option("--purger", "purgers", multiple=True, metavar="IP[/BITS]",
              help="Address allowed to PURGE/BAN; repeatable. Default: 127.0.0.1 and ::1.")
@click.option("--listen", default="80", show_default=True, help="nginx: listen address (PORT or IP:PORT).")
@click.option("--state-dir", default="/var/cache/cdnctl/nginx", show_default=True,
              help="nginx: cache, sockets, temp files and pid.")
@click.option("--access-log", default="/var/log/nginx/cdn-access.log", show_default=True,
              help="nginx: access log path (format 'cdn').")
@click.option("--tls-proxy", default="127.0.0.1:4443", show_default=True,
              help="Varnish: HOST:PORT of the local TLS proxy that reaches https origins.")
@click.option("--no-check", is_flag=True, help="Skip the engine's syntax check.")
@json_option
@click.pass_obj
def compile_cmd(settings: Settings, target: str, sites: tuple[str, ...], output: Path, at: str | None,
                origins: tuple[str, ...], purgers: tuple[str, ...], listen: str, state_dir: str,
                access_log: str, tls_proxy: str, no_check: bool, as_json: bool) -> None:
    """Write the edge config for TARGET and syntax-check it with the engine when installed.

    Exit 0 when written and accepted, 1 when the policy is invalid or the engine refuses
    the config (its message is shown), 2 for a usage error (unknown site, bad option).
    """
    options = compile_options(at, origins, purgers, listen, state_dir, access_log, tls_proxy, not no_check)
    policy = settings.policy()
    compiled = run_compile(policy, target, list(sites), options)
    written = compiled.write(output)
    engine = TARGETS[target]
    check: dict[str, object] | None = None
    skipped = "--no-check" if no_check else f"{engine.engine} not installed"
    if compiled.check is not None:
        check = {"command": compiled.check.command, "seconds": round(compiled.check.seconds, 3),
                 "output": compiled.check.output.strip()}
    if as_json:
        emit_json({
            "ok": True, "target": target, "files": [str(p) for p in written], "sites": compiled.sites,
            "clock": options.clock, "at": options.at.isoformat() if options.at else None,
            "seconds": round(compiled.seconds, 3), "check": check,
            "check_skipped": None if check else skipped,
            "notes": compiled.notes,
        })
        return
    for path in written:
        console.print(f"wrote {escape(str(path))}")
    console.print(f"{len(compiled.sites)} site(s): {escape(', '.join(compiled.sites))}  "
                  f"[dim]({compiled.seconds * 1000:.0f} ms)[/]")
    if check:
        console.print(f"[green]{engine.engine} accepts it[/] ({check['seconds']} s)")
    else:
        console.print(f"[yellow]syntax check skipped[/] ({skipped})")
    for note in compiled.notes:
        console.print(f"  note: {escape(note)}")


def run_compile(policy: Policy, target: str, sites: list[str], options: CompileOptions) -> Compiled:
    """compile_policy with its failures turned into CLI errors."""
    try:
        return compile_policy(policy, target, sites, options)
    except KeyError as exc:
        raise CdnctlError(str(exc.args[0]), Exit.USAGE) from None
    except UnsafeValue as exc:
        raise CdnctlError(f"policy value refused: {exc}", Exit.INVALID) from None
    except ConfigCheckError as exc:
        raise CdnctlError(str(exc), Exit.INVALID, detail=exc.output) from None


# -- fleet: plan, apply, site enable|disable --------------------------------------------

fleet_option = click.option(
    "--fleet", "fleet_path", type=click.Path(path_type=Path, dir_okay=False), envvar="CDNCTL_FLEET",
    default="fleet.yaml", show_default=True, show_envvar=True, help="Fleet file: the edge nodes.")


def _load_fleet(path: Path) -> Fleet:
    try:
        return load_fleet(path)
    except FleetError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None


def _plan(fleet: Fleet, policy: Policy) -> Plan:
    try:
        return fleet_plan(fleet, policy)
    except FleetError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    except UnsafeValue as exc:
        raise CdnctlError(f"policy value refused: {exc}", Exit.INVALID) from None
    except ConfigCheckError as exc:
        raise CdnctlError(str(exc), Exit.INVALID, detail=exc.output) from None


def _plan_json(the_plan: Plan, with_diff: bool) -> dict[str, object]:
    return {
        "nodes": [{
            "node": n.node.name, "engine": n.node.engine, "action": n.action, "error": n.error,
            "deployed": n.deployed.ident, "sites": n.compiled.sites,
            **({"diff": n.diff()} if with_diff and n.action == "update" else {}),
        } for n in the_plan.nodes],
        "changes": len(the_plan.changed),
        "decisions_compared_with_last_apply": the_plan.previous_policy,
        "decisions": [{"site": d.site, "path": d.path, "content_type": d.content_type,
                       "before": d.before, "after": d.after} for d in the_plan.decisions],
    }


def _print_plan(the_plan: Plan, with_diff: bool) -> None:
    for n in the_plan.nodes:
        colour = {"unchanged": "dim", "create": "green", "update": "yellow"}.get(n.action, "red")
        line = f"[{colour}]{n.action:>11}[/]  {escape(n.node.name)} ({n.node.engine})"
        if n.error:
            line += f": {escape(n.error)}"
        console.print(line)
        if with_diff and n.action == "update":
            console.print(escape(n.diff()), highlight=False, markup=False)
    if the_plan.decisions:
        # grouped: one line per (site, before, after) with a sample request
        groups: dict[tuple[str, str, str], list[DecisionChange]] = {}
        for d in the_plan.decisions:
            groups.setdefault((d.site, d.before, d.after), []).append(d)
        console.print(f"{len(the_plan.decisions)} sample request(s) decided differently from the last apply:")
        for (site, before, after), items in groups.items():
            first = items[0]
            example = f"{first.path} {first.content_type or '(no type)'}"
            console.print(f"  {escape(site)}: {escape(before)} → {escape(after)}  "
                          f"[dim]{len(items)} sample(s), e.g. {escape(example)}[/]")
    elif the_plan.previous_policy:
        console.print("no decision changes")
    else:
        console.print("[dim]no previous apply recorded: decisions not compared[/]")
    console.print(f"{len(the_plan.changed)} node(s) to change, "
                  f"{len(the_plan.nodes) - len(the_plan.changed)} unchanged")


@click.command("plan")
@fleet_option
@click.option("--diff/--no-diff", "with_diff", default=True, show_default=True,
              help="Show the config diff of each node to update.")
@json_option
@click.pass_obj
def plan_cmd(settings: Settings, fleet_path: Path, with_diff: bool, as_json: bool) -> None:
    """Show, per node, what `cdnctl apply` would change: config diff and decisions.

    Read-only. Exit 0 whether or not there are changes; 1 if the policy is invalid or an
    engine refuses the config; 2 if the fleet file is unusable.
    """
    fleet = _load_fleet(fleet_path)
    the_plan = _plan(fleet, settings.policy())
    if as_json:
        emit_json(_plan_json(the_plan, with_diff))
    else:
        _print_plan(the_plan, with_diff)


@dataclass
class Records:
    """What an apply left behind besides the nodes: audit entry, register rows, dossiers."""

    audit_seq: int | None = None
    register: RegisterUpdate | None = None
    dossier: dict[str, object] | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"audit_seq": self.audit_seq,
                "register": self.register.to_json() if self.register else None,
                "dossier": self.dossier, "warnings": self.warnings}


def run_apply(settings: Settings, fleet: Fleet, requested_at: datetime, who: str, kind: str,
              what: str | None = None, site: str | None = None, store_url: str | None = None,
              dossier_dir: Path | None = None) -> tuple[ApplyResult, Change | None, Records]:
    """Validate, plan, apply, journal, then record: dossier, change register, audit.

    The caller renders the result. The audit journal is checked before any node is
    touched (a fleet change must never go unrecorded); the register and the dossier come
    after the change and never undo it: their failures are warnings the caller shows.
    """
    from cdnctl.commands.dossier import regenerate

    policy = settings.policy()
    journal = Journal()
    try:
        journal.check_writable()
    except AuditError as exc:
        raise CdnctlError(f"{exc}; nothing applied", Exit.INVALID) from None
    the_plan = _plan(fleet, policy)
    result = fleet_apply(fleet, policy, settings.policy_dir, the_plan)
    change = None
    if result.status != "unchanged" or kind != "apply":
        changed = [r.node for r in result.nodes if r.status in ("applied", "rolled-back")]
        summary = what or (f"{len(changed)} node(s) updated ({', '.join(changed)}); "
                           f"{len(the_plan.decisions)} decision change(s)" if changed else "no config change")
        sites = sorted({d.site for d in the_plan.decisions} if the_plan.previous_policy else
                       {s for n in the_plan.changed for s in n.compiled.sites})
        if site is not None:
            sites = [site]
        change = Change(
            who=who, requested_at=requested_at, effective_at=result.effective_at, what=summary, kind=kind,
            status=result.status, sites=tuple(sites),
            details={"fleet": str(fleet.path), "policy_dir": str(settings.policy_dir), "error": result.error,
                     "nodes": [vars(r) for r in result.nodes],
                     "decisions": [vars(d) for d in the_plan.decisions]})
        JsonlChangeLog(fleet.journal).append(change)
    records = Records()
    dossier_dir = dossier_dir or fleet.dossier
    if result.ok and dossier_dir is not None:
        # every successful apply (even "unchanged") rewrites the dossiers; regenerate also
        # writes this change's register rows, with dossier_updated_at set
        try:
            done = regenerate(settings, policy, dossier_dir, fleet, store_url)
            records.register = done.register
            records.dossier = {"directory": str(dossier_dir), "generated_at": done.generated_at.isoformat(),
                               "files": len(done.written) * 2}
            records.warnings += done.warnings
        except OSError as exc:
            records.warnings.append(f"dossier NOT regenerated in {dossier_dir}: {exc.strerror}")
    if change is not None and records.register is None:
        rows = register_rows(change)
        if rows:
            records.register = update_register(store_url, rows)
            if not records.register.ok:
                records.warnings.append(f"change register NOT updated (store {records.register.store}): "
                                        f"{records.register.error}; the change is in {fleet.journal}, "
                                        "`cdnctl dossier --fleet` adds it once the store is back")
    sites = list(change.sites) if change else ([site] if site else [])
    entry = journal.record(
        f"edge-{kind}" if kind == "apply" else kind, result.status, who=f"user:{who}",
        site=sites[0] if len(sites) == 1 else None,
        what={"change": change.id if change else None, "sites": sites,
              "summary": change.what if change else "no config change", "fleet": str(fleet.path),
              "requested_at": requested_at.isoformat(),
              "effective_at": result.effective_at.isoformat() if result.effective_at else None,
              "nodes": {r.node: r.status for r in result.nodes}, "error": result.error,
              "register": records.register.to_json() if records.register else None,
              "dossier": records.dossier})
    records.audit_seq = int(str(entry["seq"]))
    return result, change, records


def _render_apply(result: ApplyResult, change: Change | None, fleet: Fleet, records: Records,
                  as_json: bool) -> None:
    code = Exit.OK if result.ok else (Exit.PARTIAL if result.status == "partial" else Exit.INVALID)
    if as_json:
        # One JSON document with the per-node outcome, failure included (the CLI's generic
        # error document would lose which nodes were rolled back).
        emit_json({
            "ok": result.ok, "status": result.status, "error": result.error, "exit_code": int(code),
            "effective_at": result.effective_at.isoformat() if result.effective_at else None,
            "nodes": [vars(r) for r in result.nodes],
            "change": change.to_json() if change else None, "journal": str(fleet.journal),
            **records.to_json(),
        })
    else:
        for r in result.nodes:
            colour = {"applied": "green", "unchanged": "dim"}.get(r.status, "red")
            extra = f": {escape(r.message)}" if r.message else ""
            console.print(f"[{colour}]{r.status:>15}[/]  {escape(r.node)}{extra}")
        if result.ok:
            when = f"effective {result.effective_at.isoformat()}" if result.effective_at else "nothing to do"
            console.print(f"[green]{result.status}[/] — {when}")
        if change:
            console.print(f"[dim]change {change.id} recorded in {escape(str(fleet.journal))}[/]")
        if records.register is not None and records.register.ok:
            console.print(f"[dim]change register: {records.register.rows} row(s) written[/]")
        if records.dossier is not None:
            console.print(f"[dim]dossier regenerated in {escape(str(records.dossier['directory']))}[/]")
    for warning in records.warnings:
        # on stderr also with --json, so that a CI log shows it next to the JSON field
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    if not result.ok and as_json:
        raise SystemExit(int(code))
    if not result.ok:
        if result.status == "partial":
            raise CdnctlError(f"apply failed and some nodes could not be rolled back — the fleet is "
                              f"half-applied, check the nodes marked rollback-failed: {result.error}",
                              Exit.PARTIAL)
        if result.status == "failed":
            raise CdnctlError(f"apply failed, no node was changed: {result.error}", Exit.INVALID)
        raise CdnctlError(f"apply failed, every changed node was rolled back: {result.error}", Exit.INVALID)


def _requested(value: str | None) -> datetime:
    return parse_at(value)


apply_options = [
    click.option("--requested-at", "requested_at", default=None, metavar="ISO8601",
                 help="When the change was requested (the ticket's time; default now; no offset = "
                      "Europe/Paris). Recorded for QS-06."),
    click.option("--who", default=None, help="Who asked for the change (default $CDNCTL_WHO or the login)."),
    click.option("--store", "store", envvar="CDNCTL_CLICKHOUSE_URL", show_envvar=True, default=None,
                 metavar="URL", help="Change register store (QS-06/07). " + STORE_HELP),
    click.option("--dossier", "dossier_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                 help="Regenerate the definition dossiers here after the apply [default: the fleet "
                      "file's 'dossier', if set]."),
]


def _with_apply_options(f: Callable[..., object]) -> Callable[..., object]:
    for option in reversed(apply_options):
        f = option(f)
    return f


@click.command("apply")
@fleet_option
@_with_apply_options
@json_option
@click.pass_obj
def apply_cmd(settings: Settings, fleet_path: Path, requested_at: str | None, who: str | None,
              store: str | None, dossier_dir: Path | None, as_json: bool) -> None:
    """Validate the policy, then load the new config on every node of the fleet.

    Varnish: vcl.load + vcl.use; nginx: write, nginx -t, reload. If a node fails, every
    node already changed goes back to its previous config. Running it again with the
    same policy changes nothing. Each apply appends a change record to the journal.
    Exit 0 applied or nothing to do, 1 failed and rolled back (or invalid policy),
    2 usage error, 3 failed and NOT fully rolled back.
    """
    fleet = _load_fleet(fleet_path)
    result, change, records = run_apply(settings, fleet, _requested(requested_at), who or current_user(),
                                        "apply", store_url=store, dossier_dir=dossier_dir)
    _render_apply(result, change, fleet, records, as_json)


@click.group("site")
def site_group() -> None:
    """Switch a site on or off the CDN (edits its policy file, then applies)."""


def _set_enabled(settings: Settings, host: str, enabled: bool, fleet_path: Path, requested_at: str | None,
                 who: str | None, store: str | None, dossier_dir: Path | None, as_json: bool) -> None:
    fleet = _load_fleet(fleet_path)
    policy = settings.policy()
    site = policy.site_for_host(host)
    if site is None:
        known = ", ".join(sorted(policy.sites)) or "none"
        raise CdnctlError(f"no site {host!r} in {settings.policy_dir} (known: {known})", Exit.USAGE)
    path = Path(site.file)
    original = path.read_text(encoding="utf-8")
    edited = set_enabled_text(original, enabled)
    verb = "enable" if enabled else "disable"
    state = {True: "enabled", False: "disabled"}
    what = f"{site.site}: {state[site.enabled]} → {state[enabled]}"
    path.write_text(edited, encoding="utf-8")
    try:
        result, change, records = run_apply(settings, fleet, _requested(requested_at), who or current_user(),
                                            f"site-{verb}", what, site.site, store, dossier_dir)
    except BaseException:
        path.write_text(original, encoding="utf-8")
        raise
    if not result.ok:
        path.write_text(original, encoding="utf-8")  # the policy must describe what the fleet runs
    _render_apply(result, change, fleet, records, as_json)


_ENABLED_LINE = re.compile(r"^enabled:[ \t]*[^#\n]*?([ \t]*#.*)?$", re.M)


def set_enabled_text(text: str, enabled: bool) -> str:
    """The policy file text with its top-level ``enabled:`` set, comments kept."""
    value = "true" if enabled else "false"
    if _ENABLED_LINE.search(text):
        return _ENABLED_LINE.sub(lambda m: f"enabled: {value}{m.group(1) or ''}", text, count=1)
    site_line = re.search(r"^site:.*$", text, re.M)
    if site_line is None:
        raise CdnctlError("policy file has no top-level 'site:' line to put 'enabled:' after", Exit.INVALID)
    return text[: site_line.end()] + f"\nenabled: {value}" + text[site_line.end():]


@site_group.command("enable")
@click.argument("site")
@fleet_option
@_with_apply_options
@json_option
@click.pass_obj
def site_enable(settings: Settings, site: str, fleet_path: Path, requested_at: str | None, who: str | None,
                store: str | None, dossier_dir: Path | None, as_json: bool) -> None:
    """Put SITE on the CDN: set enabled: true in its policy file and apply to the fleet."""
    _set_enabled(settings, site, True, fleet_path, requested_at, who, store, dossier_dir, as_json)


@site_group.command("disable")
@click.argument("site")
@fleet_option
@_with_apply_options
@json_option
@click.pass_obj
def site_disable(settings: Settings, site: str, fleet_path: Path, requested_at: str | None, who: str | None,
                store: str | None, dossier_dir: Path | None, as_json: bool) -> None:
    """Take SITE off the CDN (pass-through): set enabled: false and apply to the fleet."""
    _set_enabled(settings, site, False, fleet_path, requested_at, who, store, dossier_dir, as_json)


def register(group: click.Group) -> None:
    for command in (compile_cmd, plan_cmd, apply_cmd, site_group):
        group.add_command(command)
