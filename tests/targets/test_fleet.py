"""Fleet file, change journal and the policy edit of `cdnctl site` (no servers needed)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.changes import Change, JsonlChangeLog
from cdnctl.cli import cli
from cdnctl.commands.edge import set_enabled_text
from cdnctl.fleet import FleetError, decision_changes, load_fleet, sample_requests
from tests.cases import CASES_POLICY_DIR, load_cases_policy

ROOT = Path(__file__).resolve().parents[2]


def test_example_fleet_loads() -> None:
    fleet = load_fleet(ROOT / "examples" / "fleet.yaml")
    assert [n.engine for n in fleet.nodes] == ["varnish", "varnish", "nginx"]
    assert fleet.nodes[2].sites == ("www.interieur.gouv.fr",)
    assert fleet.journal == ROOT / "examples" / ".cdnctl" / "changes.jsonl"
    assert fleet.options(fleet.nodes[0]).purgers == ("127.0.0.1", "::1", "10.20.0.0/24")


@pytest.mark.parametrize("text, message", [
    ("nodes: []", "non-empty list"),
    ("nodes: [{name: a, engine: squid}]", "engine must be one of"),
    ("nodes: [{name: a, engine: varnish, admin: 'h:1', secret: s}]", "missing vcl_dir"),
    ("nodes: [{name: a, engine: nginx, config: /x, admin: 'h:1'}]", "unknown key 'admin'"),
    ("nodes: [{name: a, engine: nginx, config: /x}, {name: a, engine: nginx, config: /y}]", "used twice"),
    ("purgers: ['1.2.3.4; deny']\nnodes: [{name: a, engine: nginx, config: /x}]", "not an IP"),
    ("nodes: [{name: 'a b', engine: nginx, config: /x}]", "name must be"),
    ("colour: blue\nnodes: [{name: a, engine: nginx, config: /x}]", "unknown key 'colour'"),
    ("[1, 2", "YAML syntax"),
])
def test_bad_fleet_files_say_why(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    with pytest.raises(FleetError, match=message):
        load_fleet(path)


def test_cli_reports_a_bad_fleet_as_usage_error(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text("nodes: []")
    result = CliRunner().invoke(cli, ["--policy-dir", str(CASES_POLICY_DIR), "plan", "--fleet",
                                      str(tmp_path / "fleet.yaml"), "--json"])
    assert result.exit_code == 2 and "non-empty" in json.loads(result.stdout)["error"]


def test_unreachable_node_stops_apply_before_any_change(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("nodes: [{name: gone, engine: varnish, admin: '127.0.0.1:1', secret: /nonexistent, "
                     "vcl_dir: /tmp/x}]")
    result = CliRunner().invoke(cli, ["--policy-dir", str(CASES_POLICY_DIR), "apply", "--fleet", str(fleet),
                                      "--json"])
    out = json.loads(result.stdout)
    assert result.exit_code == 1 and not out["ok"] and "unreachable" in out["error"]
    assert [n["status"] for n in out["nodes"]] == ["not-attempted"]
    journal = [json.loads(x) for x in (tmp_path / ".cdnctl" / "changes.jsonl").read_text().splitlines()]
    assert journal[-1]["status"] == "failed" and journal[-1]["effective_at"] is None


def test_journal_round_trip_and_concurrent_appends(tmp_path: Path) -> None:
    log = JsonlChangeLog(tmp_path / "j" / "changes.jsonl")
    requested = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

    def one(n: int) -> None:
        log.append(Change(who=f"w{n}", requested_at=requested, effective_at=requested + timedelta(hours=1),
                          what="x" * 5000, kind="apply", status="applied", sites=("a.example.fr",),
                          details={"n": n}))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    changes = list(log.read())
    assert sorted(c.details["n"] for c in changes) == list(range(20))  # type: ignore[type-var]
    first = changes[0]
    assert first.requested_at == requested and first.sites == ("a.example.fr",)
    assert Change.from_json(first.to_json()) == first


def test_change_refuses_naive_times_and_unknown_status() -> None:
    with pytest.raises(ValueError):
        Change(who="w", requested_at=datetime(2027, 1, 1), effective_at=None, what="", kind="apply",
               status="applied")
    with pytest.raises(ValueError):
        Change(who="w", requested_at=datetime(2027, 1, 1, tzinfo=UTC), effective_at=None, what="",
               kind="apply", status="maybe")


@pytest.mark.parametrize("before, enabled, after", [
    ("site: a.fr\nenabled: true  # keep me\norigin: x\n", False, "site: a.fr\nenabled: false  # keep me\norigin: x\n"),
    ("site: a.fr\norigin: x\n", False, "site: a.fr\nenabled: false\norigin: x\n"),
    ("site: a.fr\nenabled: false\n", True, "site: a.fr\nenabled: true\n"),
    # only the top-level key: an override window's `enabled:` is indented and stays
    ("site: a.fr\noverrides:\n  - enabled: false\n", True, "site: a.fr\nenabled: true\noverrides:\n  - enabled: false\n"),
])
def test_set_enabled_text(before: str, enabled: bool, after: str) -> None:
    assert set_enabled_text(before, enabled) == after


def test_decision_changes_list_what_a_policy_edit_changes() -> None:
    old = load_cases_policy()
    site = old.sites["www.cases.example.fr"]
    assert ("/a/", "text/html") in sample_requests(site)
    new = load_cases_policy()
    new.sites.pop("off.example.fr")
    changes = decision_changes(old, new, datetime(2031, 1, 15, tzinfo=UTC))
    assert changes and {c.site for c in changes} == {"off.example.fr"}
    assert all(c.after == "absent" and c.before == "off (pass-through)" for c in changes)
    assert decision_changes(old, load_cases_policy(), datetime(2031, 1, 15, tzinfo=UTC)) == []
