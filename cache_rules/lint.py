"""Semantic checks of SPEC §2 (errors) and advice on rules that look wrong (warnings)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise

from cache_rules.diagnostics import Diagnostic, error, warning
from cache_rules.model import PathRank, Policy, Rule, SitePolicy, TypeRank
from cache_rules.values import format_duration, patterns_overlap

ONE_YEAR = 365 * 86400


def lint_policy(sites: Sequence[SitePolicy], policy: Policy, now: datetime | None = None) -> list[Diagnostic]:
    """Check every site, add the valid ones to ``policy`` and return all diagnostics."""
    now = now or datetime.now(UTC)
    diags: list[Diagnostic] = []
    owner: dict[str, SitePolicy] = {}
    for site in sites:
        clash = next((h for h in site.hosts if h in owner), None)
        if clash is not None:
            first = owner[clash]
            diags.append(error(site.location, "duplicate-site",
                               f"host {clash} is already served by site {first.site} ({first.location})"))
            continue
        for host in site.hosts:
            owner[host] = site
        diags.extend(lint_site(site, now))
        policy.sites[site.site] = site
    return diags


def lint_site(site: SitePolicy, now: datetime) -> list[Diagnostic]:
    diags = check_rules(site.rules, site)
    if not any(r.path_rank is PathRank.SITE and r.type_rank is TypeRank.ANY for r in site.rules):
        diags.append(error(site.location, "missing-default",
                           "no site-wide default rule; add {default: true, ttl: ...} to rules"))
    windows = sorted(site.overrides, key=lambda w: w.start)
    for prev, cur in pairwise(windows):
        if cur.start < prev.end:
            diags.append(error(cur.location, "overlapping-windows",
                               f"override window '{cur.reason}' overlaps '{prev.reason}' "
                               f"(line {prev.location.line}): "
                               f"{cur.start.isoformat()} < {prev.end.isoformat()}"))
    regular = {r.selector: r for r in site.rules}
    for window in site.overrides:
        diags.extend(check_rules(window.rules, site))
        for rule in window.rules:
            same = regular.get(rule.selector)
            if same is not None and same.ttl == rule.ttl:
                diags.append(warning(rule.location, "no-effect",
                                     f"override rule repeats line {same.location.line} "
                                     f"({rule.describe()}, {rule.action()}) and changes nothing"))
        if window.end <= now:
            diags.append(warning(window.location, "past-window",
                                 f"override window '{window.reason}' ended "
                                 f"{window.end.isoformat()}; remove it"))
    used = {r.type_value for r in site.rules if r.type_rank is TypeRank.GROUP}
    used |= {r.type_value for w in site.overrides for r in w.rules if r.type_rank is TypeRank.GROUP}
    for name in site.groups:
        if name not in used:
            diags.append(warning(site.location, "unused-group", f"content type group '{name}' is never used"))
    if site.origin.startswith("http://"):
        diags.append(warning(site.location, "plain-http-origin",
                             f"origin {site.origin} is reached over plain HTTP"))
    return diags


def check_rules(rules: Sequence[Rule], site: SitePolicy) -> list[Diagnostic]:
    """Duplicates and possible ties are errors; shadowed or odd rules are warnings."""
    diags: list[Diagnostic] = []
    seen: dict[tuple[object, ...], Rule] = {}
    groups_at: dict[tuple[PathRank, str | None], list[Rule]] = {}
    exact_at: dict[tuple[PathRank, str | None], set[str]] = {}
    for rule in rules:
        first = seen.get(rule.selector)
        if first is not None:
            diags.append(error(rule.location, "duplicate-selector",
                               f"{rule.describe()} is already defined on line {first.location.line}"))
            continue
        seen[rule.selector] = rule
        scope = (rule.path_rank, rule.path)
        if rule.type_rank is TypeRank.GROUP:
            for other in groups_at.get(scope, []):
                overlap = _overlap(rule.patterns, other.patterns)
                if overlap:
                    diags.append(error(rule.location, "tie",
                                       f"{rule.describe()} and group {other.type_value} (line "
                                       f"{other.location.line}) both match {overlap}: the winner would "
                                       "be ambiguous"))
            groups_at.setdefault(scope, []).append(rule)
        elif rule.type_rank is TypeRank.EXACT and rule.type_value:
            exact_at.setdefault(scope, set()).add(rule.type_value)
        if rule.ttl > ONE_YEAR:
            diags.append(warning(rule.location, "long-ttl",
                                 f"ttl {format_duration(rule.ttl)} is longer than a year"))
        if rule.path_rank is PathRank.DIRECTORY and rule.path == "/":
            diags.append(warning(rule.location, "root-directory",
                                 "directory / covers the whole site; a site-wide rule says the same"))

    for scope, group_rules in groups_at.items():
        exact = exact_at.get(scope, set())
        for rule in group_rules:
            if rule.patterns and all(p in exact for p in rule.patterns):
                diags.append(warning(rule.location, "shadowed",
                                     f"{rule.describe()} can never win: every type of the group has "
                                     "its own rule in the same scope"))

    no_cache_dirs = sorted(
        (r for r in seen.values() if r.path_rank is PathRank.DIRECTORY and r.type_rank is TypeRank.ANY
         and not r.cache and r.path),
        key=lambda r: len(r.path or ""), reverse=True)
    for rule in seen.values():
        if not rule.cache or rule.path is None:
            continue
        outer = next((d for d in no_cache_dirs if d.path and rule.path != d.path
                      and rule.path.startswith(d.path)), None)
        if outer is not None:
            diags.append(warning(rule.location, "cached-in-no-cache-area",
                                 f"{rule.describe()} is cached inside {outer.path}, which is "
                                 f"cache: false (line {outer.location.line}); check this is intended"))
    return diags


def _overlap(a: Sequence[str], b: Sequence[str]) -> str | None:
    for pa in a:
        for pb in b:
            if patterns_overlap(pa, pb):
                return pb if pa.endswith("/*") else pa  # the narrower pattern names the clash
    return None
