"""CloudFront deploy against moto's server mode (ThreadedMotoServer): distribution config,
Lambda@Edge (moto's Lambda, offline), plan/apply/idempotence, bounded wait for Deployed,
and 412 PreconditionFailed with botocore's Stubber.

moto 5.2 gaps worked around here (see cdnctl/deploy/cloudfront.py): it ignores IfMatch
and never changes the ETag (→ Stubber for the 412 path); it has no cache-policy API
(→ :class:`CachePolicies`, an in-memory fake of List/Get/Create/UpdateCachePolicy served
from botocore's ``before-call`` event, with its own ETags and IfMatch); it drops
``LambdaFunctionAssociations`` (→ its behavior model is patched to keep them).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from cdnctl.deploy import apply_plans, site_plan
from cdnctl.deploy.cloudfront import CloudFrontDeployer, lambda_name
from tests.deploy.conftest import context, load, set_ttl

SITE = "www.interieur.gouv.fr"
ROLE = "arn:aws:iam::123456789012:role/cdnctl-edge"


class CachePolicies:
    """List/Get/Create/UpdateCachePolicy in memory, hooked on a boto3 client (moto lacks them)."""

    def __init__(self, client: Any) -> None:
        self.items: dict[str, dict[str, Any]] = {}  # id -> {"config", "etag"}
        self.params: dict[str, Any] = {}
        self.writes = 0
        for op in ("ListCachePolicies", "GetCachePolicy", "CreateCachePolicy", "UpdateCachePolicy"):
            client.meta.events.register(f"before-parameter-build.cloudfront.{op}", self._keep)
            client.meta.events.register(f"before-call.cloudfront.{op}", self._answer)

    def _keep(self, params: dict[str, Any], **_: Any) -> None:
        self.params = dict(params)

    @staticmethod
    def _reply(status: int, body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("http://fake", status, {}, None), {
            **body,
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    def _answer(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        p, op = self.params, model.name
        if op == "ListCachePolicies":
            items = [
                {"Type": "custom", "CachePolicy": {"Id": i, "CachePolicyConfig": v["config"]}}
                for i, v in self.items.items()
            ]
            return self._reply(
                200, {"CachePolicyList": {"MaxItems": 100, "Quantity": len(items), "Items": items}}
            )
        if op == "CreateCachePolicy":
            name = p["CachePolicyConfig"]["Name"]
            if any(v["config"]["Name"] == name for v in self.items.values()):
                return self._reply(409, {"Error": {"Code": "CachePolicyAlreadyExists", "Message": name}})
            ident = uuid.uuid4().hex
            self.items[ident] = {"config": p["CachePolicyConfig"], "etag": uuid.uuid4().hex[:12]}
            self.writes += 1
            return self._reply(
                201,
                {
                    "CachePolicy": {"Id": ident, "CachePolicyConfig": p["CachePolicyConfig"]},
                    "ETag": self.items[ident]["etag"],
                },
            )
        got = self.items.get(p["Id"])
        if got is None:
            return self._reply(404, {"Error": {"Code": "NoSuchCachePolicy", "Message": p["Id"]}})
        if op == "GetCachePolicy":
            return self._reply(
                200, {"CachePolicy": {"Id": p["Id"], "CachePolicyConfig": got["config"]}, "ETag": got["etag"]}
            )
        if p.get("IfMatch") != got["etag"]:
            return self._reply(412, {"Error": {"Code": "PreconditionFailed", "Message": "etag mismatch"}})
        got["config"], got["etag"] = p["CachePolicyConfig"], uuid.uuid4().hex[:12]
        self.writes += 1
        return self._reply(
            200, {"CachePolicy": {"Id": p["Id"], "CachePolicyConfig": got["config"]}, "ETag": got["etag"]}
        )


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    from moto.cloudfront import models

    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    original = models.DefaultCacheBehaviour.__init__

    def keep_lambdas(self: Any, config: dict[str, Any]) -> None:  # moto drops them
        original(self, config)
        self.lambda_function_associations = config.get("LambdaFunctionAssociations") or {"Quantity": 0}

    monkeypatch.setattr(models.DefaultCacheBehaviour, "__init__", keep_lambdas)
    cf = boto3.client("cloudfront", endpoint_url=moto_url, region_name="us-east-1")
    lam = boto3.client("lambda", endpoint_url=moto_url, region_name="us-east-1")
    iam = boto3.client("iam", endpoint_url=moto_url, region_name="us-east-1")
    if not any(r["Arn"] == ROLE for r in iam.list_roles()["Roles"]):
        iam.create_role(RoleName="cdnctl-edge", AssumeRolePolicyDocument="{}")
    dist = cf.create_distribution(
        DistributionConfig={
            "CallerReference": uuid.uuid4().hex,
            "Comment": "interieur",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "origin",
                        "DomainName": "origin.interieur.gouv.fr",
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                        },
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "origin",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
                "DefaultTTL": 86400,
                "MaxTTL": 31536000,
            },
            "CacheBehaviors": {
                "Quantity": 1,
                "Items": [
                    {
                        "PathPattern": "/static-by-hand/*",
                        "TargetOriginId": "origin",
                        "ViewerProtocolPolicy": "allow-all",
                        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                    }
                ],
            },
        }
    )["Distribution"]
    policies = CachePolicies(cf)
    yield {"cf": cf, "lambda": lam, "id": dist["Id"], "policies": policies, "url": moto_url}
    with contextlib.suppress(Exception):
        lam.delete_function(FunctionName=lambda_name(SITE))


def deployer(aws: dict[str, Any], **kw: Any) -> tuple[CloudFrontDeployer, list[float]]:
    ctx, slept = context()
    return CloudFrontDeployer(
        aws["id"], ctx, lambda_role=ROLE, client=kw.get("client", aws["cf"]), lambda_client=aws["lambda"]
    ), slept


def plan_for(d: CloudFrontDeployer, sites: Path):  # type: ignore[no-untyped-def]
    return d.plan(*site_plan(load(sites), SITE))


def apply(d: CloudFrontDeployer, sites: Path):  # type: ignore[no-untyped-def]
    p = plan_for(d, sites)
    return p, apply_plans([p], {p.unit + "|" + p.site: d}).units[0]


def live(aws: dict[str, Any]) -> dict[str, Any]:
    return aws["cf"].get_distribution_config(Id=aws["id"])["DistributionConfig"]


def test_first_apply_then_nothing_to_do(aws: dict[str, Any], sites: Path) -> None:
    d, _ = deployer(aws)
    p = plan_for(d, sites)
    assert p.action == "update", p.error
    assert any(c.startswith("+ cache policy cdnctl-") for c in p.changes)
    assert any(c.startswith("+ Lambda@Edge function cdnctl-www-interieur-gouv-fr") for c in p.changes)
    assert any(c.startswith("+ behavior ") for c in p.changes) and "(live)" in p.diff
    _, unit = apply(d, sites)
    assert unit.status == "applied", unit.message
    assert "distribution Deployed" in unit.done
    cfg = live(aws)
    items = cfg["CacheBehaviors"]["Items"]
    assert items[0]["PathPattern"] == "/static-by-hand/*"  # hand-made behavior kept, first
    names = {v["config"]["Name"]: k for k, v in aws["policies"].items.items()}
    ours = items[1:]
    assert ours and all(
        b["CachePolicyId"] in names.values() or b["CachePolicyId"].startswith("4135ea2d") for b in ours
    )
    default = cfg["DefaultCacheBehavior"]
    assert "MinTTL" not in default or not default.get("MinTTL")
    assoc = default["LambdaFunctionAssociations"]["Items"][0]
    assert assoc["EventType"] == "origin-response" and assoc["LambdaFunctionARN"].endswith(":1")
    versions = aws["lambda"].list_versions_by_function(FunctionName=lambda_name(SITE))["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    writes, sent = aws["policies"].writes, len(d.sent)
    again, unit = apply(d, sites)
    assert again.action == "unchanged" and unit.status == "unchanged", again.changes
    assert aws["policies"].writes == writes
    assert not {"update_distribution", "publish_version", "create_cache_policy"} & set(d.sent[sent:])


def test_ttl_change_is_a_new_policy_and_behavior_change(aws: dict[str, Any], sites: Path) -> None:
    d, _ = deployer(aws)
    apply(d, sites)
    text = (sites / f"{SITE}.yaml").read_text()
    import re

    old = re.search(r"ttl: (\d+[smhd])", text)
    assert old
    set_ttl(sites, SITE, f"ttl: {old[1]}", "ttl: 17m")
    p = plan_for(d, sites)
    assert p.action == "update"
    _, unit = apply(d, sites)
    assert unit.status == "applied", unit.message
    assert plan_for(d, sites).action == "unchanged"


def test_missing_lambda_role_is_a_plan_error(aws: dict[str, Any], sites: Path) -> None:
    ctx, _ = context()
    d = CloudFrontDeployer(aws["id"], ctx, client=aws["cf"], lambda_client=aws["lambda"])
    p = plan_for(d, sites)
    assert p.action == "error" and "lambda_role" in (p.error or "")


def test_unknown_distribution_is_a_plan_error(aws: dict[str, Any], sites: Path) -> None:
    ctx, _ = context()
    d = CloudFrontDeployer(
        "EDOESNOTEXIST", ctx, lambda_role=ROLE, client=aws["cf"], lambda_client=aws["lambda"]
    )
    p = plan_for(d, sites)
    assert p.action == "error" and "NoSuchDistribution" in (p.error or "")


def in_progress(aws: dict[str, Any], reads: int) -> None:
    """moto's distribution reports InProgress for ``reads`` more GetDistribution calls."""
    from moto.cloudfront.models import cloudfront_backends
    from moto.moto_api import state_manager

    dist = cloudfront_backends["123456789012"]["global"].distributions[aws["id"]]
    dist.status, dist._tick = "InProgress", -1  # UpdateDistribution ticks once
    state_manager.set_transition("cloudfront::distribution", {"progression": "manual", "times": reads})


