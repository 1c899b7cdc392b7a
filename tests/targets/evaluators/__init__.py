"""Small interpreters of generated vendor artifacts, written from the vendors' documented
semantics (not from our compilers), used to replay the shared case table offline."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cache_rules.model import Policy
from cache_rules.targets.capabilities import Fidelity
from tests.cases import Case


@dataclass(frozen=True)
class Got:
    cache: bool
    ttl: int
    rule: str | None


def expected(case: Case) -> Got:
    return Got(case.cache, case.ttl, case.rule)


def covered(case: Case, got: Got, items: Iterable[Fidelity], site: str,
            conditions: dict[str, Callable[[Case], bool]] | None = None) -> list[Fidelity]:
    """The fidelity items that account for a case decided differently from SPEC: an item
    naming the SPEC winner or the target's winner, or a request-level item whose
    condition holds for the case."""
    out = []
    for item in items:
        if item.site != site:
            continue
        if (item.rule is not None and (item.rule == case.rule or item.rule == got.rule or case.rule in item.rules)) or (item.rule is None and conditions and item.condition in conditions and conditions[item.condition](case)):
            out.append(item)
    return out


def site_of(policy: Policy, case: Case):
    site = policy.site_for_host(case.site)
    assert site is not None, case.site
    return site
