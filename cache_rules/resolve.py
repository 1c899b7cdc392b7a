"""Which rule wins (SPEC §2): an indexed resolver and the linear reference it must match.

The index answers with a handful of dict look-ups per request: the page scope, then
each directory prefix of the path from the longest, then the site scope; inside a
scope the exact type, then the group, then the any-type rule. Visiting scopes in that
order is the same as taking the largest (path rank, prefix length, type rank) key,
because validation forbids two rules that could tie.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from cache_rules.model import Override, PathRank, Policy, Rule, SitePolicy, TypeRank
from cache_rules.values import host_key, normalize_content_type, normalize_path, pattern_matches

_content_type = lru_cache(maxsize=1024)(normalize_content_type)


@dataclass(frozen=True, slots=True)
class Request:
    site: str
    path: str
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    site: str
    path: str  # normalised
    content_type: str | None  # media type, normalised
    enabled: bool
    rule: Rule | None  # None only when the site is switched off
    override: Override | None  # the active window, if the winning rule came from it

    @property
    def cache(self) -> bool:
        return self.enabled and self.rule is not None and self.rule.ttl > 0

    @property
    def ttl(self) -> int:
        return self.rule.ttl if self.cache and self.rule else 0


class _Scope:
    """The rules sharing one path selector, looked up by type."""

    __slots__ = ("any", "exact", "group_exact", "group_major")

    def __init__(self) -> None:
        self.exact: dict[str, Rule] = {}
        self.group_exact: dict[str, Rule] = {}
        self.group_major: dict[str, Rule] = {}
        self.any: Rule | None = None

    def add(self, rule: Rule) -> None:
        if rule.type_rank is TypeRank.EXACT:
            self.exact[rule.patterns[0]] = rule
        elif rule.type_rank is TypeRank.GROUP:
            for pattern in rule.patterns:
                if pattern.endswith("/*"):
                    self.group_major[pattern[:-2]] = rule
                else:
                    self.group_exact[pattern] = rule
        else:
            self.any = rule

    def match(self, media: str | None) -> Rule | None:
        if media is not None:
            rule = self.exact.get(media) or self.group_exact.get(media)
            if rule is not None:
                return rule
            if self.group_major:
                rule = self.group_major.get(media.partition("/")[0])
                if rule is not None:
                    return rule
        return self.any


class RuleIndex:
    """One rule set (regular rules, or one override window) indexed by path scope."""

    __slots__ = ("dirs", "pages", "site")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.pages: dict[str, _Scope] = {}
        self.dirs: dict[str, _Scope] = {}
        self.site: _Scope | None = None
        for rule in rules:
            if rule.path_rank is PathRank.PAGE:
                self.pages.setdefault(rule.path or "", _Scope()).add(rule)
            elif rule.path_rank is PathRank.DIRECTORY:
                self.dirs.setdefault(rule.path or "", _Scope()).add(rule)
            else:
                if self.site is None:
                    self.site = _Scope()
                self.site.add(rule)

    def lookup(self, path: str, media: str | None) -> Rule | None:
        scope = self.pages.get(path)
        if scope is not None:
            rule = scope.match(media)
            if rule is not None:
                return rule
        dirs = self.dirs
        if dirs:
            end = path.rfind("/")
            while end >= 0:
                scope = dirs.get(path[: end + 1])
                if scope is not None:
                    rule = scope.match(media)
                    if rule is not None:
                        return rule
                end = path.rfind("/", 0, end)
        return self.site.match(media) if self.site is not None else None


class SiteResolver:
    """Decisions for one site; build once, ask many times."""

    def __init__(self, site: SitePolicy) -> None:
        self.site = site
        self.regular = RuleIndex(site.rules)
        self.windows = [(w, RuleIndex(w.rules)) for w in site.overrides]

    def decide(self, path: str, content_type: str | None = None, at: datetime | None = None) -> Decision:
        at = at or datetime.now(UTC)
        path = normalize_path(path)
        media = _content_type(content_type)
        window = index = None
        for w, idx in self.windows:
            if w.start <= at < w.end:
                window, index = w, idx
                break
        enabled = self.site.enabled
        if window is not None and window.enabled is not None:
            enabled = window.enabled
        if not enabled:
            return Decision(self.site.site, path, media, False, None, None)
        if index is not None:
            rule = index.lookup(path, media)
            if rule is not None:
                return Decision(self.site.site, path, media, True, rule, window)
        return Decision(self.site.site, path, media, True, self.regular.lookup(path, media), None)


class Resolver:
    """Decisions for every site of a policy, by primary host or alias."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._sites: dict[str, SiteResolver] = {}
        for site in policy.sites.values():
            resolver = SiteResolver(site)
            for host in site.hosts:
                self._sites[host] = resolver

    def for_host(self, host: str) -> SiteResolver | None:
        return self._sites.get(host_key(host))

    def decide(self, request: Request, at: datetime | None = None) -> Decision:
        resolver = self.for_host(request.site)
        if resolver is None:
            raise KeyError(request.site)
        return resolver.decide(request.path, request.content_type, at)


def resolve(policy: Policy | SitePolicy, request: Request, at: datetime | None = None) -> Decision:
    """One decision; build a :class:`Resolver` instead when deciding many times."""
    if isinstance(policy, SitePolicy):
        return SiteResolver(policy).decide(request.path, request.content_type, at)
    return Resolver(policy).decide(request, at)


# -- reference ------------------------------------------------------------------------

def rule_matches(rule: Rule, path: str, media: str | None) -> bool:
    """SPEC §2 matching of one rule, straight from the definitions."""
    if rule.path_rank is PathRank.PAGE and rule.path != path:
        return False
    if rule.path_rank is PathRank.DIRECTORY and not path.startswith(rule.path or ""):
        return False
    if rule.type_rank is TypeRank.ANY:
        return True
    return media is not None and any(pattern_matches(p, media) for p in rule.patterns)


def candidates(site: SitePolicy, path: str, content_type: str | None,
               at: datetime | None = None) -> tuple[Override | None, list[Rule]]:
    """Every rule that matches, best first (active window's rules before regular ones)."""
    at = at or datetime.now(UTC)
    path = normalize_path(path)
    media = normalize_content_type(content_type)
    window = site.active_override(at)
    pools = ([window.rules] if window else []) + [site.rules]
    ranked: list[Rule] = []
    for pool in pools:
        ranked.extend(sorted((r for r in pool if rule_matches(r, path, media)),
                             key=lambda r: r.key, reverse=True))
    return window, ranked


def linear_decide(site: SitePolicy, path: str, content_type: str | None,
                  at: datetime | None = None) -> Decision:
    """The naive scan of every rule: the executable definition the index is tested against."""
    at = at or datetime.now(UTC)
    window, ranked = candidates(site, path, content_type, at)
    enabled = site.enabled_at(at)
    norm, media = normalize_path(path), normalize_content_type(content_type)
    if not enabled:
        return Decision(site.site, norm, media, False, None, None)
    best = ranked[0] if ranked else None
    from_window = best is not None and best.window is not None
    return Decision(site.site, norm, media, True, best, window if from_window else None)
