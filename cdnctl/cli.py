"""The `cdnctl` command line: parses options, calls the libraries, renders once."""

from __future__ import annotations

from pathlib import Path

import click

from cache_rules.diagnostics import PolicyError, Severity
from cdnctl import __version__
from cdnctl.commands import (
    api,
    audit,
    demo,
    dossier,
    edge,
    flush,
    logs,
    policy,
    reports,
    simulate,
    vendor_deploy,
    vendors_edge,
)
from cdnctl.errors import CdnctlError, Exit
from cdnctl.output import JSON_META, emit_json, fail, print_diagnostics
from cdnctl.settings import DEFAULT_POLICY_DIR, Settings


class CdnctlGroup(click.Group):
    """Turns the errors users can cause into one message and an exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CdnctlError as exc:
            if _wants_json(ctx):
                emit_json({"ok": False, "error": exc.message, "exit_code": int(exc.exit_code)})
            fail(exc.message)
            ctx.exit(int(exc.exit_code))
        except PolicyError as exc:
            errors = [d for d in exc.diagnostics if d.severity is Severity.ERROR]
            if _wants_json(ctx):
                emit_json({"ok": False, "error": "invalid policy",
                           "errors": [d.to_json() for d in errors], "exit_code": int(Exit.INVALID)})
            print_diagnostics(errors)
            fail(f"policy is invalid ({len(errors)} error(s)); run `cdnctl validate` for details")
            ctx.exit(int(Exit.INVALID))
        return None


def _wants_json(ctx: click.Context) -> bool:
    return bool(ctx.meta.get(JSON_META))


@click.group(cls=CdnctlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--policy-dir", type=click.Path(path_type=Path, file_okay=False), envvar="CDNCTL_POLICY_DIR",
              default=DEFAULT_POLICY_DIR, show_default=True, show_envvar=True,
              help="Directory of site policy files (one <site>.yaml per site).")
@click.version_option(__version__, prog_name="cdnctl")
@click.pass_context
def cli(ctx: click.Context, policy_dir: Path) -> None:
    """CDN cache policies, edge configs, flush, log ingestion and quality reports.

    Exit codes: 0 success, 1 invalid input or failed job, 2 usage error,
    3 partial failure.
    """
    ctx.obj = Settings(policy_dir=policy_dir)


policy.register(cli)
demo.register(cli)
logs.register(cli)
simulate.register(cli)  # adds `logs simulate` to the logs group
reports.register(cli)
edge.register(cli)
dossier.register(cli)
vendors_edge.register(cli)  # after edge: adds `targets`, compile --strict
vendor_deploy.register(cli)  # `cdnctl vendor plan|apply`
audit.register(cli)
flush.register(cli)
api.register(cli)


def main() -> None:
    cli(prog_name="cdnctl")
