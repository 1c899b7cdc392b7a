"""CloudFront: behaviors chosen as CloudFront does, the generated Lambda@Edge function run
with node on origin-response events — every case of the shared table gets the SPEC decision."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from cache_rules.targets import CompileOptions, compile_policy
from tests.cases import load_cases, load_cases_policy
from tests.targets.evaluators import Got, expected, site_of
from tests.targets.evaluators.cloudfront import decide_all

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")


def _wire(path: str) -> str:
    return quote(path.split("#", 1)[0].split("?", 1)[0], safe="/%=&;:@!$'()*+,~-._")


def test_case_table_through_behaviors_and_node(tmp_path: Path) -> None:
    policy = load_cases_policy()
    compiled = compile_policy(policy, "cloudfront", options=CompileOptions(check=False))
    compiled.write(tmp_path)
    config = json.loads(compiled.files["cloudfront.json"])
    cases = load_cases()
    requests = [(site_of(policy, c).site, c.site, _wire(c.path), c.content_type, c.at.timestamp() * 1000)
                for c in cases]
    results = decide_all(config, tmp_path, requests)
    wrong = [(c.id, r) for c, r in zip(cases, results, strict=True) if Got(r.cache, r.ttl, r.rule) != expected(c)]
    assert not wrong, wrong
    fixed = sum(1 for r in results if r.cache_control is None)
    print(f"cloudfront: {len(cases)} cases exact, {fixed} decided by a fixed-TTL behavior, "
          f"{len(cases) - fixed} by the function")


def test_engine_check_loads_the_functions() -> None:
    compiled = compile_policy(load_cases_policy(), "cloudfront", options=CompileOptions())
    assert compiled.check is not None and compiled.check.command[0] == "node"


def test_fixed_behaviors_only_where_no_code_is_needed() -> None:
    policy = load_cases_policy()
    config = json.loads(compile_policy(policy, "cloudfront", options=CompileOptions(check=False))
                        .files["cloudfront.json"])
    cases = config["www.cases.example.fr"]
    patterns = {b["PathPattern"]: b for b in cases["behaviors"]}
    assert patterns["/a/*"]["Lambda"] and cases["default"]["Lambda"]  # scopes with rules below / types
    assert patterns["/admin/public/*"]["Lambda"] is False and patterns["/admin/public/*"]["TTL"] == 300
    off = config["off.example.fr"]
    assert not off["default"]["Lambda"] and off["default"]["CachePolicy"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
