"""Akamai rule trees: the shared case table replayed through an evaluator of the generated
tree (Akamai's documented matching); every case gets the SPEC decision or is covered by
the fidelity report."""

from __future__ import annotations

import json
from urllib.parse import quote

from cache_rules.targets import CompileOptions, compile_policy
from cache_rules.targets.akamai import TARGET
from cache_rules.targets.base import plan_sites
from cache_rules.values import normalize_content_type
from tests.cases import Case, load_cases, load_cases_policy
from tests.targets.evaluators import Got, covered, expected, site_of
from tests.targets.evaluators.akamai import decide

OPTIONS = CompileOptions(check=False)


def _wire(path: str) -> str:
    """The path as an HTTP client sends it: UTF-8 escapes for raw characters, no fragment."""
    return quote(path.split("#", 1)[0], safe="/%?=&;:@!$'()*+,~-._")


CONDITIONS = {
    "encoded-reserved": lambda c: any(e in c.path.upper() for e in ("%2F", "%3F", "%23", "%25")),
    "malformed-content-type": lambda c: bool(c.content_type) and normalize_content_type(c.content_type) is None,
}


def _replay() -> tuple[int, list[tuple[Case, Got]]]:
    policy = load_cases_policy()
    trees = json.loads(compile_policy(policy, "akamai", options=OPTIONS).files["akamai-rules.json"])
    items = TARGET.fidelity(plan_sites(policy, None, OPTIONS), OPTIONS)
    exact, approximated = 0, []
    for case in load_cases():
        site = site_of(policy, case)
        r = decide(trees[site.site]["rule"], _wire(case.path), case.content_type, case.at)
        got = Got(r.cache, r.ttl, None if r.rule == "off" else r.rule)
        if got == expected(case):
            exact += 1
            continue
        assert covered(case, got, items, site.site, CONDITIONS), f"{case.id}: {got} not in the fidelity report"
        approximated.append((case, got))
    return exact, approximated


def test_case_table_exact_or_reported() -> None:
    exact, approximated = _replay()
    print(f"akamai: {exact} exact, {len(approximated)} reported:", [c.id for c, _ in approximated])
    assert exact + len(approximated) == 144
    assert exact >= 135


def test_tree_is_ascending_and_windows_come_last() -> None:
    policy = load_cases_policy()
    trees = json.loads(compile_policy(policy, "akamai", options=OPTIONS).files["akamai-rules.json"])
    events = trees["www.events.example.fr"]["rule"]["children"]
    names = [c["name"] for c in events]
    assert names[0].startswith("ev-default:") and names[-1].startswith("window 2:")
    assert [c["criteria"][0]["name"] for c in events if c["name"].startswith("window")] == ["time"] * 3
