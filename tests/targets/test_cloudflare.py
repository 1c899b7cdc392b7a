"""Cloudflare Cache Rules: the shared case table replayed through an evaluator of the
generated rulesets; every case gets the SPEC decision or the documented approximation."""

from __future__ import annotations

import json

from cache_rules.resolve import linear_decide
from cache_rules.targets import CompileOptions, compile_policy
from cache_rules.targets.cloudflare import approximate
from tests.cases import load_cases, load_cases_policy
from tests.targets.evaluators import Got, covered, expected, site_of
from tests.targets.evaluators.cloudflare import decide, parse


def _compiled():
    policy = load_cases_policy()
    compiled = compile_policy(policy, "cloudflare", options=CompileOptions(check=False))
    return policy, compiled, json.loads(compiled.files["cloudflare-rulesets.json"])


def test_case_table_exact_or_documented_approximation() -> None:
    policy, _, rulesets = _compiled()
    from cache_rules.targets.base import plan_sites
    from cache_rules.targets.cloudflare import TARGET

    items = TARGET.fidelity(plan_sites(policy, None, CompileOptions(check=False)), CompileOptions(check=False))
    exact = approximated = 0
    for case in load_cases():
        site = site_of(policy, case)
        r = decide(rulesets[site.site], case.site, case.path, case.at)
        rule = r.ref[len("cdnctl_"):] if r.ref else None
        got = Got(r.cache, r.ttl, None if rule == "off" else rule)
        if got == expected(case):
            exact += 1
            continue
        reduced, path, media = approximate(site, case.path, case.content_type)
        d = linear_decide(reduced, path, media, case.at)
        assert got == Got(d.cache, d.ttl, d.rule.id if d.rule else None), case.id
        assert covered(case, got, items, site.site), f"{case.id}: not in the fidelity report"
        approximated += 1
    assert exact + approximated == len(load_cases()) == 144
    print(f"cloudflare: {exact} exact, {approximated} approximated")
    assert exact >= 100, exact  # extension guesses get most type cases right


def test_every_expression_parses_and_rules_are_ordered() -> None:
    _, _, rulesets = _compiled()
    for body in rulesets.values():
        assert body["phase"] == "http_request_cache_settings" and body["kind"] == "zone"
        for rule in body["rules"]:
            parse(rule["expression"])
            assert rule["action"] == "set_cache_settings"


def test_fidelity_names_type_rules() -> None:
    _policy, compiled, _ = _compiled()
    text = "\n".join(compiled.notes)
    assert "URL normalization" in text
