"""Which hosts a report of a site counts: the site named, or an alias of it, with its aliases.

Log records keep the host they were served under (an alias stays an alias in ``records``),
so a site's figures are those of every host of the site. A name that is neither a site
nor an alias of the policy, nor a host seen in the store, is an error with the nearest
known names: a mistyped site must never give an all-zero report.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteScope:
    site: str                 # the primary host
    hosts: tuple[str, ...]    # the site and its aliases: what the queries count
    asked: str                # what the user typed (an alias, in another case…)


class UnknownSite(ValueError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        near = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        listed = ", ".join(known[:10]) + (f" … ({len(known)} in all)" if len(known) > 10 else "")
        super().__init__(f"unknown site {name!r}{hint} Known sites: {listed or 'none'}")
        self.name = name
        self.suggestions = near


def resolve(requested: Iterable[str], aliases: Mapping[str, Sequence[str]],
            seen: Collection[str] = ()) -> list[SiteScope]:
    """``aliases``: each policy site with its aliases; ``seen``: hosts that have data in the store."""
    by_host = {h.lower(): s for s, hs in aliases.items() for h in (s, *hs)}
    out: list[SiteScope] = []
    for name in requested:
        key = name.strip().lower().rstrip(".")
        site = by_host.get(key)
        if site is not None:
            scope = SiteScope(site, (site, *aliases[site]), name)
        elif key in {h.lower() for h in seen}:
            scope = SiteScope(key, (key,), name)   # a host with logs, not (or no longer) in the policy
        else:
            raise UnknownSite(name, sorted({*aliases, *(h for h in seen if h.lower() not in by_host)}))
        if scope.site not in {s.site for s in out}:
            out.append(scope)
    return out


def canonical(aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """host → its site, for folding per-host rows (QS-01 days, coverage) into sites."""
    return {h: s for s, hs in aliases.items() for h in (s, *hs)}
