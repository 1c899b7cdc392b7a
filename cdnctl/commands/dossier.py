"""`cdnctl dossier`: write the definition dossiers and mark the changes they document (QS-07)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.markup import escape

from cache_rules.model import Policy
from cdnctl import dossier as dossiers
from cdnctl.changes import JsonlChangeLog, RegisterUpdate, register_rows, update_register
from cdnctl.commands.logs import store_option
from cdnctl.errors import CdnctlError, Exit
from cdnctl.fleet import Fleet, FleetError, is_applied, load_fleet
from cdnctl.output import console, emit_json, err_console, json_option
from cdnctl.settings import Settings
from reports.registers import Change as RegisterChange


@dataclass
class Regenerated:
    written: list[dossiers.Written]
    generated_at: datetime
    register: RegisterUpdate | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "files": [str(p) for w in self.written for p in (w.markdown, w.html)],
            "sites": [w.dossier.to_json() for w in self.written],
            "register": self.register.to_json() if self.register else {"updated": False, "rows": 0,
                                                                       "error": "; ".join(self.warnings)},
            "warnings": self.warnings,
        }


def documented_rows(fleet: Fleet, sites: list[str]) -> list[RegisterChange]:
    """Register rows of the applied changes, in the fleet's journal, of the given sites."""
    wanted = set(sites)
    rows: list[RegisterChange] = []
    for change in JsonlChangeLog(fleet.journal).read():
        rows += [r for r in register_rows(change) if r.site in wanted]
    return rows


def regenerate(settings: Settings, policy: Policy, out_dir: Path, fleet: Fleet | None, store_url: str | None,
               sites: list[str] | None = None, mark: bool = True) -> Regenerated:
    """Write the dossiers, then set ``dossier_updated_at`` on the register rows they document.

    A dossier documents the applied changes only when the policy it is made from is the
    one the fleet runs: otherwise the rows are left alone and the caller is told why.
    """
    now = datetime.now(UTC)
    written = dossiers.write(policy, out_dir, fleet, sites, now)
    done = Regenerated(written, now)
    if not mark:
        return done
    if fleet is None:
        done.warnings.append("no fleet file: no change journal, change register not updated")
        return done
    if not is_applied(fleet, settings.policy_dir):
        done.warnings.append(f"{settings.policy_dir} differs from the policy last applied to the fleet: "
                             "this dossier does not describe what runs, change register not updated")
        return done
    rows = documented_rows(fleet, [w.site for w in written])
    done.register = update_register(store_url, [], touch_dossier=(rows, now))
    if not done.register.ok:
        done.warnings.append(f"change register NOT updated (store {done.register.store}): "
                             f"{done.register.error}")
    return done


def _fleet(path: Path | None) -> Fleet | None:
    if path is None:
        default = Path("fleet.yaml")
        if not default.exists():
            return None
        path = default
    try:
        return load_fleet(path)
    except FleetError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None


@click.command("dossier")
@click.option("--site", "sites", multiple=True, metavar="HOST",
              help="Only this site (primary host or alias); repeatable. Default: every site.")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Directory to write <site>.md and <site>.html into (created if missing).")
@click.option("--fleet", "fleet_path", type=click.Path(path_type=Path, dir_okay=False), envvar="CDNCTL_FLEET",
              default=None, show_envvar=True,
              help="Fleet file: lists the nodes and the purge ACL, and its change journal is marked "
                   "as documented [default: ./fleet.yaml when it exists].")
@store_option
@json_option
@click.pass_obj
def dossier_cmd(settings: Settings, sites: tuple[str, ...], output: Path, fleet_path: Path | None,
                store: str | None, as_json: bool) -> None:
    """Write the definition dossier of each site as Markdown and HTML.

    Domain and aliases, origin and how each node reaches it, enabled state, the cache
    rules with their file:line, the effective TTL per directory/page and content type,
    override windows, purge ACL and nodes. When the policy is the one last applied to
    the fleet, the applied changes it documents get their dossier_updated_at set in the
    change register (QS-07). Exit 0 written (a register that cannot be updated is a
    warning), 1 invalid policy, 2 usage error.
    """
    policy = settings.policy()
    chosen = []
    for host in sites:
        site = policy.site_for_host(host)
        if site is None:
            known = ", ".join(sorted(policy.sites)) or "none"
            raise CdnctlError(f"no site {host!r} in {settings.policy_dir} (known: {known})", Exit.USAGE)
        chosen.append(site.site)
    fleet = _fleet(fleet_path)
    try:
        done = regenerate(settings, policy, output, fleet, store, chosen or None)
    except OSError as exc:
        raise CdnctlError(f"cannot write the dossier into {output}: {exc.strerror}", Exit.INVALID) from None
    if as_json:
        emit_json({"ok": True, **done.to_json()})
        return
    for w in done.written:
        console.print(f"wrote {escape(str(w.markdown))} and {escape(w.html.name)}")
    if done.register is not None and done.register.ok:
        console.print(f"change register: {done.register.rows} row(s) marked documented at "
                      f"{done.generated_at.isoformat(timespec='seconds')}")
    for warning in done.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")


def register(group: click.Group) -> None:
    group.add_command(dossier_cmd)
