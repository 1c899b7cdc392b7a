"""Cloudflare Cache Rules deploy against the local Rulesets API (tests/fakes/cloudflare.py):
plan/apply/idempotence, hand-made rules kept, 409, a concurrent change, 429 + Retry-After,
5xx (answer lost but applied; nothing applied), a refused expression."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cdnctl.deploy import apply_plans, site_plan
from cdnctl.deploy.cloudflare import CloudflareDeployer, normal, rule_changes
from tests.deploy.conftest import CF_SITE, context, load, set_ttl
from tests.fakes.cloudflare import FakeCloudflare
from tests.fakes.common import Reply, Req

TOKEN = "cf-test-token"


@pytest.fixture
def fake() -> Any:
    with FakeCloudflare(TOKEN, zones=("ZONE1",)) as f:
        yield f


def deployer(fake: FakeCloudflare, attempts: int = 4) -> tuple[CloudflareDeployer, list[float]]:
    ctx, slept = context(attempts)
    return CloudflareDeployer("ZONE1", TOKEN, ctx, api=fake.url + "/client/v4"), slept


def plan_for(d: CloudflareDeployer, sites: Path):  # type: ignore[no-untyped-def]
    return d.plan(*site_plan(load(sites), CF_SITE))


def apply(d: CloudflareDeployer, sites: Path):  # type: ignore[no-untyped-def]
    p = plan_for(d, sites)
    return p, apply_plans([p], {p.unit + "|" + p.site: d}).units[0]


def test_first_apply_creates_then_nothing_to_do(fake: FakeCloudflare, sites: Path) -> None:
    d, _ = deployer(fake)
    p = plan_for(d, sites)
    assert p.action == "create" and p.version is None
    assert all(line.startswith("+ cdnctl_") for line in p.changes) and p.changes
    assert '"expression"' in p.diff
    _, unit = apply(d, sites)
    assert unit.status == "applied" and unit.version == "1" and unit.effective_at
    live = fake.rulesets["ZONE1"]
    assert [normal(r) for r in live["rules"]] == [normal(r) for r in p.desired["rules"]]  # type: ignore[index]
    assert all(r["ref"].startswith("cdnctl_") for r in live["rules"])  # type: ignore[index,union-attr]
    again, unit = apply(d, sites)
    assert again.action == "unchanged" and unit.status == "unchanged" and fake.puts == 1


def test_ttl_change_is_one_changed_rule(fake: FakeCloudflare, sites: Path) -> None:
    d, _ = deployer(fake)
    apply(d, sites)
    set_ttl(sites, CF_SITE, "ttl: 30m", "ttl: 45m")
    p = plan_for(d, sites)
    assert p.action == "update" and p.version == "1"
    assert p.changes == ["~ cdnctl_r1: action_parameters changed"] or len(p.changes) == 1, p.changes
    assert "2700" in p.diff and "1800" in p.diff
    _, unit = apply(d, sites)
    assert unit.status == "applied" and fake.rulesets["ZONE1"]["version"] == "2"


def test_hand_made_rules_are_kept_before_ours(fake: FakeCloudflare, sites: Path) -> None:
    hand = {"id": "h1", "ref": "bypass_api", "expression": 'starts_with(http.request.uri.path, "/api/")',
            "action": "set_cache_settings", "action_parameters": {"cache": False}, "enabled": True}
    fake.rulesets["ZONE1"] = {"id": "rs", "version": "7", "rules": [hand]}
    d, _ = deployer(fake)
    p = plan_for(d, sites)
    assert p.action == "update" and any("not made by cdnctl kept" in c for c in p.changes)
    _, unit = apply(d, sites)
    rules = fake.rulesets["ZONE1"]["rules"]
    assert unit.status == "applied" and rules[0]["id"] == "h1" and rules[0]["ref"] == "bypass_api"  # type: ignore[index]
    assert plan_for(d, sites).action == "unchanged"


def test_rule_changes_is_pure() -> None:
    a = {"ref": "cdnctl_r1", "expression": "x", "action": "set_cache_settings", "description": "d1"}
    b = {"ref": "cdnctl_r2", "expression": "y", "action": "set_cache_settings", "description": "d2"}
    assert rule_changes([a, b], [b, a]) == ["~ rule order changed"]
    assert rule_changes([a], [a, b]) == ["+ cdnctl_r2: d2"]
    assert rule_changes([a, b], [a]) == ["- cdnctl_r2: d2"]
    assert rule_changes([a], [{**a, "expression": "z"}]) == ["~ cdnctl_r1: expression changed"]


def test_429_retry_after_is_honoured(fake: FakeCloudflare, sites: Path) -> None:
    d, slept = deployer(fake)
    p = plan_for(d, sites)
    fake.fail_next(Reply(429, {"success": False, "errors": [{"code": 971, "message": "Please wait and consider "
                                                            "throttling your request speed"}]},
                         {"Retry-After": "7"}), path_contains="entrypoint", after=1)  # the re-read passes
    unit = apply_plans([p], {p.unit + "|" + p.site: d}).units[0]
    assert unit.status == "applied" and 7.0 in slept


def test_409_conflict_changes_nothing(fake: FakeCloudflare, sites: Path) -> None:
    d, _ = deployer(fake)
    p = plan_for(d, sites)
    fake.fail_next(Reply(409, {"success": False, "errors": [{"code": 10010, "message": "ruleset was modified "
                                                            "concurrently"}]}), path_contains="entrypoint", after=1)
    unit = apply_plans([p], {p.unit + "|" + p.site: d}).units[0]
    assert unit.status == "failed" and "conflict" in unit.message and "modified concurrently" in unit.message
    assert "ZONE1" not in fake.rulesets and unit.not_done


def test_concurrent_change_between_plan_and_apply(fake: FakeCloudflare, sites: Path) -> None:
    d, _ = deployer(fake)
    apply(d, sites)
    set_ttl(sites, CF_SITE, "ttl: 30m", "ttl: 45m")
    p = plan_for(d, sites)
    fake.rulesets["ZONE1"]["version"] = "2"  # someone saved the rules in the dashboard meanwhile
    unit = apply_plans([p], {p.unit + "|" + p.site: d}).units[0]
    assert unit.status == "failed" and "changed since plan (version 1 → 2)" in unit.message


def test_5xx_throughout_nothing_applied(fake: FakeCloudflare, sites: Path) -> None:
    d, _ = deployer(fake, attempts=2)
    p = plan_for(d, sites)
    fake.fail_next(*[Reply(503, {"success": False, "errors": [{"code": 10000, "message": "Internal error"}]})] * 2,
                   path_contains="entrypoint", after=1)
    unit = apply_plans([p], {p.unit + "|" + p.site: d}).units[0]
    assert unit.status == "failed" and "nothing changed" in unit.message and "HTTP 503" in unit.message


def test_answer_lost_but_applied_is_found_by_reading_back(fake: FakeCloudflare, sites: Path) -> None:
    class Lossy(FakeCloudflare):
        def entrypoint(self, req: Req, zone: str, phase: str) -> Reply:
            reply = super().entrypoint(req, zone, phase)
            return Reply(502, "<html>Bad gateway</html>", {"Content-Type": "text/html"}) \
                if req.method == "PUT" else reply

    with Lossy(TOKEN, zones=("ZONE1",)) as lossy:
        d, _ = deployer(lossy, attempts=2)
        p = plan_for(d, sites)
        unit = apply_plans([p], {p.unit + "|" + p.site: d}).units[0]
    assert unit.status == "applied" and "answer was lost" in unit.message


def test_refused_expression_reports_the_vendor_message(fake: FakeCloudflare, sites: Path) -> None:
    fake.reject_marker = "starts_with"
    d, _ = deployer(fake)
    _, unit = apply(d, sites)
    assert unit.status == "failed" and "filter parsing error" in unit.message and "ZONE1" not in fake.rulesets


def test_bad_token_is_a_plan_error(fake: FakeCloudflare, sites: Path) -> None:
    ctx, _ = context()
    d = CloudflareDeployer("ZONE1", "wrong", ctx, api=fake.url + "/client/v4")
    p = plan_for(d, sites)
    assert p.action == "error" and "Authentication error" in (p.error or "")
