"""JSON forms of the model and of decisions, shared by the CLI and the API."""

from __future__ import annotations

from datetime import datetime

from cache_rules.model import Override, Rule, SitePolicy
from cache_rules.resolve import Decision


def rule_json(rule: Rule, site: SitePolicy) -> dict[str, object]:
    return {
        "id": rule.id,
        "file": site.file,
        "line": rule.location.line,
        "column": rule.location.column,
        "selector": rule.describe(),
        "path_scope": rule.path_rank.name.lower(),
        "path": rule.path,
        "type_scope": rule.type_rank.name.lower(),
        "type": rule.type_value,
        "cache": rule.cache,
        "ttl": rule.ttl,
        "key": list(rule.key),
        "override": rule.window is not None,
    }


def window_json(window: Override) -> dict[str, object]:
    return {
        "reason": window.reason,
        "from": window.start.isoformat(),
        "until": window.end.isoformat(),
        "line": window.location.line,
        "enabled": window.enabled,
        "rules": len(window.rules),
    }


def decision_json(decision: Decision, site: SitePolicy, at: datetime,
                  beaten: list[Rule] | None = None) -> dict[str, object]:
    out: dict[str, object] = {
        "site": decision.site,
        "path": decision.path,
        "content_type": decision.content_type,
        "at": at.isoformat(),
        "enabled": decision.enabled,
        "cache": decision.cache,
        "ttl": decision.ttl,
        "rule": rule_json(decision.rule, site) if decision.rule else None,
        "override": decision.override.reason if decision.override else None,
    }
    if beaten is not None:
        out["beaten"] = [rule_json(r, site) for r in beaten]
    return out


def site_json(site: SitePolicy, at: datetime) -> dict[str, object]:
    active = site.active_override(at)
    return {
        "site": site.site,
        "aliases": list(site.aliases),
        "origin": site.origin,
        "file": site.file,
        "enabled": site.enabled,
        "enabled_now": site.enabled_at(at),
        "rules": len(site.rules),
        "override_windows": [window_json(w) for w in site.overrides],
        "active_override": active.reason if active else None,
        "content_type_groups": {k: list(v) for k, v in site.groups.items()},
    }
