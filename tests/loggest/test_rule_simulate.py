"""Simulated edge logs with the rule ids (``simulate(rules=True)``): the same lines plus the
rule the resolver chose, which logs ingest and the misses report read back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cache_rules.loader import load_policy_dir
from cache_rules.resolve import SiteResolver
from loggest.formats import resolve_format
from loggest.formats.model import COL
from loggest.ingest import IngestOptions, ingest
from loggest.simulate import simulate
from loggest.sources.local import local_files
from loggest.store import open_store
from loggest.synth import write_log
from reports.misses import misses_by_rule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sites"


def test_simulated_rules_are_the_resolvers_and_reach_the_report(tmp_path: Path) -> None:
    policy = load_policy_dir(EXAMPLES).require_valid()
    plain = list(simulate(policy, date(2027, 4, 25), 1, 800, seed=5))
    ruled = list(simulate(policy, date(2027, 4, 25), 1, 800, seed=5, rules=True))
    parser = resolve_format("nginx-cdn").parser()
    resolvers = {s.site: SiteResolver(s) for s in policy.sites.values()}
    for (when, a, ctype), (_w, b, _c) in zip(plain, ruled, strict=True):
        assert b.startswith(a + ' "')
        row = parser.parse(b)
        assert row is not None
        decision = resolvers[str(row[COL["site"]])].decide(str(row[COL["path"]]), ctype, when)
        assert row[COL["rule"]] == (decision.rule.id if decision.enabled and decision.rule else None)
    logs = tmp_path / "logs"
    logs.mkdir()
    write_log(logs / "edge-sim_2027-04-25.log.gz", [line for _w, line, _c in ruled])
    with open_store(f"chdb://{tmp_path / 'store.chdb'}") as st:
        ingest(st, local_files([logs], 0), IngestOptions(resolve_format("nginx-cdn")))
        report = misses_by_rule(st.client, sorted(policy.sites), date(2027, 4, 25), date(2027, 4, 25), policy)
    assert report["rows"] and all(r["rule_exists"] for r in report["rows"])
    assert report["with_rule"] + report["without_rule"] == len(ruled)
    off = sum('"www.journees-patrimoine.gouv.fr"' in line for _w, line, _c in ruled)   # the site switched off
    assert report["without_rule"] == off > 0