def test_wait_polls_until_deployed(aws: dict[str, Any], sites: Path) -> None:
    from moto.moto_api import state_manager

    in_progress(aws, 6)  # moto ticks on every distribution read and on the update
    try:
        d, slept = deployer(aws)
        _, unit = apply(d, sites)
    finally:
        state_manager.unset_transition("cloudfront::distribution")
    assert unit.status == "applied", unit.message
    assert d.sent.count("get_distribution") >= 2 and slept


def test_still_in_progress_at_the_time_limit_is_partial(aws: dict[str, Any], sites: Path) -> None:
    from moto.moto_api import state_manager

    in_progress(aws, 1000)
    try:
        d, _ = deployer(aws)
        p = plan_for(d, sites)
        d.ctx.deadline.end = 0  # no time left to poll
        unit = apply_plans([p], {p.unit + "|" + p.site: d}).units[0]
    finally:
        state_manager.unset_transition("cloudfront::distribution")
    assert (
        unit.status == "partial" and "InProgress" in unit.message and unit.not_done == ["wait for Deployed"]
    )


def test_precondition_failed_412_changes_nothing(aws: dict[str, Any], sites: Path) -> None:
    """moto ignores IfMatch: the 412 is scripted with botocore's Stubber."""
    d, _ = deployer(aws)
    p = plan_for(d, sites)
    stubbed = boto3.client("cloudfront", endpoint_url=aws["url"], region_name="us-east-1")
    config = live(aws)
    with Stubber(stubbed) as stub:
        for name in sorted(p.desired["policy_ops"]):  # type: ignore[index]
            stub.add_response(
                "create_cache_policy",
                {
                    "CachePolicy": {
                        "Id": f"id-{name}",
                        "LastModifiedTime": datetime.now(UTC),
                        "CachePolicyConfig": p.desired["policies"][name],
                    },
                    "ETag": "E1",
                },
            )  # type: ignore[index]
        stub.add_response("get_distribution_config", {"DistributionConfig": config, "ETag": p.version})
        stub.add_client_error(
            "update_distribution",
            "PreconditionFailed",
            "The If-Match version is missing or not valid for the resource.",
            412,
        )
        d.cf = stubbed
        unit = apply_plans([p], {p.unit + "|" + p.site: d}).units[0]
        stub.assert_no_pending_responses()
    assert unit.status == "failed" and "conflict" in unit.message and "PreconditionFailed" in unit.message
    assert "UpdateDistribution" in unit.not_done
    assert "LambdaFunctionAssociations" not in str(
        live(aws)["DefaultCacheBehavior"].get("LambdaFunctionAssociations", {}).get("Items", "")
    )


