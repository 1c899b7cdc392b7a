"""`cdnctl` loads a command's module only when that command is used (issue #10, "Speed").

The timing itself is in bench/bench_startup.py; these tests catch the regressions that
make start-up slow again (a heavy library imported at start) and keep the command table
in cdnctl/cli.py true to the commands it stands for.
"""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cdnctl.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "sites"
HEAVY = {"boto3", "botocore", "fastapi", "openpyxl", "xlsxwriter", "chdb", "clickhouse_connect", "uvicorn",
         "paramiko", "jinja2"}

# The registration cdnctl/cli.py did before the lazy table, in the same order: the table
# must give exactly the same commands (names, options, help, subcommands).
EAGER_MODULES = ("policy", "demo", "logs", "simulate", "reports", "edge", "dossier", "vendors_edge",
                 "vendor_deploy", "audit", "flush", "api")


def python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_import_loads_no_heavy_library() -> None:
    out = python("import cdnctl.cli, sys; print(sorted(m for m in sys.modules if m.split('.')[0] in "
                 f"{sorted(HEAVY)!r}))")
    assert out == "[]"


def _modules_after(args: list[str]) -> dict[str, list[object]]:
    """Run `cdnctl ARGS` in a fresh process: its return code and every module it imported."""
    code = ("import json, sys\nfrom cdnctl.cli import cli\n"
            f"rc = cli.main({args!r}, prog_name='cdnctl', standalone_mode=False)\n"
            "print(json.dumps({'rc': [rc], 'modules': sorted(sys.modules)}))")
    data: dict[str, list[object]] = json.loads(python(code).splitlines()[-1])
    return data


def test_top_level_help_imports_no_command_module() -> None:
    data = _modules_after(["--help"])
    assert data["rc"] == [0]
    loaded = [m for m in map(str, data["modules"]) if m.startswith("cdnctl.commands.")
              or m.split(".")[0] in HEAVY | {"cache_rules", "loggest", "reports", "rich"}]
    assert loaded == []


def test_explain_imports_only_the_policy_commands() -> None:
    data = _modules_after(["--policy-dir", str(EXAMPLES), "explain", "--site", "www.interieur.gouv.fr",
                           "--path", "/index.html", "--json"])
    assert data["rc"] == [None]
    modules = list(map(str, data["modules"]))
    assert [m for m in modules if m.startswith("cdnctl.commands.")] == ["cdnctl.commands.policy"]
    assert [m for m in modules if m.split(".")[0] in HEAVY | {"loggest", "reports"}] == []


def _first_paragraph(command: click.Command) -> str:
    return " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_table_help_is_the_commands_own(name: str) -> None:
    real = cli.get_command(click.Context(cli), name)
    assert real is not None and real.name == name
    listed = COMMANDS[name][1]
    assert listed == _first_paragraph(real)
    stand_in = click.Command(name, help=listed)
    for limit in (30, 45, 60, 200):
        assert stand_in.get_short_help_str(limit) == real.get_short_help_str(limit)
    assert not real.hidden and real.short_help is None  # else the listing would have to show them


def test_every_command_module_is_checked() -> None:
    modules = {p.stem for p in (ROOT / "cdnctl" / "commands").glob("*.py")} - {"__init__"}
    assert modules == set(EAGER_MODULES)


def test_table_gives_the_same_commands_as_eager_registration() -> None:
    eager = click.Group("cdnctl", params=cli.params, help=cli.help, context_settings=cli.context_settings)
    for module in EAGER_MODULES:
        importlib.import_module(f"cdnctl.commands.{module}").register(eager)
    assert sorted(eager.commands) == cli.list_commands(click.Context(cli))
    # Contexts as `cdnctl` makes them (help names -h/--help): click caches each command's help
    # option the first time it is built, so a command already run elsewhere in the session
    # (tests/test_readme.py) must compare with the same settings.
    lazy_info = cli.to_info_dict(click.Context(cli, **cli.context_settings))["commands"]
    eager_info = eager.to_info_dict(click.Context(eager, **cli.context_settings))["commands"]
    assert lazy_info == eager_info
    assert any("--strict" in p["opts"] for p in lazy_info["compile"]["params"])
    assert "simulate" in lazy_info["logs"]["commands"]


def test_help_listing_is_unchanged() -> None:
    # Both in fresh processes (same terminal width); the lazy listing comes from the table.
    eager = ("import click, importlib\ng = click.Group('cdnctl')\n"
             f"for m in {EAGER_MODULES!r}:\n"
             "    importlib.import_module('cdnctl.commands.' + m).register(g)\n"
             "g.main(['--help'], prog_name='cdnctl')")
    lazy = "from cdnctl.cli import main; import sys; sys.argv[1:] = ['--help']; main()"
    listings = [python(code).split("\nCommands:\n", 1)[1] for code in (eager, lazy)]
    assert listings[0] == listings[1]
