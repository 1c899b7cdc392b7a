"""The vendor-neutral policy model every target compiles from (SPEC §1–2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from cache_rules.diagnostics import Location
from cache_rules.values import format_duration, host_key


class PathRank(IntEnum):
    SITE = 0
    DIRECTORY = 1
    PAGE = 2


class TypeRank(IntEnum):
    ANY = 0
    GROUP = 1
    EXACT = 2


@dataclass(frozen=True, slots=True)
class Rule:
    """One cache rule: a path selector, a type selector and what to do.

    ``path`` is None for site-wide rules, the directory (ending in ``/``) or the
    page path otherwise, normalised as in :func:`cache_rules.values.normalize_path`.
    ``type_value`` is None (any), the group name, or the exact media type;
    ``patterns`` holds the media-type patterns the type selector matches.
    """

    id: str
    path_rank: PathRank
    path: str | None
    type_rank: TypeRank
    type_value: str | None
    patterns: tuple[str, ...]
    ttl: int  # seconds; 0 means not cached
    location: Location
    window: int | None = None  # index of the override window holding the rule

    @property
    def cache(self) -> bool:
        return self.ttl > 0

    @property
    def key(self) -> tuple[int, int, int]:
        """The SPEC §2 ordering key: larger wins."""
        prefix = len(self.path) if self.path_rank is PathRank.DIRECTORY and self.path else 0
        return (int(self.path_rank), prefix, int(self.type_rank))

    @property
    def selector(self) -> tuple[PathRank, str | None, TypeRank, str | None]:
        return (self.path_rank, self.path, self.type_rank, self.type_value)

    def describe(self) -> str:
        """Human form of the selector, e.g. ``directory /a/ + type text/html``."""
        if self.path_rank is PathRank.SITE:
            scope = "site default" if self.type_rank is TypeRank.ANY else "site-wide"
        else:
            scope = f"{self.path_rank.name.lower()} {self.path}"
        if self.type_rank is TypeRank.ANY:
            return scope
        kind = "group" if self.type_rank is TypeRank.GROUP else "type"
        return f"{scope} + {kind} {self.type_value}"

    def action(self) -> str:
        return f"cache {format_duration(self.ttl)}" if self.cache else "no cache"


@dataclass(frozen=True, slots=True)
class Override:
    """A time-boxed rule set, active for ``start <= t < end``."""

    index: int
    start: datetime
    end: datetime
    reason: str
    rules: tuple[Rule, ...]
    location: Location
    enabled: bool | None = None  # switches the site on/off while active; None keeps it

    def active_at(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class SitePolicy:
    site: str
    aliases: tuple[str, ...]
    origin: str
    enabled: bool
    groups: dict[str, tuple[str, ...]]
    rules: tuple[Rule, ...]
    overrides: tuple[Override, ...]
    file: str
    location: Location

    @property
    def hosts(self) -> tuple[str, ...]:
        return (self.site, *self.aliases)

    def active_override(self, at: datetime) -> Override | None:
        # Windows of one site never overlap (validated), so the first hit is the only one.
        for window in self.overrides:
            if window.active_at(at):
                return window
        return None

    def enabled_at(self, at: datetime) -> bool:
        window = self.active_override(at)
        if window is not None and window.enabled is not None:
            return window.enabled
        return self.enabled


@dataclass(slots=True)
class Policy:
    """Every site of a policy directory, keyed by primary host."""

    sites: dict[str, SitePolicy] = field(default_factory=dict)

    def site_for_host(self, host: str) -> SitePolicy | None:
        host = host_key(host)
        found = self.sites.get(host)
        if found is not None:
            return found
        for site in self.sites.values():
            if host in site.aliases:
                return site
        return None
