"""Every case of the shared table (tests/cases) through the indexed resolver, the
linear reference and ``cdnctl explain --json``."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache

import pytest
from click.testing import CliRunner

from cache_rules.loader import load_policy_dir
from cache_rules.model import PathRank, Policy, Rule, SitePolicy, TypeRank
from cache_rules.resolve import Decision, Request, Resolver, SiteResolver, linear_decide
from cdnctl.cli import cli
from tests.cases import CASES_POLICY_DIR, Case, load_cases, load_cases_policy

CASES = load_cases()
IDS = [c.id for c in CASES]


@cache
def _policy() -> Policy:
    return load_cases_policy()


@cache
def _resolver() -> Resolver:
    return Resolver(_policy())


def _site(case: Case) -> SitePolicy:
    site = _policy().site_for_host(case.site)
    assert site is not None, f"case {case.id}: no site {case.site!r} in {CASES_POLICY_DIR}"
    return site


def _all_rules(site: SitePolicy) -> list[Rule]:
    return [*site.rules, *(r for w in site.overrides for r in w.rules)]


def _got(decision: Decision) -> dict[str, object]:
    return {
        "enabled": decision.enabled,
        "cache": decision.cache,
        "ttl": decision.ttl,
        "rule": decision.rule.id if decision.rule else None,
        "override": decision.override.reason if decision.override else None,
    }


def _want(case: Case) -> dict[str, object]:
    return {"enabled": case.enabled, "cache": case.cache, "ttl": case.ttl, "rule": case.rule,
            "override": case.override}


# -- the table itself ------------------------------------------------------------------

def test_case_policy_validates_without_errors() -> None:
    result = load_policy_dir(CASES_POLICY_DIR)
    assert [str(d) for d in result.errors] == []
    assert len(result.policy.sites) == len(result.files) == 4


def test_table_size_and_unique_ids() -> None:
    assert len(CASES) >= 80
    assert len(set(IDS)) == len(IDS)


def test_rule_ids_are_unique_per_site() -> None:
    for site in _policy().sites.values():
        counts = Counter(r.id for r in _all_rules(site))
        assert [i for i, n in counts.items() if n > 1] == [], site.site


def test_cases_name_existing_rules_and_windows() -> None:
    for case in CASES:
        site = _site(case)
        if case.rule is not None:
            assert case.rule in {r.id for r in _all_rules(site)}, case.id
        if case.override is not None:
            assert case.override in {w.reason for w in site.overrides}, case.id


def test_every_rule_of_a_site_on_the_cdn_wins_somewhere() -> None:
    winners = {(_site(c).site, c.rule) for c in CASES if c.rule}
    for site in _policy().sites.values():
        if not any(c.enabled for c in CASES if _site(c) is site):
            continue  # a site never on the CDN in the table: no rule can win
        missing = [r.id for r in _all_rules(site) if (site.site, r.id) not in winners]
        assert missing == [], f"{site.site}: rules never winning in the table: {missing}"


def test_every_rank_combination_wins_somewhere() -> None:
    ranks = set()
    for case in CASES:
        if case.rule is not None:
            rule = next(r for r in _all_rules(_site(case)) if r.id == case.rule)
            ranks.add((rule.path_rank, rule.type_rank))
    assert ranks == {(p, t) for p in PathRank for t in TypeRank}


def test_window_boundaries_are_covered() -> None:
    """For every window: one case at ``from``, one a microsecond before, one at ``until``."""
    from datetime import timedelta

    for site in _policy().sites.values():
        ats = {c.at for c in CASES if _site(c) is site}
        for w in site.overrides:
            if site.site == "off.example.fr":
                continue  # the window of a site that stays off changes nothing
            assert w.start in ats, (site.site, w.reason, "from")
            assert w.start - timedelta(microseconds=1) in ats, (site.site, w.reason, "from - 1us")
            assert w.end in ats, (site.site, w.reason, "until")


# -- the three deciders ------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_indexed_resolver(case: Case) -> None:
    decision = SiteResolver(_site(case)).decide(case.path, case.content_type, case.at)
    assert _got(decision) == _want(case)
    # through the host lookup as well (aliases, host case)
    by_host = _resolver().decide(Request(case.site, case.path, case.content_type), case.at)
    assert _got(by_host) == _want(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_linear_reference(case: Case) -> None:
    decision = linear_decide(_site(case), case.path, case.content_type, case.at)
    assert _got(decision) == _want(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_explain_json(case: Case) -> None:
    args = ["--policy-dir", str(CASES_POLICY_DIR), "explain", "--site", case.site,
            "--path", case.path, "--at", case.at.isoformat(), "--json"]
    if case.content_type is not None:
        args[-1:-1] = ["--content-type", case.content_type]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    rule = out["rule"]
    got = {"enabled": out["enabled"], "cache": out["cache"], "ttl": out["ttl"],
           "rule": rule["id"] if rule else None, "override": out["override"]}
    assert got == _want(case)
    if rule is not None:
        site = _site(case)
        assert rule["file"] == site.file
        winner = next(r for r in _all_rules(site) if r.id == case.rule)
        assert rule["line"] == winner.location.line
        assert rule["selector"] == winner.describe()
