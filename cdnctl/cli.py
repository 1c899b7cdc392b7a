"""The `cdnctl` command line: parses options, calls the libraries, renders once."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from cdnctl import __version__
from cdnctl.errors import CdnctlError, Exit
from cdnctl.settings import DEFAULT_POLICY_DIR, Settings

# Every command, in one table: name → ("module:attribute", first paragraph of its help).
# The module is imported only when the command runs (or its own --help is shown), so
# `cdnctl --help` and light commands never pay for boto3, fastapi, chdb, openpyxl…
# An attribute that is not a click command is a factory called once (compile).
# The help text is what `cdnctl --help` lists; tests/cli/test_lazy_commands.py checks it
# against each command's real help so the two cannot drift.
COMMANDS: dict[str, tuple[str, str]] = {
    "apply": ("cdnctl.commands.edge:apply_cmd",
              "Validate the policy, then load the new config on every node of the fleet."),
    "audit": ("cdnctl.commands.audit:audit",
              "List the audit journal: who did what, when, from where, and the result."),
    "changes": ("cdnctl.commands.reports:changes",
                "The configuration change register (QS-06, QS-07)."),
    # edge's compile with --strict and the fidelity summary (cdnctl/commands/vendors_edge.py)
    "compile": ("cdnctl.commands.vendors_edge:compile_command",
                "Write the edge config for TARGET and syntax-check it with the engine when installed."),
    "demo": ("cdnctl.commands.demo:demo",
             "Run the main job end to end on the bundled examples, printing each command."),
    "dossier": ("cdnctl.commands.dossier:dossier_cmd",
                "Write the definition dossier of each site as Markdown and HTML."),
    "explain": ("cdnctl.commands.policy:explain",
                "Say whether a request is cached, for how long, and which rule decided."),
    "flush": ("cdnctl.commands.flush:flush",
              "Purge URLs (or a prefix, tags, everything) of one site on every node and vendor."),
    "incidents": ("cdnctl.commands.reports:incidents",
                  "The incident register (QS-02..QS-05)."),
    "logs": ("cdnctl.commands.logs:logs",
             "Ingest CDN access logs into ClickHouse (exactly once), inspect them, publish them to sites."),
    "plan": ("cdnctl.commands.edge:plan_cmd",
             "Show, per node, what `cdnctl apply` would change: config diff and decisions."),
    "probe": ("cdnctl.commands.reports:probe_cmd",
              "Check each site through the CDN and store the results (for cron, every minute)."),
    "probes": ("cdnctl.commands.reports:probes",
               "Probe results (checks of each site through the CDN), the second source of QS-02."),
    "report": ("cdnctl.commands.reports:report",
               "Reports: traffic statistics and the monthly quality indicators (QS-01..QS-07)."),
    "serve-api": ("cdnctl.commands.api:serve_api",
                  "Serve POST /api/v1/sites/{site}/flush for publishing systems "
                  "(OpenAPI: /api/v1/openapi.json)."),
    "site": ("cdnctl.commands.edge:site_group",
             "Switch a site on or off the CDN (edits its policy file, then applies)."),
    "sites": ("cdnctl.commands.policy:sites",
              "List sites with their enabled state, rule counts and override windows."),
    "targets": ("cdnctl.commands.vendors_edge:targets_cmd",
                "Show what each target can express of the resolution order (SPEC §2)."),
    "token": ("cdnctl.commands.api:token",
              "API tokens for publishing systems, scoped to sites."),
    "validate": ("cdnctl.commands.policy:validate",
                 "Check every site policy; list all errors and warnings with file:line:col."),
    "vendor": ("cdnctl.commands.vendor_deploy:vendor_group",
               "Plan / apply the policy on commercial CDNs (Cloudflare, Fastly, CloudFront, Akamai) "
               "through their APIs."),
}

# Modules whose ``register(cli)`` adds subcommands to a command once it is loaded.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "logs": ("cdnctl.commands.simulate",),  # `logs simulate`
}


def _load(target: str) -> click.Command:
    module_name, _, attribute = target.partition(":")
    found = getattr(importlib.import_module(module_name), attribute)
    command = found if isinstance(found, click.Command) else found()
    assert isinstance(command, click.Command), target
    return command


class CdnctlGroup(click.Group):
    """Loads each command from :data:`COMMANDS` when it is used, and turns the errors
    users can cause into one message and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(_load(COMMANDS[cmd_name][0]), cmd_name)
            for module_name in EXTENSIONS.get(cmd_name, ()):
                importlib.import_module(module_name).register(self)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:
            # "Did you mean …?" among every command, not only the ones loaded so far.
            raise click.exceptions.NoSuchCommand(exc.command_name, possibilities=self.list_commands(ctx),
                                                 ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The listing from the table, without importing any command module.
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CdnctlError as exc:
            from cdnctl.output import emit_json, fail

            if _wants_json(ctx):
                emit_json({"ok": False, "error": exc.message, "exit_code": int(exc.exit_code)})
            fail(exc.message)
            ctx.exit(int(exc.exit_code))
        except Exception as exc:
            # A PolicyError can only come from an imported cache_rules.diagnostics; looking it
            # up instead of importing it keeps click's own exits (a subcommand's --help) cheap.
            diagnostics = sys.modules.get("cache_rules.diagnostics")
            if diagnostics is None or not isinstance(exc, diagnostics.PolicyError):
                raise
            from cdnctl.output import emit_json, fail, print_diagnostics

            errors = [d for d in exc.diagnostics if d.severity is diagnostics.Severity.ERROR]
            if _wants_json(ctx):
                emit_json({"ok": False, "error": "invalid policy",
                           "errors": [d.to_json() for d in errors], "exit_code": int(Exit.INVALID)})
            print_diagnostics(errors)
            fail(f"policy is invalid ({len(errors)} error(s)); run `cdnctl validate` for details")
            ctx.exit(int(Exit.INVALID))
        return None


def _wants_json(ctx: click.Context) -> bool:
    from cdnctl.output import JSON_META

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
    3 partial failure, 4 busy (another run holds the lock).
    """
    ctx.obj = Settings(policy_dir=policy_dir)


def main() -> None:
    cli(prog_name="cdnctl")
