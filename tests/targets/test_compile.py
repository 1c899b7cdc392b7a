"""Compiling for every target: hostile values, the engine's own check, the CLI."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cache_rules.model import Policy, SitePolicy
from cache_rules.targets import (
    TARGETS,
    CompileOptions,
    ConfigCheckError,
    UnsafeValue,
    compile_policy,
)
from cache_rules.targets.plan import SAFE, checked
from cdnctl.cli import cli
from tests.cases import CASES_POLICY_DIR, load_cases_policy

TARGET_NAMES = sorted(TARGETS)
# the open-source engines this file checks with the engine itself; every target gets the
# hostile-value and CLI tests
ENGINES = {"varnish": "vcl 4.1", "nginx": "# Generated"}  # target → first line of its config
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sites"
HOSTILE = ['"', "\n", "\r", "{", "}", "${x}", "$(id)", "a b", "\\", ";", "'", "*", "`", "\x00", "é"]


def _site() -> SitePolicy:
    return load_cases_policy().sites["www.cases.example.fr"]


def _with(base: SitePolicy, **changes: object) -> Policy:
    return Policy({base.site: dataclasses.replace(base, **changes)})


@pytest.mark.parametrize("target", TARGET_NAMES)
@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_values_never_reach_a_config(target: str, bad: str) -> None:
    """A model built by hand (not by the loader) with hostile strings is refused, field by field."""
    site = _site()
    rule = site.rules[0]
    options = CompileOptions(check=False)
    attempts = {
        "host": _with(site, site="www." + bad + ".fr"),
        "alias": _with(site, aliases=(f"x{bad}.example.fr",)),
        "rule id": _with(site, rules=(dataclasses.replace(rule, id=f"r{bad}"), *site.rules[1:])),
        "page": _with(site, rules=(*site.rules, dataclasses.replace(
            site.rules[-1], id="hostile", path=f"/p{bad}"))),
        "type": _with(site, rules=(*site.rules, dataclasses.replace(
            rule, id="hostile", type_value="text/x" + bad, patterns=("text/x" + bad,)))),
    }
    for field, policy in attempts.items():
        if (field == "page" and SAFE["path"].fullmatch(f"/p{bad}")) or (
                field == "type" and SAFE["media"].fullmatch(f"text/x{bad}")):
            continue  # valid path (RFC 3986) or token (RFC 9110) characters: served by the e2e tests
        with pytest.raises(UnsafeValue):
            compile_policy(policy, target, options=options)
            pytest.fail(f"{field} with {bad!r} was compiled")
    with pytest.raises((UnsafeValue, ValueError)):
        compile_policy(Policy({site.site: site}), target,
                       options=CompileOptions(check=False, origins={"*": f"http://o{bad}rigin.fr/"}))


@pytest.mark.parametrize("bad", ['127.0.0.1"; }', "10.0.0.0/8 allow", "", "::1\n"])
def test_purger_addresses_are_validated(bad: str) -> None:
    with pytest.raises(UnsafeValue):
        CompileOptions(purgers=(bad,))


def test_checked_refuses_outside_alphabet() -> None:
    assert checked("path", "/a/b;c") == "/a/b;c"
    for kind, value in [("path", "/a b"), ("host", "a..b\n"), ("rule_id", "-x"), ("media", "text/ html")]:
        with pytest.raises(UnsafeValue):
            checked(kind, value)


@pytest.mark.parametrize("target", sorted(ENGINES))
def test_engine_rejection_carries_the_engine_message(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = TARGETS[target]
    if shutil.which(engine.engine) is None:
        pytest.skip(f"{engine.engine} not installed")
    original = type(engine).files

    def broken(self: object, plans: list, options: CompileOptions) -> dict[str, str]:  # type: ignore[type-arg]
        files = original(engine, plans, options)
        return {name: text + "\nthis_is_not_valid;\n" for name, text in files.items()}

    monkeypatch.setattr(type(engine), "files", broken)
    with pytest.raises(ConfigCheckError) as err:
        compile_policy(load_cases_policy(), target)
    # the engine's own words, with the place: "('…/cdn.vcl' Line 9 Pos 1)" / "in …/nginx.conf:9"
    assert "this_is_not_valid" in err.value.output
    assert re.search(r"Line \d+ Pos \d+|nginx\.conf:\d+", err.value.output), err.value.output


@pytest.mark.parametrize("target", sorted(ENGINES))
def test_frozen_and_live_configs_pass_the_engine_check(target: str) -> None:
    if shutil.which(TARGETS[target].engine) is None:
        pytest.skip("engine not installed")
    at = datetime.fromisoformat("2031-04-25T23:00:00+02:00")
    frozen = compile_policy(load_cases_policy(), target, options=CompileOptions(clock="frozen", at=at))
    live = compile_policy(load_cases_policy(), target)
    assert frozen.check is not None and live.check is not None
    assert frozen.files != live.files


def test_compile_options_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        CompileOptions(clock="frozen")
    with pytest.raises(ValueError):
        CompileOptions(clock="sundial")


# -- CLI ------------------------------------------------------------------------------

@pytest.mark.parametrize("target", TARGET_NAMES)
def test_cli_compile_writes_and_reports(target: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["--policy-dir", str(EXAMPLES), "compile", "--target", target,
                                      "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["target"] == target and len(data["sites"]) == 3
    assert TARGETS[target].main in [Path(f).name for f in data["files"]]
    assert all(Path(f).is_file() for f in data["files"])
    if target in ENGINES:  # one config file, which the engine loads
        assert [Path(f).name for f in data["files"]] == [TARGETS[target].main]
        assert (out / TARGETS[target].main).read_text().startswith(ENGINES[target])
    assert data["check"] is not None or data["check_skipped"]


def test_cli_compile_one_site_by_alias_with_origin_override(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--policy-dir", str(CASES_POLICY_DIR), "compile", "--target", "varnish",
                                      "--site", "events.example.fr", "--origin", "*=http://10.1.2.3:8080",
                                      "--at", "2031-04-25T23:00:00+02:00", "--no-check", "-o",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    vcl = (tmp_path / "cdn.vcl").read_text()
    assert '.host = "10.1.2.3"' in vcl and "www.events.example.fr" in vcl and "www.cases" not in vcl
    assert "syntax check skipped" in result.output


@pytest.mark.parametrize("args, code, message", [
    (["--site", "nope.example.fr"], 2, "no site"),
    (["--at", "tomorrow"], 2, "ISO 8601"),
    (["--origin", "nonsense"], 2, "SITE=URL"),
    (["--purger", "1.2.3.4; }"], 2, "refusing"),
])
def test_cli_compile_usage_errors(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = CliRunner().invoke(cli, ["--policy-dir", str(CASES_POLICY_DIR), "compile", "--target", "nginx",
                                      "-o", str(tmp_path), "--no-check", *args, "--json"])
    assert result.exit_code == code, result.output
    assert message in json.loads(result.stdout)["error"]
