"""Fastly deploy against the local config API (tests/fakes/fastly.py): first deploy (clone,
VCL, dictionary, validate, items, activate), idempotence, items-only change without a new
version, a refused VCL, activation failure → previous version and items back, items
write failure with and without a working rollback (half-applied), 429, a concurrent
activation, 409."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cdnctl.deploy import apply_plans, site_plan
from cdnctl.deploy.fastly import FastlyDeployer, item_ops
from tests.deploy.conftest import FASTLY_SITE, add_alias, context, load, set_ttl
from tests.fakes.common import Reply
from tests.fakes.fastly import FakeFastly

TOKEN = "fastly-test-token"


@pytest.fixture
def fake() -> Any:
    with FakeFastly(TOKEN, services=("SVC1",)) as f:
        yield f


def deployer(fake: FakeFastly, attempts: int = 3) -> tuple[FastlyDeployer, list[float]]:
    ctx, slept = context(attempts)
    return FastlyDeployer("SVC1", TOKEN, ctx, api=fake.url), slept


def plan_for(d: FastlyDeployer, sites: Path):  # type: ignore[no-untyped-def]
    return d.plan(*site_plan(load(sites), FASTLY_SITE))


def run(d: FastlyDeployer, p):  # type: ignore[no-untyped-def]
    return apply_plans([p], {p.unit + "|" + p.site: d}).units[0]


def live(fake: FakeFastly) -> tuple[int | None, str, dict[str, str]]:
    n = fake.active("SVC1")
    v = fake.config["SVC1"][n]  # type: ignore[index]
    vcl = v["vcl"].get("cdnctl", {}).get("content", "")  # type: ignore[attr-defined]
    ident = v["dicts"].get("cdnctl_rules")  # type: ignore[attr-defined]
    return n, str(vcl), dict(fake.items.get(ident, {})) if ident else {}


def deployed(fake: FakeFastly, sites: Path) -> FastlyDeployer:
    d, _ = deployer(fake)
    assert run(d, plan_for(d, sites)).status == "applied"
    return d


def test_first_deploy_then_nothing_to_do(fake: FakeFastly, sites: Path) -> None:
    d, _ = deployer(fake)
    p = plan_for(d, sites)
    assert p.action == "create" and p.version == "1"
    assert p.changes[0].startswith("+ VCL cdnctl") and "+ dictionary cdnctl_rules" in p.changes
    unit = run(d, p)
    assert unit.status == "applied" and unit.version == "2", unit
    n, vcl, items = live(fake)
    assert n == 2 and vcl == p.desired["vcl"] and items == p.desired["items"]  # type: ignore[index]
    assert fake.config["SVC1"][2]["vcl"]["cdnctl"]["main"]  # type: ignore[index]
    calls = [c.split(" ")[0] + " " + c.split("/")[-1] for c in d.http.calls]
    assert "PUT clone" in calls and "GET validate" in calls and calls[-1] == "PUT activate"
    again = plan_for(d, sites)
    assert again.action == "unchanged" and run(d, again).status == "unchanged"
    assert sorted(fake.config["SVC1"]) == [1, 2]  # no new version


def test_ttl_change_writes_items_without_a_new_version(fake: FakeFastly, sites: Path) -> None:
    d = deployed(fake, sites)
    set_ttl(sites, FASTLY_SITE, "ttl: 10m", "ttl: 20m")
    p = plan_for(d, sites)
    assert p.action == "update" and p.changes[0].startswith("= VCL unchanged")
    assert any("600s" in c and "1200s" in c for c in p.changes) and "@@" in p.diff
    unit = run(d, p)
    assert unit.status == "applied" and unit.version == "2" and sorted(fake.config["SVC1"]) == [1, 2]
    assert live(fake)[2] == p.desired["items"]  # type: ignore[index]


def test_vcl_change_makes_a_new_version(fake: FakeFastly, sites: Path) -> None:
    d = deployed(fake, sites)
    add_alias(sites, FASTLY_SITE, "live.france2030.gouv.fr")
    p = plan_for(d, sites)
    assert p.changes[0].startswith("~ VCL cdnctl (main) — new version cloned from 2") and "live.france2030" in p.diff
    unit = run(d, p)
    assert unit.status == "applied" and unit.version == "3" and "live.france2030" in live(fake)[1]


def test_refused_vcl_leaves_the_live_service_alone(fake: FakeFastly, sites: Path) -> None:
    fake.invalid_marker = "vcl_fetch"
    d, _ = deployer(fake)
    unit = run(d, plan_for(d, sites))
    assert unit.status == "failed" and "Fastly refused version 2: Unexpected 'vcl_fetch'" in unit.message
    assert "nothing live changed (draft version 2 left inactive)" in unit.message
    assert fake.active("SVC1") == 1 and unit.not_done == ["validate", "write items", "activate"]


def test_409_on_activation_is_rolled_back(fake: FakeFastly, sites: Path) -> None:
    d = deployed(fake, sites)
    before = live(fake)
    add_alias(sites, FASTLY_SITE, "live.france2030.gouv.fr")
    set_ttl(sites, FASTLY_SITE, "ttl: 10m", "ttl: 20m")
    p = plan_for(d, sites)
    fake.fail_next(Reply(409, {"msg": "Conflict", "detail": "Version 3 is being activated"}), path_contains="/activate")
    unit = run(d, p)
    assert unit.status == "rolled-back" and "Version 3 is being activated" in unit.message
    assert live(fake) == before


def test_failed_activation_goes_back_to_the_previous_version_and_items(fake: FakeFastly, sites: Path) -> None:
    d = deployed(fake, sites)
    before = live(fake)
    add_alias(sites, FASTLY_SITE, "live.france2030.gouv.fr")
    set_ttl(sites, FASTLY_SITE, "ttl: 10m", "ttl: 20m")
    p = plan_for(d, sites)
    fake.activate_then_fail = 3  # Fastly activates version 3, then reports a failure
    unit = run(d, p)
    assert unit.status == "rolled-back", unit
    assert "version 2 activated again (rollback)" in unit.done and live(fake) == before
    assert any(s.startswith("previous dictionary items restored") for s in unit.done)


def test_items_write_failure_is_rolled_back(fake: FakeFastly, sites: Path) -> None:
    d = deployed(fake, sites)
    before = live(fake)
    set_ttl(sites, FASTLY_SITE, "ttl: 10m", "ttl: 20m")
    p = plan_for(d, sites)
    fake.fail_next(*[Reply(503, {"msg": "Service Unavailable"})] * 3, path_contains="/items")
    unit = run(d, p)  # 3 attempts fail (GET of the items for the restore then passes)
    assert unit.status == "rolled-back" and live(fake) == before


def test_half_applied_when_the_rollback_fails_too(fake: FakeFastly, sites: Path) -> None:
    d = deployed(fake, sites)
    add_alias(sites, FASTLY_SITE, "live.france2030.gouv.fr")
    set_ttl(sites, FASTLY_SITE, "ttl: 10m", "ttl: 20m")
    p = plan_for(d, sites)
    fake.activate_then_fail = 3
    # the items write passes; reading them back for the restore fails every time
    fake.fail_next(*[Reply(500, {"msg": "Internal Server Error"})] * 3, path_contains="/items", after=1)
    unit = run(d, p)
    assert unit.status == "partial", unit
    assert "rollback incomplete" in unit.message and "NOT restored" in unit.message
    assert "version 2 activated again (rollback)" in unit.done
    assert any("written to dictionary cdnctl_rules (live)" in s for s in unit.done)
    assert "rollback" in unit.not_done


def test_429_on_clone_waits_retry_after(fake: FakeFastly, sites: Path) -> None:
    d, slept = deployer(fake)
    p = plan_for(d, sites)
    fake.fail_next(Reply(429, {"msg": "Too many requests"}, {"Retry-After": "3"}), path_contains="/clone")
    assert run(d, p).status == "applied" and 3.0 in slept


def test_concurrent_activation_is_a_conflict(fake: FakeFastly, sites: Path) -> None:
    d = deployed(fake, sites)
    set_ttl(sites, FASTLY_SITE, "ttl: 10m", "ttl: 20m")
    p = plan_for(d, sites)
    for v in fake.config["SVC1"].values():  # someone activates version 1 again meanwhile
        v["active"] = False
    fake.config["SVC1"][1]["active"] = True
    unit = run(d, p)
    assert unit.status == "failed" and "conflict: active version is 1, plan read 2" in unit.message


def test_item_ops_is_pure() -> None:
    assert item_ops({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}) == [
        {"op": "upsert", "item_key": "b", "item_value": "3"}, {"op": "upsert", "item_key": "c", "item_value": "4"}]
    assert item_ops({"a": "1"}, {}) == [{"op": "delete", "item_key": "a"}]
