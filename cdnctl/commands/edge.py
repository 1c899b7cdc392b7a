"""`cdnctl compile`, `cdnctl plan`, `cdnctl apply`, `cdnctl site enable|disable`: edge configs.

Thin wrappers: the work is in :mod:`cache_rules.targets` (compile) and
:mod:`cdnctl.fleet` (plan/apply); this module parses options and renders.
"""

from __future__ import annotations

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
from cdnctl.commands.policy import parse_at
from cdnctl.errors import CdnctlError, Exit
from cdnctl.output import console, emit_json, json_option
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


def register(group: click.Group) -> None:
    group.add_command(compile_cmd)
