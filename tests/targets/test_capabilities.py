"""The capability matrix, `cdnctl targets`, and `cdnctl compile --strict` / fidelity report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cache_rules.targets import TARGETS, CompileOptions
from cache_rules.targets.base import plan_sites
from cache_rules.targets.capabilities import KINDS, LEVELS, MATRIX, fidelity_report
from cdnctl.cli import cli
from tests.cases import CASES_POLICY_DIR, load_cases_policy

OPTIONS = CompileOptions(check=False)


def test_matrix_covers_every_target_and_kind() -> None:
    assert set(MATRIX) == set(TARGETS)
    for target, row in MATRIX.items():
        assert set(row) == set(KINDS), target
        assert all(c.level in LEVELS for c in row.values())


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fidelity_agrees_with_matrix(target: str) -> None:
    """A target whose matrix row is all exact reports nothing for the case-table policy;
    every reported item's kind is one the matrix marks approximated/unsupported."""
    items = fidelity_report(TARGETS[target], plan_sites(load_cases_policy(), None, OPTIONS), OPTIONS)
    inexact = {k for k, c in MATRIX[target].items() if c.level != "exact"}
    assert {i.kind for i in items if i.kind != "override window"} <= inexact | {"directory", "disabled site"}
    if not inexact:
        assert items == []


def test_targets_command() -> None:
    result = CliRunner().invoke(cli, ["targets"])
    assert result.exit_code == 0, result.output
    assert "cloudflare" in result.output and "approximated" in result.output
    data = json.loads(CliRunner().invoke(cli, ["targets", "--json"]).output)
    assert data["targets"]["cloudflare"]["type"]["level"] == "approximated"
    assert data["targets"]["cloudfront"]["type"]["level"] == "exact"


def test_compile_strict_fails_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "ak"
    result = CliRunner().invoke(cli, ["--policy-dir", str(CASES_POLICY_DIR), "compile", "--target", "akamai",
                                      "-o", str(out), "--strict"])
    assert result.exit_code == 1
    assert "enc-slash" in result.output and not out.exists()


def test_compile_reports_fidelity_and_strict_passes_when_exact(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--policy-dir", str(CASES_POLICY_DIR), "compile", "--target", "cloudflare",
                                 "-o", str(tmp_path / "cf")])
    assert result.exit_code == 0, result.output
    assert "not exact: www.cases.example.fr: rule site-images (group) approximated" in result.output
    assert "fidelity: " in result.output
    result = runner.invoke(cli, ["--policy-dir", str(CASES_POLICY_DIR), "compile", "--target", "fastly",
                                 "-o", str(tmp_path / "fa"), "--strict", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True
    assert (tmp_path / "fa" / "fastly.vcl").exists()


@pytest.mark.parametrize("target, files", [
    ("fastly", {"fastly.vcl", "fastly-dictionary.json"}),
    ("akamai", {"akamai-rules.json"}),
    ("cloudflare", {"cloudflare-rulesets.json"}),
    ("cloudfront", {"cloudfront.json", "cloudfront-www.interieur.gouv.fr.js",
                    "cloudfront-www.france2030-sommet.gouv.fr.js", "cloudfront-www.journees-patrimoine.gouv.fr.js"}),
])
def test_cli_compile_vendor_targets_write_their_files(target: str, files: set[str], tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "sites"
    result = CliRunner().invoke(cli, ["--policy-dir", str(examples), "compile", "--target", target,
                                      "-o", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {Path(f).name for f in data["files"]} == files and len(data["sites"]) == 3
    assert data["check"] is not None
    for name in files:
        if name.endswith(".json"):
            json.loads((tmp_path / name).read_text())
