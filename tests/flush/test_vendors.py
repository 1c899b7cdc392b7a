"""Commercial purge drivers against local servers that implement the vendors' documented APIs
(tests/fakes/) and moto's server for CloudFront: batching limits, auth, error bodies,
429 + Retry-After and 5xx in the middle of a batch, --wait."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache_rules.loader import load_policy_dir
from cdnctl.flush import FlushPlan, Item, plan_flush
from cdnctl.vendors.akamai import AkamaiTarget
from cdnctl.vendors.base import Deadline, FlushResult, RunContext, Target, TokenBucket, execute
from cdnctl.vendors.cloudflare import CloudflareTarget
from cdnctl.vendors.cloudfront import MAX_PATHS, MAX_WILDCARDS, CloudFrontTarget
from cdnctl.vendors.fastly import FastlyTarget
from tests.fakes.akamai import FakeAkamai, write_edgerc
from tests.fakes.cloudflare import FakeCloudflare
from tests.fakes.common import Reply
from tests.fakes.fastly import FakeFastly

SITE = load_policy_dir("tests/cases/sites").require_valid().sites["www.cases.example.fr"]
HOSTS = SITE.hosts


def run(target: Target, plan: FlushPlan, wait: bool = False) -> tuple[FlushResult, list[float]]:
    slept: list[float] = []
    ctx = RunContext(wait=wait, deadline=Deadline(120), sleep=slept.append, run_id="t", rng=random.Random(0))
    return execute(plan, [target], ctx), slept


# -- Fastly ----------------------------------------------------------------------------

@pytest.fixture
def fastly() -> Iterator[FakeFastly]:
    with FakeFastly() as fake:
        yield fake


def test_fastly_urls_keys_all_and_soft(fastly: FakeFastly) -> None:
    tags = [f"k{n}" for n in range(300)]
    plan = plan_flush(SITE, ["/a", "/b?x=1"], tags=tags, everything=True, soft=True)
    result, _ = run(FastlyTarget("fastly:SVC1", "SVC1", "fastly-test-token", fastly.url), plan)
    assert result.status == "ok", result.failed()
    assert sorted(v for k, v, soft in fastly.purged if k == "url" and soft) == sorted(
        f"{h}{p}" for h in HOSTS for p in ("/a", "/b?x=1"))
    assert sorted(v for k, v, soft in fastly.purged if k == "tag" and soft) == sorted(tags)
    key_calls = [r for r in fastly.requests if r.path == "/service/SVC1/purge"]
    assert sorted(len(r.headers["surrogate-key"].split()) for r in key_calls) == [44, 256]
    assert ("all", "", False) in fastly.purged  # purge_all has no soft variant
    (purge_all,) = [r for r in fastly.requests if r.path.endswith("/purge_all")]
    assert "fastly-soft-purge" not in purge_all.headers


def test_fastly_429_retry_after_then_success(fastly: FakeFastly) -> None:
    fastly.fail_next(Reply(429, {"msg": "Too many requests"}, {"Retry-After": "3"}))
    result, slept = run(FastlyTarget("f", "SVC1", "fastly-test-token", fastly.url), plan_flush(SITE, tags=["t"]))
    assert result.status == "ok" and result.outcomes[0].attempts == 2
    assert slept and slept[0] >= 3


def test_fastly_bad_token_and_prefix(fastly: FakeFastly) -> None:
    plan = plan_flush(SITE, ["/a"], prefixes=["/news/"])
    result, _ = run(FastlyTarget("f", "SVC1", "wrong", fastly.url), plan)
    assert result.status == "failed"
    msgs = {o.items[0].kind: o.message for o in result.outcomes}
    assert "Provided credentials are missing or invalid" in msgs["url"] and "HTTP 401" in msgs["url"]
    assert "no prefix purge" in msgs["prefix"]


# -- Cloudflare -----------------------------------------------------------------------

def test_cloudflare_batches_of_100_and_a_5xx_mid_batch() -> None:
    with FakeCloudflare() as cf:
        urls = [f"/p/{n}" for n in range(250)]
        target = CloudflareTarget("cf", "ZONE1", "cf-test-token", cf.url + "/client/v4")
        batches = target.batch(plan_flush(SITE, urls), [Item("url", u) for u in urls])
        # the third call fails on every attempt: exactly its items are reported
        cf.fail_next(*[Reply(503, {"success": False, "errors": [{"code": 10000, "message": "upstream"}]})] * 6,
                     after=2)
        target.parallel = 1  # deterministic order for the scripted failure
        result, slept = run(target, plan_flush(SITE, urls))
        assert result.status == "partial"
        assert max(cf.calls) <= 100
        failed = result.failed()["cf"]
        assert failed == batches[2].items and "503" in next(o.message for o in result.outcomes if not o.ok)
        purged = {v for k, v in cf.purged if k == "files"}
        expected = {f"https://{h}{u}" for u in urls for h in HOSTS}
        assert purged == expected - {f"https://{h}{i.value}" for i in failed for h in HOSTS}
        assert len(slept) >= 5  # backoff between the 6 attempts


def test_cloudflare_prefixes_tags_everything_and_auth() -> None:
    with FakeCloudflare() as cf:
        plan = plan_flush(SITE, prefixes=["/news/"], tags=["a", "b"], everything=True)
        result, _ = run(CloudflareTarget("cf", "ZONE1", "cf-test-token", cf.url + "/client/v4"), plan)
        assert result.status == "ok"
        assert ("prefixes", f"{HOSTS[0]}/news/") in cf.purged and ("tags", "b") in cf.purged
        assert ("all", "") in cf.purged
        result, _ = run(CloudflareTarget("cf", "ZONE1", "nope", cf.url + "/client/v4"), plan_flush(SITE, ["/a"]))
        assert "10000: Authentication error" in result.outcomes[0].message


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=5, burst=25, clock=lambda: now[0])
    assert all(bucket.try_take() == 0 for _ in range(25))
    assert bucket.try_take() == pytest.approx(0.2)
    now[0] += 1
    assert sum(bucket.try_take() == 0 for _ in range(10)) == 5


# -- Akamai ---------------------------------------------------------------------------

@pytest.fixture
def akamai(tmp_path: Path) -> Iterator[tuple[FakeAkamai, Path]]:
    with FakeAkamai() as fake:
        yield fake, write_edgerc(tmp_path / ".edgerc")


def test_akamai_bodies_under_50000_bytes_delete_and_wait(akamai: tuple[FakeAkamai, Path]) -> None:
    fake, edgerc = akamai
    urls = [f"/very/long/path/{'x' * 120}/{n}.html" for n in range(800)]
    target = AkamaiTarget("ak", ["12345"], str(edgerc), api=fake.url)
    result, slept = run(target, plan_flush(SITE, urls, everything=True), wait=True)
    assert result.status == "ok", result.failed()
    assert all(o.status == "done" for o in result.outcomes)
    assert max(fake.bodies) < 50_000 and len(fake.bodies) >= 3
    assert {a for a, *_ in fake.purged} == {"delete"}
    assert {o for _, k, _, o in fake.purged if k == "url"} == {f"https://{h}{u}" for u in urls for h in HOSTS}
    assert ("delete", "cpcode", "production", 12345) in fake.purged
    assert 5 in slept  # waited estimatedSeconds


def test_akamai_soft_is_invalidate_and_429_is_retried(akamai: tuple[FakeAkamai, Path]) -> None:
    fake, edgerc = akamai
    fake.fail_next(Reply(429, {"title": "Rate Limit exceeded", "httpStatus": 429}, {"Retry-After": "2"}))
    result, slept = run(AkamaiTarget("ak", [], str(edgerc), api=fake.url), plan_flush(SITE, tags=["t"], soft=True))
    assert result.outcomes[0].status == "accepted" and result.outcomes[0].attempts == 2
    assert slept[0] >= 2
    assert fake.purged == [("invalidate", "tag", "production", "t")]


def test_akamai_wrong_credentials(tmp_path: Path, akamai: tuple[FakeAkamai, Path]) -> None:
    fake, _ = akamai
    bad = tmp_path / "bad.edgerc"
    bad.write_text("[default]\nclient_secret = x\nhost = h\naccess_token = wrong\nclient_token = wrong\n")
    result, _ = run(AkamaiTarget("ak", [], str(bad), api=fake.url), plan_flush(SITE, ["/a"]))
    assert "The signature does not match" in result.outcomes[0].message


# -- CloudFront (moto server) --------------------------------------------------------

@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def distribution(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import boto3

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    client = boto3.client("cloudfront", endpoint_url=moto_url, region_name="us-east-1")
    dist = client.create_distribution(DistributionConfig={
        "CallerReference": str(random.random()), "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "origin.example.fr",
                                                "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443,
                                                                       "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https",
                                 "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}},
                                 "MinTTL": 0}})
    return str(dist["Distribution"]["Id"])


def test_cloudfront_batches_within_limits_and_wait(moto_url: str, distribution: str) -> None:
    import boto3

    urls = [f"/p/{n}" for n in range(3500)]
    prefixes = [f"/d{n}/" for n in range(20)]
    target = CloudFrontTarget("cf", distribution, endpoint_url=moto_url)
    result, _ = run(target, plan_flush(SITE, urls, prefixes), wait=True)
    assert result.status == "ok", result.failed()
    client = boto3.client("cloudfront", endpoint_url=moto_url, region_name="us-east-1")
    items = client.list_invalidations(DistributionId=distribution)["InvalidationList"]["Items"]
    paths: list[str] = []
    for inv in items:
        batch = client.get_invalidation(DistributionId=distribution, Id=inv["Id"])["Invalidation"]
        got = batch["InvalidationBatch"]["Paths"]["Items"]
        assert len(got) <= MAX_PATHS and sum(p.endswith("*") for p in got) <= MAX_WILDCARDS
        assert batch["InvalidationBatch"]["CallerReference"].startswith("cdnctl-t-")
        paths += got
    assert sorted(paths) == sorted(urls + [p + "*" for p in prefixes])
    assert len({inv["Id"] for inv in items}) == 3  # 3000 + (500 urls + 15 wildcards) + 5 wildcards


def test_cloudfront_unknown_distribution_is_permanent(moto_url: str, distribution: str) -> None:
    result, _ = run(CloudFrontTarget("cf", "ENOSUCH", endpoint_url=moto_url), plan_flush(SITE, ["/a"], tags=["t"]))
    assert result.status == "failed"
    messages = " ".join(o.message for o in result.outcomes)
    assert "NoSuchDistribution" in messages and "no cache tags" in messages


# -- every driver: any split covers the request and stays under the limits ---------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["url", "prefix", "tag"]),
                          st.text(alphabet="abcxyz/-_.", min_size=1, max_size=300)), max_size=400))
def test_any_split_covers_the_request_within_vendor_limits(raw: list[tuple[str, str]]) -> None:
    items = list(dict.fromkeys(Item(k, ("/" + v) if k != "tag" else v) for k, v in raw))
    plan = FlushPlan(SITE.site, SITE.hosts, tuple(items))
    cf = CloudflareTarget.__new__(CloudflareTarget)
    front = CloudFrontTarget.__new__(CloudFrontTarget)
    for target, limit in ((cf, lambda b: len(CloudflareTarget.operations(plan, b)) <= 100),
                          (front, lambda b: len(b.items) <= MAX_PATHS and
                           sum(i.kind in ("prefix", "all") for i in b.items) <= MAX_WILDCARDS)):
        supported = [i for i in items if i.kind in target.kinds]
        calls = target.batch(plan, supported)
        assert sorted((i.kind, i.value) for b in calls for i in b.items) == sorted((i.kind, i.value) for i in supported)
        assert all(limit(b) for b in calls)
    ak = AkamaiTarget.__new__(AkamaiTarget)
    ak.cpcodes = []
    supported = [i for i in items if i.kind in ak.kinds]
    calls = ak.batch(plan, supported)
    assert sorted((i.kind, i.value) for b in calls for i in b.items) == sorted((i.kind, i.value) for i in supported)
    for b in calls:
        assert len(json.dumps({"objects": ak._objects(plan, b.kind, b.items)})) < 50_000


# -- the vendors file through the CLI ---------------------------------------------------

def test_cli_flush_through_the_vendors_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            fastly: FakeFastly, state_dir: Path) -> None:
    from click.testing import CliRunner

    from cdnctl.cli import cli

    vendors = tmp_path / "vendors.yaml"
    vendors.write_text(f"fastly:\n  api: {fastly.url}\n  token_env: TEST_FASTLY_TOKEN\n"
                       f"  sites: {{www.cases.example.fr: SVC1}}\n")
    args = ["--policy-dir", "tests/cases/sites", "flush", "--vendors", str(vendors), "--fleet", "/nonexistent",
            "https://cases.example.fr/a", "--json"]
    monkeypatch.delenv("TEST_FASTLY_TOKEN", raising=False)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert "set the environment variable TEST_FASTLY_TOKEN" in out["outcomes"][0]["message"]
    assert fastly.requests == []
    monkeypatch.setenv("TEST_FASTLY_TOKEN", "fastly-test-token")
    res = CliRunner().invoke(cli, [*args, "--fresh"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["targets"] == {"fastly:SVC1": {"done": 1}}
    assert "fastly-test-token" not in (state_dir / "audit.jsonl").read_text()  # never in the journal
