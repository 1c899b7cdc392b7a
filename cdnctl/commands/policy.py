"""`cdnctl validate`, `cdnctl explain`, `cdnctl sites`: read-only policy commands."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from cache_rules.resolve import SiteResolver, candidates
from cache_rules.serialize import decision_json, site_json
from cache_rules.values import format_duration
from cdnctl.errors import CdnctlError, Exit
from cdnctl.options import PARIS, parse_at
from cdnctl.output import console, emit_json, json_option, print_diagnostics
from cdnctl.settings import Settings

__all__ = ["explain", "parse_at", "register", "sites", "validate"]


@click.command()
@click.argument("policy_dir", required=False, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@json_option
@click.pass_obj
def validate(settings: Settings, policy_dir: Path | None, strict: bool, as_json: bool) -> None:
    """Check every site policy; list all errors and warnings with file:line:col.

    Exit 0 when valid, 1 when invalid, 2 when the directory cannot be used.
    """
    if policy_dir is not None:
        settings = Settings(policy_dir=policy_dir)
    result = settings.load()
    failed = bool(result.errors) or (strict and bool(result.warnings))
    if as_json:
        emit_json({
            "valid": not failed,
            "policy_dir": str(settings.policy_dir),
            "files": result.files,
            "sites": sorted(result.policy.sites),
            "rules": sum(len(s.rules) for s in result.policy.sites.values()),
            "errors": [d.to_json() for d in result.errors],
            "warnings": [d.to_json() for d in result.warnings],
        })
    else:
        print_diagnostics(result.diagnostics, to_stderr=False)
        nrules = sum(len(s.rules) + sum(len(w.rules) for w in s.overrides)
                     for s in result.policy.sites.values())
        summary = (f"{len(result.files)} file(s), {len(result.policy.sites)} site(s), {nrules} rule(s): "
                   f"{len(result.errors)} error(s), {len(result.warnings)} warning(s)")
        verdict = "[red]invalid[/]" if failed else "[green]valid[/]"
        console.print(f"{verdict} — {summary}")
    if failed:
        raise SystemExit(int(Exit.INVALID))


@click.command()
@click.option("--site", required=True, help="Site host name (primary or alias).")
@click.option("--path", "path", required=True, help="URL path; a query string is ignored.")
@click.option("--content-type", "content_type", default=None,
              help="Content-Type of the origin's response (parameters ignored).")
@click.option("--at", "at", default=None, metavar="ISO8601",
              help="Decide at this time (default now; no offset = Europe/Paris).")
@json_option
@click.pass_obj
def explain(settings: Settings, site: str, path: str, content_type: str | None, at: str | None,
            as_json: bool) -> None:
    """Say whether a request is cached, for how long, and which rule decided."""
    when = parse_at(at)
    policy = settings.policy()
    site_policy = policy.site_for_host(site)
    if site_policy is None:
        known = ", ".join(sorted(policy.sites)) or "none"
        raise CdnctlError(f"no site {site!r} in {settings.policy_dir} (known: {known})", Exit.USAGE)
    decision = SiteResolver(site_policy).decide(path, content_type, when)
    _window, ranked = candidates(site_policy, path, content_type, when)
    beaten = [r for r in ranked if r is not decision.rule] if decision.enabled else []
    if as_json:
        emit_json(decision_json(decision, site_policy, when, beaten))
        return
    ct = decision.content_type or "(no type)"
    console.print(f"[bold]{escape(decision.site)}[/] {escape(decision.path)}  {escape(ct)}  "
                  f"at {when.astimezone(PARIS).replace(microsecond=0).isoformat()}")
    if not decision.enabled:
        console.print("[yellow]PASS[/] — the site is switched off the CDN (enabled: false): "
                      "every request goes to the origin")
        return
    rule = decision.rule
    assert rule is not None  # a valid policy always has a default rule
    verdict = (f"[green]CACHED[/] for {format_duration(decision.ttl)} ({decision.ttl} s)"
               if decision.cache else "[yellow]NOT CACHED[/] (fetched from the origin every time)")
    console.print(verdict)
    origin = f"  during override '{escape(decision.override.reason)}'" if decision.override else ""
    console.print(f"  rule {escape(rule.id)}: {escape(rule.describe())} → {rule.action()}   "
                  f"[dim]{escape(site_policy.file)}:{rule.location.line}[/]{origin}")
    if beaten:
        console.print("  beat:")
        for other in beaten:
            tag = " (override)" if other.window is not None else ""
            console.print(f"    {escape(other.id)}: {escape(other.describe())} → {other.action()}{tag}   "
                          f"[dim]line {other.location.line}[/]")


@click.command()
@click.option("--at", "at", default=None, metavar="ISO8601", help="State at this time (default now).")
@json_option
@click.pass_obj
def sites(settings: Settings, at: str | None, as_json: bool) -> None:
    """List sites with their enabled state, rule counts and override windows."""
    from rich.table import Table  # not needed by validate / explain

    when = parse_at(at)
    policy = settings.policy()
    rows = [site_json(s, when) for s in sorted(policy.sites.values(), key=lambda s: s.site)]
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"{len(rows)} site(s) in {settings.policy_dir}")
    for col in ("site", "enabled now", "rules", "windows", "active override", "origin"):
        table.add_column(col)
    for row in rows:
        enabled = "[green]yes[/]" if row["enabled_now"] else "[yellow]no (pass-through)[/]"
        windows = row["override_windows"]
        assert isinstance(windows, list)
        table.add_row(escape(str(row["site"])), enabled, str(row["rules"]), str(len(windows)),
                      escape(str(row["active_override"] or "—")), escape(str(row["origin"])))
    console.print(table)


def register(group: click.Group) -> None:
    for command in (validate, explain, sites):
        group.add_command(command)
