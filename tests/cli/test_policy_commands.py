"""`cdnctl validate | explain | sites` driven through click, as a user or CI would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cdnctl.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sites"
INTERIEUR = "www.interieur.gouv.fr"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    # A user mistake must never end in a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def bad_dir(tmp_path: Path) -> Path:
    (tmp_path / "www.example.gouv.fr.yaml").write_text(
        "site: www.example.gouv.fr\norigin: https://o.example.gouv.fr\nrules:\n"
        "  - {page: /a, ttl: 1m}\n  - {page: /a, ttl: 2m}\n")
    return tmp_path


def test_validate_examples() -> None:
    result = run("validate", str(EXAMPLES))
    assert result.exit_code == 0, result.output
    assert "valid — 3 file(s), 3 site(s)" in result.stdout


def test_validate_json() -> None:
    result = run("validate", str(EXAMPLES), "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0
    assert data["valid"] is True
    assert data["sites"] == ["www.france2030-sommet.gouv.fr", INTERIEUR, "www.journees-patrimoine.gouv.fr"]
    assert data["errors"] == []


def test_validate_invalid_lists_every_error_with_position(bad_dir: Path) -> None:
    result = run("validate", str(bad_dir))
    assert result.exit_code == 1
    lines = [ln for ln in result.stdout.splitlines() if ": error: " in ln]
    assert lines == [
        f"{bad_dir}/www.example.gouv.fr.yaml:1:1: error: no site-wide default rule; add "
        "{default: true, ttl: ...} to rules [missing-default]",
        f"{bad_dir}/www.example.gouv.fr.yaml:5:5: error: page /a is already defined on line 4 "
        "[duplicate-selector]",
    ]
    assert "invalid — 1 file(s), 1 site(s), 2 rule(s): 2 error(s), 0 warning(s)" in result.stdout
    data = json.loads(run("validate", str(bad_dir), "--json").stdout)
    assert data["valid"] is False
    assert [(e["line"], e["column"], e["code"]) for e in data["errors"]] == [
        (1, 1, "missing-default"), (5, 5, "duplicate-selector")]


def test_validate_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_validate_strict_fails_on_warnings(tmp_path: Path) -> None:
    (tmp_path / "www.example.gouv.fr.yaml").write_text(
        "site: www.example.gouv.fr\norigin: https://o.example.gouv.fr\nrules:\n  - {default: true, ttl: 400d}\n")
    assert run("validate", str(tmp_path)).exit_code == 0
    strict = run("validate", "--strict", str(tmp_path))
    assert strict.exit_code == 1
    assert "warning: ttl 400d is longer than a year [long-ttl]" in strict.stdout


def test_policy_dir_from_environment() -> None:
    result = run("sites", "--json", env={"CDNCTL_POLICY_DIR": str(EXAMPLES)})
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 3


def test_default_policy_dir_missing_says_how_to_set_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("sites")
    assert result.exit_code == 2
    assert "policy directory sites does not exist (set --policy-dir or CDNCTL_POLICY_DIR)" in result.stderr


def explain(*args: str) -> Result:
    return run("--policy-dir", str(EXAMPLES), "explain", *args)


def test_explain_json_contract() -> None:
    result = explain("--site", INTERIEUR, "--path", "/actualites/2027/a.html?utm=x",
                     "--content-type", "text/html; charset=UTF-8", "--at", "2027-01-10T12:00:00+01:00", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("site", "path", "content_type", "cache", "ttl", "override", "enabled")} == {
        "site": INTERIEUR, "path": "/actualites/2027/a.html", "content_type": "text/html",
        "cache": True, "ttl": 60, "override": None, "enabled": True}
    assert data["rule"]["file"] == str(EXAMPLES / f"{INTERIEUR}.yaml")
    assert (data["rule"]["line"], data["rule"]["selector"]) == (20, "directory /actualites/ + type text/html")
    assert [b["selector"] for b in data["beaten"]] == [
        "directory /actualites/", "site-wide + type text/html", "site default"]


def test_explain_override_window_boundaries() -> None:
    args = ("--site", INTERIEUR, "--path", "/resultats/2027/national.html", "--content-type", "text/html", "--json")
    before = json.loads(explain(*args, "--at", "2027-04-25T17:59:59.999999+02:00").stdout)
    start = json.loads(explain(*args, "--at", "2027-04-25T18:00:00+02:00").stdout)
    end = json.loads(explain(*args, "--at", "2027-04-26T06:00:00+02:00").stdout)
    assert (before["ttl"], before["override"]) == (300, None)
    assert (start["ttl"], start["override"]) == (10, "presidential election, first round night")
    assert (end["ttl"], end["override"]) == (300, None)
    # Without an offset --at is Paris time: 18:00 in Paris is the window's start.
    paris = json.loads(explain(*args, "--at", "2027-04-25T18:00:00").stdout)
    assert paris["override"] == "presidential election, first round night"


def test_explain_accepts_a_host_header_with_port() -> None:
    data = json.loads(explain("--site", "WWW.Interieur.gouv.fr.:443", "--path", "/", "--json").stdout)
    assert data["site"] == INTERIEUR


def test_explain_disabled_site_and_alias() -> None:
    off = json.loads(explain("--site", "journees-patrimoine.gouv.fr", "--path", "/", "--content-type", "text/html",
                             "--at", "2027-06-01T10:00:00+02:00", "--json").stdout)
    assert (off["site"], off["enabled"], off["cache"], off["ttl"], off["rule"]) == (
        "www.journees-patrimoine.gouv.fr", False, False, 0, None)
    human = explain("--site", "journees-patrimoine.gouv.fr", "--path", "/", "--at", "2027-06-01T10:00:00+02:00")
    assert "PASS — the site is switched off the CDN" in human.stdout


def test_explain_human_output_shows_winner_and_beaten() -> None:
    result = explain("--site", INTERIEUR, "--path", "/espace-agents/login", "--content-type", "text/html")
    assert result.exit_code == 0
    out = result.stdout
    assert "NOT CACHED" in out
    assert "rule r10: directory /espace-agents/ → no cache" in out
    assert "beat:" in out and "r5: site-wide + type text/html → cache 5m   line 17" in out


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--site", "nope.gouv.fr", "--path", "/"), 2, "no site 'nope.gouv.fr'"),
    (("--site", INTERIEUR, "--path", "/", "--at", "yesterday"), 2, "--at 'yesterday' is not ISO 8601"),
    (("--site", INTERIEUR), 2, "Missing option '--path'"),
])
def test_explain_usage_errors(args: tuple[str, ...], code: int, message: str) -> None:
    result = explain(*args)
    assert result.exit_code == code
    assert message in result.stderr


def test_explain_on_invalid_policy_fails_with_errors(bad_dir: Path) -> None:
    result = run("--policy-dir", str(bad_dir), "explain", "--site", "www.example.gouv.fr", "--path", "/a")
    assert result.exit_code == 1
    assert "duplicate-selector" in result.stderr
    assert "policy is invalid (2 error(s))" in result.stderr
    data = json.loads(run("--policy-dir", str(bad_dir), "explain", "--site", "www.example.gouv.fr",
                          "--path", "/a", "--json").stdout)
    assert data["ok"] is False and [e["code"] for e in data["errors"]] == ["missing-default", "duplicate-selector"]


def test_sites_table_and_json() -> None:
    at = "2027-09-18T10:00:00+02:00"
    rows = json.loads(run("--policy-dir", str(EXAMPLES), "sites", "--at", at, "--json").stdout)
    by_site = {r["site"]: r for r in rows}
    patrimoine = by_site["www.journees-patrimoine.gouv.fr"]
    assert (patrimoine["enabled"], patrimoine["enabled_now"]) == (False, True)
    assert patrimoine["active_override"] == "Journées européennes du patrimoine 2027"
    assert by_site[INTERIEUR]["rules"] == 15
    table = run("--policy-dir", str(EXAMPLES), "sites", "--at", at).stdout
    assert "www.journees-patrimoine.gouv.fr" in table and "Journées européennes du patrimoine 2027" in table


def test_demo_runs_the_main_job_on_bundled_examples(tmp_path: Path) -> None:
    result = run("demo", "--workdir", str(tmp_path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "valid — 3 file(s), 3 site(s)" in out
    assert out.count("$ cdnctl explain") == 9
    assert "CACHED for 10s" in out  # the election-night override decides
    assert "fidelity: every rule honoured exactly by varnish" in out
    assert "7 file(s): 7 ingested" in out and "112,000 lines = 112,000 records + 0 quarantined" in out
    assert "0 ingested, 7 skipped" in out  # the second ingest changes nothing
    assert "demo: every step succeeded" in out
    # Everything it wrote stayed in the work directory.
    assert (tmp_path / "edge" / "varnish" / "cdn.vcl").is_file()
    assert (tmp_path / "reports" / "weekly-www.interieur.gouv.fr-2027-W16.html").is_file()
    assert list((tmp_path / "reports").glob("monthly-2027-04*.html"))


def test_demo_fails_loudly_when_a_step_fails(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    (examples / "sites").mkdir(parents=True)
    (examples / "sites" / "broken.yaml").write_text("site: [\n")
    result = run("demo", "--examples", str(examples), "--workdir", str(tmp_path / "work"))
    assert result.exit_code == 1
    assert "demo: some steps failed:" in result.stdout
    assert "cdnctl validate" in result.stdout.split("demo: some steps failed:")[1]


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("cdnctl, version ")
    helptext = run("--help").stdout
    for verb in ("validate", "explain", "sites", "demo"):
        assert verb in helptext