def test_etag_moved_since_plan_changes_nothing(aws: dict[str, Any], sites: Path) -> None:
    d, _ = deployer(aws)
    p = plan_for(d, sites)
    p.current["etag"] = "SOMETHING-ELSE"  # type: ignore[index]
    unit = apply_plans([p], {p.unit + "|" + p.site: d}).units[0]
    assert unit.status == "failed" and "ETag moved since plan" in unit.message
    assert "update_distribution" not in d.sent


def test_cli_plan_apply_with_vendors_file(
    aws: dict[str, Any], sites: Path, tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI builds its own boto3 clients: the cache-policy calls moto lacks are hooked on every
    cloudfront client made (botocore's before-call event), as in :class:`CachePolicies`."""
    import json

    from click.testing import CliRunner

    from cdnctl.cli import cli

    real = boto3.client

    def client(service: str, *a: Any, **kw: Any) -> Any:
        made = real(service, *a, **kw)
        if service == "cloudfront":
            fake = aws["policies"]
            for op in ("ListCachePolicies", "GetCachePolicy", "CreateCachePolicy", "UpdateCachePolicy"):
                made.meta.events.register(f"before-parameter-build.cloudfront.{op}", fake._keep)
                made.meta.events.register(f"before-call.cloudfront.{op}", fake._answer)
        return made

    monkeypatch.setattr(boto3, "client", client)
    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(
        f"cloudfront:\n  endpoint_url: {aws['url']}\n  lambda_role: {ROLE}\n"
        f"  sites: {{{SITE}: {aws['id']}}}\n"
    )

    def cdnctl(*args: str) -> tuple[int, str]:
        out = CliRunner().invoke(cli, ["--policy-dir", str(sites), *args, "--vendors", str(vendors)])
        assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
        return out.exit_code, out.output

    code, out = cdnctl("vendor", "plan")
    assert code == 0 and f"update  cloudfront {SITE} ({aws['id']})" in out and "skipped" not in out, out
    code, out = cdnctl("vendor", "apply", "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "applied", out
    change = json.loads((state_dir / "changes.jsonl").read_text().splitlines()[-1])
    assert change["status"] == "applied" and change["sites"] == [SITE]
    code, out = cdnctl("vendor", "apply", "--json")
    assert code == 0 and json.loads(out)["status"] == "unchanged"


def test_throttling_is_retried_and_a_refused_config_reports_the_vendor_message(
    aws: dict[str, Any], sites: Path
) -> None:
    """Stubber again: moto never throttles nor refuses a config."""
    d, slept = deployer(aws)
    p = plan_for(d, sites)
    stubbed = boto3.client("cloudfront", endpoint_url=aws["url"], region_name="us-east-1")
    config = live(aws)
    with Stubber(stubbed) as stub:
        for name in sorted(p.desired["policy_ops"]):  # type: ignore[index]
            stub.add_client_error("create_cache_policy", "Throttling", "Rate exceeded", 400)
            stub.add_response(
                "create_cache_policy",
                {
                    "CachePolicy": {
                        "Id": f"id-{name}",
                        "LastModifiedTime": datetime.now(UTC),
                        "CachePolicyConfig": p.desired["policies"][name],
                    },
                    "ETag": "E1",
                },
            )  # type: ignore[index]
        stub.add_response("get_distribution_config", {"DistributionConfig": config, "ETag": p.version})
        stub.add_client_error(
            "update_distribution",
            "InvalidArgument",
            "The parameter Lambda function associations is invalid.",
            400,
        )
        stub.add_response("get_distribution_config", {"DistributionConfig": config, "ETag": p.version})
        d.cf = stubbed
        unit = apply_plans([p], {p.unit + "|" + p.site: d}).units[0]
        stub.assert_no_pending_responses()
    assert slept  # the Throttling was retried after a backoff
    assert (
        unit.status == "failed"
        and "InvalidArgument" in unit.message
        and "Lambda function associations" in unit.message
        and "distribution not changed" in unit.message
    )


def test_shape_is_pure_and_replaces_a_behavior_at_one_of_our_patterns() -> None:
    """A CachingDisabled behavior (no cdnctl marker possible) at a compiled pattern is replaced,
    not duplicated; a hand-made one elsewhere is kept first; legacy TTLs removed."""
    from cache_rules.targets.cloudfront import CACHING_DISABLED
    from cdnctl.deploy.cloudfront import shape, views

    live_cfg = {
        "DefaultCacheBehavior": {
            "TargetOriginId": "o",
            "ViewerProtocolPolicy": "allow-all",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False},
        },
        "CacheBehaviors": {
            "Quantity": 2,
            "Items": [
                {
                    "PathPattern": "/hand/*",
                    "TargetOriginId": "o",
                    "ViewerProtocolPolicy": "allow-all",
                    "CachePolicyId": "managed-1",
                },
                {
                    "PathPattern": "/agents/*",
                    "TargetOriginId": "o",
                    "ViewerProtocolPolicy": "https-only",
                    "CachePolicyId": CACHING_DISABLED,
                },
            ],
        },
    }
    wanted = {
        "behaviors": [
            {"PathPattern": "/agents/*", "CachePolicy": CACHING_DISABLED, "Lambda": False},
            {"PathPattern": "/news/*", "CachePolicy": "cdnctl-ttl-600", "Lambda": False},
        ],
        "default": {"PathPattern": "*", "CachePolicy": "cdnctl-origin-decides", "Lambda": True},
    }
    ids = {"cdnctl-ttl-600": "p600", "cdnctl-origin-decides": "pod"}
    arn = "arn:aws:lambda:us-east-1:1:function:cdnctl-x:3"
    out = shape(live_cfg, wanted, ids, arn, "cdnctl-x")
    items = out["CacheBehaviors"]["Items"]
    assert [b["PathPattern"] for b in items] == ["/hand/*", "/agents/*", "/news/*"]
    assert items[1]["ViewerProtocolPolicy"] == "https-only"  # the existing behavior's settings kept
    assert (
        out["DefaultCacheBehavior"]["CachePolicyId"] == "pod" and "MinTTL" not in out["DefaultCacheBehavior"]
    )
    assert "ForwardedValues" not in out["DefaultCacheBehavior"]
    assert views(shape(out, wanted, ids, arn, "cdnctl-x"), ids, "cdnctl-x") == views(out, ids, "cdnctl-x")
    assert live_cfg["CacheBehaviors"]["Quantity"] == 2  # type: ignore[index]  # input untouched


def test_no_aws_credentials_is_a_clear_plan_error(
    sites: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches the credentials it found
    ctx, slept = context()
    d = CloudFrontDeployer("E1", ctx, endpoint_url="http://127.0.0.1:9", lambda_role=ROLE)
    p = plan_for(d, sites)
    assert (
        p.action == "error"
        and "no AWS credentials" in (p.error or "")
        and "AWS_ACCESS_KEY_ID" in (p.error or "")
    )
    assert not slept  # not retried
