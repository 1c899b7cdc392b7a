"""Top misses by the rule that decided them, with the TTL that rule has (issue #12 item 6).

A site owner who sees a low CDN share wants to know *which rule* sends the traffic to the
origin, and what that rule says: a 1-minute TTL on a busy directory, a ``cache: false``
left over from a crisis. The edges log the id of the winning rule (``X-Cache-Rule``, read
at ingest into ``records.rule``), so the misses are counted per rule here and each rule is
looked up by id in the site's current policy for its TTL.

- A *miss* is a request the origin had to answer: cache class ``miss`` (not in the cache,
  or expired) or ``pass`` (not storable: a ``cache: false`` rule, a Set-Cookie, an
  Authorization header…) — SPEC §5's origin requests. Both are given per rule, apart,
  because they call for different fixes (a longer TTL vs a rule that caches at all).
- The period is whole Europe/Paris days, bounded as :mod:`reports.metrics` bounds it
  (:func:`reports.calendar.day_start` / :func:`~reports.calendar.day_end`).
- A record without a rule id (a format that has no such field, a site switched off, an
  answer the edge made itself) is counted in ``without_rule``: never attributed to a rule.
- ``ttl_s`` comes from the policy as it is now, not as it was when the request was made:
  a rule that no longer exists has ``ttl_s`` None and ``rule_exists`` False; without a
  policy both are None (not known). Hosts are merged into their policy site (aliases).

:func:`reference_misses_by_rule` counts the same from record dicts in pure Python; the
tests require both to agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from cache_rules.model import Override, Policy, Rule, SitePolicy
from reports.calendar import day_end, day_start

# (host as logged, rule id or None, miss, pass, requests): what the store is asked for
Group = tuple[str, str | None, int, int, int]

_SQL = """
SELECT site, rule, countIf(cache_class = 'miss'), countIf(cache_class = 'pass'), count()
FROM records
WHERE site IN {sites:Array(String)} AND time >= {lo:DateTime('UTC')} AND time < {hi:DateTime('UTC')}
GROUP BY site, rule
"""


def statement(sites: Sequence[str], first: date, last: date) -> tuple[str, dict[str, Any]]:
    """The SQL :func:`misses_by_rule` runs and its bound parameters (nothing formatted in)."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    return _SQL, {"sites": list(sites), "lo": day_start(first), "hi": day_end(last)}


def misses_by_rule(client: Any, sites: Sequence[str], first: date, last: date, policy: Policy | None = None,
                   top: int = 10) -> dict[str, Any]:
    """Origin requests (miss + pass) of ``sites`` over Paris days ``first``..``last`` by the
    rule that decided them, the ``top`` rules with the most first, each with its TTL in
    ``policy``. ``client`` is a clickhouse-connect client of the log store.

    → ``{"rows": [{"site", "rule", "rule_exists", "ttl_s", "override", "misses", "miss",
    "pass", "requests"}], "with_rule", "without_rule", "misses_with_rule",
    "misses_without_rule"}``: ``requests`` are all the rule's requests (hits too), so
    ``misses / requests`` is its share sent to the origin; ``override`` is the reason of the
    window holding the rule (None: a regular rule); ``with_rule``/``without_rule`` count
    requests with and without a logged rule id over the whole period, not only the rows
    shown (a rule with no miss is not a row)."""
    return misses_by_rule_by_site(client, {"": sites}, first, last, policy, top)[""]


def misses_by_rule_by_site(client: Any, scopes: Mapping[str, Sequence[str]], first: date, last: date,
                           policy: Policy | None = None, top: int = 10) -> dict[str, dict[str, Any]]:
    """``{site: misses_by_rule(client, list(hosts), first, last, policy, top)}`` for each site of
    ``scopes`` (site → its hosts), in one statement for all the sites instead of one each
    (about 11 ms of chDB per statement). The statement already groups by host, so each
    site takes the rows of its own hosts; a host in two scopes counts in both."""
    sql, params = statement(list(dict.fromkeys(h for hosts in scopes.values() for h in hosts)), first, last)
    if not scopes:
        return {}
    by_host: dict[str, list[Group]] = {}
    for s, r, m, p, n in client.query(sql, parameters=params).result_rows:
        by_host.setdefault(str(s), []).append((str(s), None if r is None else str(r), int(m), int(p), int(n)))
    return {site: _shape([g for h in dict.fromkeys(hosts) for g in by_host.get(h, ())], policy, top)
            for site, hosts in scopes.items()}


def reference_misses_by_rule(records: Iterable[dict[str, Any]], sites: Sequence[str], first: date, last: date,
                             policy: Policy | None = None, top: int = 10) -> dict[str, Any]:
    """The same figures as :func:`misses_by_rule` from record dicts (columns of ``records``)."""
    lo, hi = day_start(first), day_end(last)
    wanted = set(sites)
    counts: dict[tuple[str, str | None], list[int]] = {}
    for r in records:
        t: datetime = r["time"]
        if r["site"] not in wanted or not lo <= t < hi:
            continue
        c = counts.setdefault((r["site"], r.get("rule")), [0, 0, 0])
        c[0] += r.get("cache_class") == "miss"
        c[1] += r.get("cache_class") == "pass"
        c[2] += 1
    return _shape([(s, rule, m, p, n) for (s, rule), (m, p, n) in counts.items()], policy, top)


def _rules_by_id(site: SitePolicy) -> dict[str, tuple[Rule, Override | None]]:
    # Ids are unique across a site, override windows included (the loader refuses a duplicate).
    found: dict[str, tuple[Rule, Override | None]] = {r.id: (r, None) for r in site.rules}
    for window in site.overrides:
        found.update({r.id: (r, window) for r in window.rules})
    return found


def _shape(groups: Iterable[Group], policy: Policy | None, top: int) -> dict[str, Any]:
    merged: dict[tuple[str, str], list[int]] = {}
    with_rule = without_rule = misses_with = misses_without = 0
    sites: dict[str, SitePolicy | None] = {}
    for host, rule, miss, passed, requests in groups:
        if rule is None:
            without_rule += requests
            misses_without += miss + passed
            continue
        with_rule += requests
        misses_with += miss + passed
        if host not in sites:
            sites[host] = policy.site_for_host(host) if policy is not None else None
        site = sites[host]
        c = merged.setdefault((site.site if site is not None else host, rule), [0, 0, 0])
        c[0] += miss
        c[1] += passed
        c[2] += requests
    by_site = {s.site: _rules_by_id(s) for s in (policy.sites.values() if policy is not None else ())}
    rows = []
    for (site_name, rule), (miss, passed, requests) in merged.items():
        if miss + passed == 0:
            continue
        known = by_site.get(site_name, {}).get(rule) if policy is not None else None
        rows.append({
            "site": site_name, "rule": rule,
            "rule_exists": None if policy is None else known is not None,
            "ttl_s": known[0].ttl if known is not None else None,
            "override": known[1].reason if known is not None and known[1] is not None else None,
            "misses": miss + passed, "miss": miss, "pass": passed, "requests": requests,
        })
    rows.sort(key=lambda x: (-x["misses"], -x["requests"], x["site"], x["rule"]))
    return {"rows": rows[:max(top, 0)], "with_rule": with_rule, "without_rule": without_rule,
            "misses_with_rule": misses_with, "misses_without_rule": misses_without}
