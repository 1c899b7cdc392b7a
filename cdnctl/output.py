"""Rendering for people (rich) and for CI (JSON on stdout), chosen per command."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import click
from rich.console import Console

if TYPE_CHECKING:
    from cache_rules.diagnostics import Diagnostic

JSON_META = "cdnctl.json"

# Piped output keeps whole lines (CI logs, grep) instead of wrapping at 80 columns.
_WIDTH = None if sys.stdout.isatty() else 200
console = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_diagnostics(diags: Iterable[Diagnostic], to_stderr: bool = True) -> None:
    from cache_rules.diagnostics import Severity  # not at import: `import cache_rules` loads the loader

    out = err_console if to_stderr else console
    for d in diags:
        style = "red" if d.severity is Severity.ERROR else "yellow"
        out.print(f"{d.location}: [{style}]{d.severity.value}[/]: {_esc(d.message)} [dim]\\[{d.code}][/]")


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def fail(message: str) -> None:
    err_console.print(f"[red]error:[/] {_esc(message)}")


def is_tty() -> bool:
    return sys.stdout.isatty()


def json_option(f: Callable[..., object]) -> Callable[..., object]:
    """``--json``: machine output on stdout; errors then also come out as JSON."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.meta[JSON_META] = True
        return value

    return click.option("--json", "as_json", is_flag=True, callback=remember,
                        help="Print machine-readable JSON on stdout.")(f)
