"""`cdnctl targets` (capability matrix), `cdnctl compile --strict` (fidelity report) and
`cdnctl vendor plan|apply` (commercial CDN configs through their APIs).

Thin wrappers: the matrix and fidelity items are :mod:`cache_rules.targets.capabilities`,
the vendor API clients :mod:`cdnctl.deploy`. ``compile`` is the command of
:mod:`cdnctl.commands.edge` with ``--strict`` added: it runs the fidelity check first
(nothing is written when ``--strict`` fails) and then the regular compile, whose notes
list every rule that is not honoured exactly (``not exact: …``).
"""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from cache_rules.targets import TARGETS, UnsafeValue
from cache_rules.targets.base import plan_sites
from cache_rules.targets.capabilities import KINDS, MATRIX, fidelity_report
from cdnctl.commands import edge
from cdnctl.errors import CdnctlError, Exit
from cdnctl.output import console, emit_json, json_option
from cdnctl.settings import Settings

_COLOURS = {"exact": "green", "approximated": "yellow", "unsupported": "red"}


def matrix() -> dict[str, dict[str, dict[str, str]]]:
    return {t: {k: {"level": MATRIX[t][k].level, "note": MATRIX[t][k].note} for k in KINDS}
            for t in TARGETS if t in MATRIX}


@click.command("targets")
@json_option
def targets_cmd(as_json: bool) -> None:
    """Show what each target can express of the resolution order (SPEC §2).

    exact: same decision as SPEC for every request; approximated: close, see the note
    and `cdnctl compile --target T` for the rules concerned; unsupported: the rule is
    left out and the next matching rule decides.
    """
    data = matrix()
    if as_json:
        emit_json({"kinds": list(KINDS), "targets": data})
        return
    table = Table(show_header=True, header_style="bold")
    table.add_column("target")
    for kind in KINDS:
        table.add_column(kind)
    for target, row in data.items():
        table.add_row(target, *(f"[{_COLOURS[row[k]['level']]}]{row[k]['level']}[/]"
                                + ("*" if row[k]["note"] else "") for k in KINDS))
    console.print(table)
    for target, row in data.items():
        for kind in KINDS:
            if row[kind]["note"]:
                console.print(f"  {target} / {kind}: {escape(row[kind]['note'])}")


def _strict_compile(ctx: click.Context, strict: bool, **kwargs: object) -> None:
    settings: Settings = ctx.obj
    target = str(kwargs["target"])
    items: list[object] = []
    if strict or not kwargs.get("as_json"):
        options = edge.compile_options(
            kwargs["at"], kwargs["origins"], kwargs["purgers"], kwargs["listen"],  # type: ignore[arg-type]
            kwargs["state_dir"], kwargs["access_log"], kwargs["tls_proxy"], False)  # type: ignore[arg-type]
        policy = settings.policy()
        try:
            plans = plan_sites(policy, list(kwargs["sites"]), options)  # type: ignore[call-overload]
        except KeyError as exc:
            raise CdnctlError(str(exc.args[0]), Exit.USAGE) from None
        except UnsafeValue as exc:
            raise CdnctlError(f"policy value refused: {exc}", Exit.INVALID) from None
        items = fidelity_report(TARGETS[target], plans, options)
        if strict and items:
            for item in items:
                console.print(f"  not exact: {escape(item.line())}")  # type: ignore[attr-defined]
            raise CdnctlError(f"--strict: {len(items)} rule(s) or request class(es) not honoured exactly by "
                              f"{target}; nothing written", Exit.INVALID)
    ctx.invoke(edge.compile_cmd, **kwargs)
    if not kwargs.get("as_json"):
        if items:
            console.print(f"fidelity: [yellow]{len(items)} item(s) not honoured exactly[/] (listed above as "
                          "'not exact'); --strict makes this an error")
        else:
            console.print(f"fidelity: [green]every rule honoured exactly by {target}[/]")


def compile_command() -> click.Command:
    """edge.compile_cmd with ``--strict`` and the fidelity summary."""
    strict = click.Option(["--strict"], is_flag=True,
                          help="Exit 1 (and write nothing) if the target cannot honour every rule exactly.")
    return click.Command(
        "compile", params=[*edge.compile_cmd.params, strict],
        callback=click.pass_context(_strict_compile),
        help=(edge.compile_cmd.help or "") + "\n\nEvery rule the target cannot honour exactly is listed as "
             "'not exact' with what happens instead; --strict makes that exit 1. See `cdnctl targets`.",
        short_help=edge.compile_cmd.short_help)


def register(group: click.Group) -> None:
    group.add_command(targets_cmd)
    group.add_command(compile_command())  # replaces edge's compile: same options + --strict
