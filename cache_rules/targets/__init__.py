"""Edge-config targets, one module per engine (like sqlglot's dialects).

``compile_policy(policy, "varnish")`` returns a :class:`Compiled` whose files a caller
writes where it wants; see :mod:`cache_rules.targets.plan` for the shared decision
tables and :mod:`cache_rules.targets.base` for options and the engine check.
"""

from __future__ import annotations

from cache_rules.model import Policy
from cache_rules.targets.akamai import TARGET as AKAMAI
from cache_rules.targets.base import (
    CLOCKS,
    TEST_CLOCK_HEADER,
    CheckResult,
    Compiled,
    CompileOptions,
    ConfigCheckError,
    Target,
    compile_plans,
    plan_sites,
)
from cache_rules.targets.cloudflare import TARGET as CLOUDFLARE
from cache_rules.targets.cloudfront import TARGET as CLOUDFRONT
from cache_rules.targets.fastly import TARGET as FASTLY
from cache_rules.targets.nginx import TARGET as NGINX
from cache_rules.targets.plan import UnsafeValue
from cache_rules.targets.varnish import TARGET as VARNISH

TARGETS: dict[str, Target] = {t.name: t for t in (VARNISH, NGINX, FASTLY, CLOUDFRONT, AKAMAI, CLOUDFLARE)}

__all__ = ["CLOCKS", "TARGETS", "TEST_CLOCK_HEADER", "CheckResult", "CompileOptions", "Compiled",
           "ConfigCheckError", "Target", "UnsafeValue", "compile_policy", "get_target"]


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r} (known: {', '.join(sorted(TARGETS))})") from None


def compile_policy(policy: Policy, target: str, sites: list[str] | None = None,
                   options: CompileOptions | None = None) -> Compiled:
    """Render ``target``'s config for ``sites`` (all when empty) and syntax-check it.

    Raises KeyError for an unknown site, UnsafeValue for a value that may not reach a
    config, ConfigCheckError when the engine refuses the result.
    """
    options = options or CompileOptions()
    engine = get_target(target)
    return compile_plans(engine, plan_sites(policy, sites, options), options)
