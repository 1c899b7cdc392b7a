"""The README stays true: its Quick start is what CI runs, and its `cdnctl` commands work.

Every line starting with `cdnctl ` inside a ```sh block is run (through click, from the
repository root, with a private data directory, so an empty store) and must exit 0, or
the code its comment announces (`# exit 3: …`). Blocks in other languages (```text,
```bash) are illustrations and are not run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def commands(block: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", block)  # backslash continuations
    return [ln.split(" #")[0].strip() for ln in joined.splitlines() if ln.strip()]


def quick_start() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (block,) = sh_blocks(section)
    return commands(block)


def test_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    setup, tests = quick_start()
    assert setup.endswith("cdnctl demo") and "pip install -e '.[test]'" in setup
    assert tests == ".ci/run"
    ci = (ROOT / ".ci" / "run").read_text()
    assert ".venv/bin/python -m pytest" in ci and '"$rc" -eq 5' in ci


def expected_codes(block: str) -> dict[str, int]:
    joined = re.sub(r"\\\n\s*", " ", block)
    out = {}
    for ln in joined.splitlines():
        m = re.search(r" #\s*exit (\d+)", ln)
        out[ln.split(" #")[0].strip()] = int(m.group(1)) if m else 0
    return out


EXPECTED = {c: code for b in sh_blocks(README) for c, code in expected_codes(b).items()}
README_COMMANDS = [c for b in sh_blocks(README) for c in commands(b) if c.startswith("cdnctl ")]


def test_readme_has_commands() -> None:
    assert len(README_COMMANDS) >= 3


@pytest.mark.parametrize("command", README_COMMANDS)
def test_readme_command_runs(command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    result = CliRunner().invoke(cli, shlex.split(command)[1:])
    assert result.exit_code == EXPECTED.get(command, 0), f"{command}\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
