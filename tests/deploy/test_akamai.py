"""Akamai PAPI deploy against the local PAPI (tests/fakes/akamai.py), EdgeGrid-signed:
plan/apply/idempotence (no new version when the tree equals the latest), hand-made rules
kept, staging then production, activate-only, 409/412/429, refused rules, failed
activations, and the CLI with a vendors file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cache_rules.targets.akamai import MANAGED
from cdnctl.cli import cli
from cdnctl.deploy import apply_plans, site_plan
from cdnctl.deploy.akamai import AkamaiDeployer, normal, ours
from tests.deploy.conftest import context, load, set_ttl
from tests.fakes.akamai import FakeAkamai, problem, write_edgerc

SITE = "www.interieur.gouv.fr"
PRP = "prp_1001"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[FakeAkamai, Path]]:
    with FakeAkamai(properties=(PRP,)) as f:
        yield f, write_edgerc(tmp_path / ".edgerc")


def deployer(fake: tuple[FakeAkamai, Path], attempts: int = 4) -> tuple[AkamaiDeployer, list[float]]:
    ctx, slept = context(attempts)
    server, edgerc = fake
    return AkamaiDeployer(
        PRP,
        ctx,
        edgerc=str(edgerc),
        api=server.url,
        contract_id="ctr_1",
        group_id="grp_1",
        notify=["ops@example.gouv.fr"],
    ), slept


def plan_for(d: AkamaiDeployer, sites: Path):  # type: ignore[no-untyped-def]
    return d.plan(*site_plan(load(sites), SITE))


def run(d: AkamaiDeployer, p):  # type: ignore[no-untyped-def]
    return apply_plans([p], {p.unit + "|" + p.site: d}).units[0]


def test_first_apply_new_version_staging_then_production_then_nothing(
    fake: tuple[FakeAkamai, Path], sites: Path
) -> None:
    server, _ = fake
    d, slept = deployer(fake)
    p = plan_for(d, sites)
    assert p.action == "create" and p.version == "1", p.error
    assert p.changes[0].startswith("new version from 1") and MANAGED in p.changes[1]
    unit = run(d, p)
    assert unit.status == "applied" and unit.version == "2", unit.message
    prop = server.properties[PRP]
    assert (prop.staging, prop.production) == (2, 2)
    assert [a["network"] for a in prop.activations.values()] == ["STAGING", "PRODUCTION"]
    tree = prop.versions[2]["rules"]
    assert [c["name"] for c in tree["children"]] == ["Static by hand", MANAGED]  # type: ignore[index]
    assert tree["behaviors"][0]["name"] == "origin"  # type: ignore[index]
    assert slept  # polled the activations
    assert all(
        "authorization" in r.headers and r.headers["authorization"].startswith("EG1-HMAC-SHA256 ")
        for r in server.requests
    )
    assert all(r.query.get("contractId") == ["ctr_1"] for r in server.requests)
    again = plan_for(d, sites)
    assert again.action == "unchanged" and run(d, again).status == "unchanged"
    assert max(prop.versions) == 2 and server.puts == 1


def test_ttl_change_is_a_new_version(fake: tuple[FakeAkamai, Path], sites: Path) -> None:
    server, _ = fake
    d, _ = deployer(fake)
    run(d, plan_for(d, sites))
    text = (sites / f"{SITE}.yaml").read_text()
    import re

    old = re.search(r"ttl: (\d+[smhd])", text)
    assert old
    set_ttl(sites, SITE, f"ttl: {old[1]}", "ttl: 17m")
    p = plan_for(d, sites)
    assert p.action == "update" and any(c[:2] in ("~ ", "+ ") for c in p.changes[1:]) and "17m" in p.diff
    unit = run(d, p)
    assert unit.status == "applied" and server.properties[PRP].production == 3
    live = ours(server.properties[PRP].versions[3]["rules"])  # type: ignore[arg-type]
    assert live and "17m" in json.dumps(normal(live))


def test_equal_tree_not_active_is_activated_without_new_version(
    fake: tuple[FakeAkamai, Path], sites: Path
) -> None:
    server, _ = fake
    server.fail_network = "PRODUCTION"
    d, _ = deployer(fake)
    unit = run(d, plan_for(d, sites))
    assert (
        unit.status == "partial"
        and "PRODUCTION: FAILED" in unit.message
        and unit.not_done == ["activate PRODUCTION"]
    )
    assert "version 2 ACTIVE on STAGING" in unit.done
    server.fail_network = None
    p = plan_for(d, sites)
    assert p.action == "update" and p.changes == [
        "= rule tree unchanged in version 2: activate it on PRODUCTION"
    ]
    unit = run(d, p)
    assert unit.status == "applied" and max(server.properties[PRP].versions) == 2
    assert server.properties[PRP].production == 2


def test_staging_failure_leaves_production_alone(fake: tuple[FakeAkamai, Path], sites: Path) -> None:
    server, _ = fake
    server.fail_network = "STAGING"
    d, _ = deployer(fake)
    unit = run(d, plan_for(d, sites))
    assert unit.status == "failed" and "production not changed" in unit.message
    assert server.properties[PRP].production == 1


def test_refused_rules_activate_nothing(fake: tuple[FakeAkamai, Path], sites: Path) -> None:
    server, _ = fake
    server.reject_marker = "contentType"
    d, _ = deployer(fake)
    unit = run(d, plan_for(d, sites))
    assert unit.status == "failed" and "Akamai refused the rules: contentType: invalid value" in unit.message
    assert "draft version 2 left inactive" in unit.message and not server.properties[PRP].activations


def test_429_retry_after_then_applied(fake: tuple[FakeAkamai, Path], sites: Path) -> None:
    server, _ = fake
    d, slept = deployer(fake)
    p = plan_for(d, sites)
    reply = problem(429, "Too Many Requests", "rate limit")
    reply.headers["Retry-After"] = "9"
    server.fail_next(reply, path_contains="/versions", after=0)
    unit = run(d, p)
    assert unit.status == "applied" and 9.0 in slept


def test_409_new_version_conflict_changes_nothing(fake: tuple[FakeAkamai, Path], sites: Path) -> None:
    server, _ = fake
    d, _ = deployer(fake)
    p = plan_for(d, sites)
    p.current["etag"] = "stale"  # type: ignore[index]
    unit = run(d, p)
    assert unit.status == "failed" and "HTTP 409" in unit.message and "nothing changed" in unit.message
    assert max(server.properties[PRP].versions) == 1


def test_412_on_put_rules_changes_nothing_live(fake: tuple[FakeAkamai, Path], sites: Path) -> None:
    server, _ = fake
    d, _ = deployer(fake)
    p = plan_for(d, sites)
    server.fail_next(
        problem(412, "Precondition Failed", "If-Match does not match the rule tree's etag"),
        path_contains="/rules",
        after=1,
    )  # the GET of the new version's rules passes
    unit = run(d, p)
    assert unit.status == "failed" and "HTTP 412" in unit.message and "conflict" in unit.message
    assert server.properties[PRP].production == 1 and not server.properties[PRP].activations


def test_someone_made_a_version_since_plan(fake: tuple[FakeAkamai, Path], sites: Path) -> None:
    server, _ = fake
    d, _ = deployer(fake)
    p = plan_for(d, sites)
    prop = server.properties[PRP]
    prop.versions[2] = dict(prop.versions[1])
    unit = run(d, p)
    assert unit.status == "failed" and "latest version is 2, plan read 1" in unit.message


def test_bad_credentials_are_a_plan_error(fake: tuple[FakeAkamai, Path], sites: Path, tmp_path: Path) -> None:
    server, _ = fake
    bad = tmp_path / "bad.edgerc"
    bad.write_text("[default]\nclient_secret = x\nhost = h\naccess_token = wrong\nclient_token = wrong\n")
    ctx, _ = context()
    d = AkamaiDeployer(PRP, ctx, edgerc=str(bad), api=server.url, notify=["ops@example.gouv.fr"])
    p = plan_for(d, sites)
    assert p.action == "error" and "HTTP 401" in (p.error or "") and "signature" in (p.error or "")


def test_cli_plan_apply_with_vendors_file(
    fake: tuple[FakeAkamai, Path], sites: Path, tmp_path: Path, state_dir: Path
) -> None:
    server, edgerc = fake
    server.pending_polls = 0  # the CLI sleeps for real between polls: ACTIVE at the first read
    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(
        f"akamai:\n  edgerc: {edgerc}\n  api: {server.url}\n  notify_emails: [ops@example.gouv.fr]\n"
        f"  properties: {{{SITE}: {PRP}}}\n  sites: {{{SITE}: [12345]}}\n"
    )

    def cdnctl(*args: str) -> tuple[int, str]:
        out = CliRunner().invoke(cli, ["--policy-dir", str(sites), *args, "--vendors", str(vendors)])
        assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
        return out.exit_code, out.output

    code, out = cdnctl("vendor", "plan")
    assert code == 0 and f"create  akamai {SITE} ({PRP})" in out and "skipped" not in out, out
    code, out = cdnctl("vendor", "apply", "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "applied" and data["units"][0]["version"] == "2", out
    change = json.loads((state_dir / "changes.jsonl").read_text().splitlines()[-1])
    assert change["status"] == "applied" and change["sites"] == [SITE]
    vendors.write_text(vendors.read_text().replace(f"  properties: {{{SITE}: {PRP}}}\n", ""))
    code, out = cdnctl("vendor", "plan")
    assert code == 1 and "no Akamai property id for www.interieur.gouv.fr" in out and "Traceback" not in out


def test_pending_activation_409_and_5xx(fake: tuple[FakeAkamai, Path], sites: Path) -> None:
    server, _ = fake
    prop = server.properties[PRP]
    prop.activations["atv_0"] = {"network": "STAGING", "version": 1, "status": "PENDING", "polls": -1000}
    d, _ = deployer(fake, attempts=2)
    unit = run(d, plan_for(d, sites))
    assert unit.status == "failed" and "STAGING: refused" in unit.message and "HTTP 409" in unit.message
    assert "An activation is already pending on STAGING" in unit.message and prop.production == 1
    server.fail_next(
        *[problem(503, "Service Unavailable", "try later")] * 2, path_contains=f"/properties/{PRP}"
    )
    p = plan_for(d, sites)
    assert (
        p.action == "error"
        and "HTTP 503" in (p.error or "")
        and "gave up after 2 attempts" in (p.error or "")
    )
