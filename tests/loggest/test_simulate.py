"""Simulated edge logs obey the policy: every cache status is what the policy allows."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

from cache_rules.loader import load_policy_dir
from cache_rules.resolve import SiteResolver
from loggest.simulate import simulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sites"
LINE = re.compile(r'^\S+ - - \[(?P<t>[^\]]+)\] "GET (?P<path>\S+) HTTP/1.1" (?P<status>\d{3}) (?P<bytes>\d+) '
                  r'"[^"]*" "[^"]*" "(?P<host>[^"]+)" (?P<cache>[A-Z]+) (?P<taken>\d+\.\d{3})$')


def test_cache_statuses_follow_the_policy_decisions() -> None:
    policy = load_policy_dir(EXAMPLES).require_valid()
    resolvers = {s.site: SiteResolver(s) for s in policy.sites.values()}
    # The election-night window (25 April 18:00 → 26 April 06:00) is inside these days.
    rows = list(simulate(policy, date(2027, 4, 25), 2, 3000, seed=7))
    assert len(rows) == 3 * 2 * 3000
    fetched: dict[tuple[str, str], datetime] = {}
    statuses: Counter[str] = Counter()
    for when, line, ctype in rows:
        m = LINE.match(line)
        assert m, line
        assert datetime.strptime(m["t"], "%d/%b/%Y:%H:%M:%S %z") == when.replace(microsecond=0)
        decision = resolvers[m["host"]].decide(m["path"], ctype, when)
        key = (m["host"], m["path"])
        statuses[m["cache"]] += 1
        if not decision.cache:
            assert m["cache"] == "BYPASS", (line, decision)
        elif m["cache"] == "HIT":
            assert (when - fetched[key]).total_seconds() < decision.ttl, line
        else:
            assert m["cache"] in ("MISS", "EXPIRED"), line
            if key in fetched:
                assert (when - fetched[key]).total_seconds() >= decision.ttl, line
            fetched[key] = when
    # The disabled site passes everything; the others are mostly served from the cache.
    assert statuses["HIT"] > statuses["MISS"] + statuses["EXPIRED"]
    off = [line for _, line, _ in rows if '"www.journees-patrimoine.gouv.fr"' in line]
    assert off and all(line.split('" ')[-1].startswith("BYPASS") for line in off)


def test_daily_curve_and_zipf_head() -> None:
    policy = load_policy_dir(EXAMPLES).require_valid()
    rows = list(simulate(policy, date(2027, 4, 20), 1, 20_000, sites=["www.interieur.gouv.fr"]))
    hours = Counter(when.hour for when, _, _ in rows)
    assert hours[21] > 5 * hours[3]  # evening peak vs night trough
    paths = Counter(LINE.match(line)["path"] for _, line, _ in rows)  # type: ignore[index]
    (top, top_n), (_, second_n) = paths.most_common(2)
    assert top == "/css/site.css" and top_n > 1.5 * second_n


def test_deterministic_for_a_seed() -> None:
    policy = load_policy_dir(EXAMPLES).require_valid()
    a = list(simulate(policy, date(2027, 4, 20), 1, 500, seed=3))
    b = list(simulate(policy, date(2027, 4, 20), 1, 500, seed=3))
    assert a == b

