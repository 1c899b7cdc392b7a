"""`cdnctl vendor plan|apply` end to end against both local vendor APIs: diff, exit codes,
change record + audit entry, idempotence, missing credentials, half-applied across vendors,
tokens never printed or written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from tests.deploy.conftest import CF_SITE, FASTLY_SITE
from tests.fakes.cloudflare import FakeCloudflare
from tests.fakes.common import Reply
from tests.fakes.fastly import FakeFastly

CF_TOKEN, FASTLY_TOKEN = "cf-secret-0123456789", "fastly-secret-0123456789"


@pytest.fixture
def apis(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeCloudflare, FakeFastly]]:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CF_TOKEN)
    monkeypatch.setenv("FASTLY_API_TOKEN", FASTLY_TOKEN)
    with FakeCloudflare(CF_TOKEN, zones=("ZONE1",)) as cf, FakeFastly(FASTLY_TOKEN, services=("SVC1",)) as fastly:
        yield cf, fastly


@pytest.fixture
def vendors(tmp_path: Path, apis: tuple[FakeCloudflare, FakeFastly]) -> Path:
    cf, fastly = apis
    path = tmp_path / "vendors.yaml"
    path.write_text(f"cloudflare:\n  api: {cf.url}/client/v4\n  sites: {{{CF_SITE}: ZONE1}}\n"
                    f"fastly:\n  api: {fastly.url}\n  sites: {{{FASTLY_SITE}: SVC1}}\n")
    return path


def cdnctl(sites: Path, *args: str) -> tuple[int, str]:
    out = CliRunner().invoke(cli, ["--policy-dir", str(sites), *args])
    assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
    return out.exit_code, out.output


def test_plan_apply_record_then_nothing_to_do(sites: Path, vendors: Path, state_dir: Path) -> None:
    code, out = cdnctl(sites, "vendor", "plan", "--vendors", str(vendors))
    assert code == 0, out
    assert "create  cloudflare www.journees-patrimoine.gouv.fr (ZONE1)" in out
    assert "create  fastly www.france2030-sommet.gouv.fr (SVC1)" in out
    assert "+++ VCL cdnctl (compiled)" in out  # akamai / cloudfront: tests/deploy/test_akamai.py, test_cloudfront.py
    code, out = cdnctl(sites, "vendor", "apply", "--vendors", str(vendors), "--who", "bob",
                       "--requested-at", "2027-03-01T10:00:00+01:00")
    assert code == 0, out
    assert "applied  cloudflare" in out and "applied  fastly" in out and "recorded in" in out
    changes = [json.loads(x) for x in (state_dir / "changes.jsonl").read_text().splitlines()]
    assert len(changes) == 1 and changes[0]["status"] == "applied" and changes[0]["who"] == "bob"
    assert changes[0]["requested_at"] == "2027-03-01T10:00:00+01:00" and changes[0]["effective_at"]
    assert sorted(changes[0]["sites"]) == [FASTLY_SITE, CF_SITE]
    audit = [json.loads(x) for x in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["action"] == "vendor-apply" and audit[-1]["result"] == "ok" and audit[-1]["who"] == "user:bob"
    for text in (out, (state_dir / "changes.jsonl").read_text(), (state_dir / "audit.jsonl").read_text()):
        assert CF_TOKEN not in text and FASTLY_TOKEN not in text
    code, out = cdnctl(sites, "vendor", "apply", "--vendors", str(vendors), "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "unchanged" and data["change"] is None
    assert {u["status"] for u in data["units"]} == {"unchanged"}
    assert len((state_dir / "audit.jsonl").read_text().splitlines()) == 2  # the no-op is audited too


def test_missing_token_names_the_variable(sites: Path, vendors: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FASTLY_API_TOKEN")
    code, out = cdnctl(sites, "vendor", "plan", "--vendors", str(vendors), "--vendor", "fastly")
    assert code == 1 and "set the environment variable FASTLY_API_TOKEN" in out and "Traceback" not in out


def test_half_applied_across_vendors_exits_3(sites: Path, vendors: Path, state_dir: Path,
                                             apis: tuple[FakeCloudflare, FakeFastly]) -> None:
    cf, _ = apis
    cf.reject_marker = "starts_with"  # Cloudflare refuses the rules; Fastly takes its config
    code, out = cdnctl(sites, "vendor", "apply", "--vendors", str(vendors), "--json")
    data = json.loads(out)
    assert code == 3 and data["status"] == "partial" and data["exit_code"] == 3
    assert "done: fastly www.france2030-sommet.gouv.fr (SVC1)" in data["half_applied"]
    assert "not done: cloudflare" in data["half_applied"] and "filter parsing error" in data["half_applied"]
    change = json.loads((state_dir / "changes.jsonl").read_text().splitlines()[-1])
    assert change["status"] == "partial"


def test_failed_apply_exits_1_with_the_vendor_message(sites: Path, vendors: Path,
                                                      apis: tuple[FakeCloudflare, FakeFastly]) -> None:
    _, fastly = apis
    fastly.invalid_marker = "vcl_fetch"
    code, out = cdnctl(sites, "vendor", "apply", "--vendors", str(vendors), "--vendor", "fastly")
    assert code == 1, out
    assert "Fastly refused version 2" in out and "nothing live was changed" in out
    assert fastly.active("SVC1") == 1


def test_429_retry_after_through_the_cli(sites: Path, vendors: Path, apis: tuple[FakeCloudflare, FakeFastly]) -> None:
    cf, _ = apis
    cf.fail_next(Reply(429, {"success": False, "errors": [{"code": 971, "message": "throttled"}]},
                       {"Retry-After": "1"}), path_contains="entrypoint", after=2)
    code, out = cdnctl(sites, "vendor", "apply", "--vendors", str(vendors), "--vendor", "cloudflare")
    assert code == 0 and "applied  cloudflare" in out and cf.puts == 1


def test_unknown_site_is_a_usage_error(sites: Path, vendors: Path) -> None:
    code, out = cdnctl(sites, "vendor", "plan", "--vendors", str(vendors), "--site", "nope.example.fr")
    assert code == 2 and "no site 'nope.example.fr'" in out
