"""Akamai target: a Property Manager (PAPI) rule tree, one child rule per site.

Reference:
- Rule trees and rule order: https://techdocs.akamai.com/property-mgr/reference/rule-trees
  (rules are applied top to bottom; for the same behavior, the last matching rule wins)
- ``path`` criterion: https://techdocs.akamai.com/property-mgr/reference/ga-path
  (``?`` one character, ``*`` zero or more; ``normalize`` decodes the URL first)
- ``contentType`` criterion: https://techdocs.akamai.com/property-mgr/reference/ga-content-type
  (matches the response's Content-Type header value; wildcards; case-insensitive option)
- ``time`` criterion: https://techdocs.akamai.com/property-mgr/reference/ga-time
- ``caching`` behavior: https://techdocs.akamai.com/property-mgr/reference/latest-caching
- PAPI: https://techdocs.akamai.com/property-mgr/reference/api

How SPEC §2 is expressed. The site's rules are emitted in ascending SPEC key order
(site → directories, shorter first → pages; any → group → exact type inside a scope),
so that the last matching rule — the one whose ``caching`` behavior Akamai keeps — is
the SPEC winner. Each override window is a parent rule with a ``time`` criterion
(``BETWEEN`` its bounds) holding the window's rules, after the regular rules; a site
off the CDN, or a window that switches it off, ends with a ``NO_STORE`` rule.

- Paths: ``path`` with ``normalize: true`` and ``matchCaseSensitive: true``; values
  are the *decoded* policy paths (``/actualités/*``), since Akamai decodes the request
  URL before matching. Consequence: ``%2F`` ``%3F`` ``%23`` ``%25`` in a request path
  are seen as ``/ ? # %``; a policy path holding such an escape cannot be told apart
  from its decoded form: that rule is left out (unsupported). A policy path holding
  a literal ``*`` or ``?`` would be read as a wildcard: left out too.
- Types: ``contentType`` ``IS_ONE_OF`` with wildcards, case-insensitive: an exact type
  ``text/html`` becomes ``text/html``, ``text/html;*``, ``text/html *`` (parameters
  ignored); ``image/*`` becomes ``image/?*``. A malformed header that starts like a
  media type (``image/png, x``) still matches (SPEC: no type) — approximated.
- ``contentType`` is a response-stage match: it cannot turn caching back on after a
  request-stage ``NO_STORE``. A ``cache: false`` rule (or the site-off rule) that a
  later type rule must be able to override is therefore emitted as ``MAX_AGE 0s``
  (stored, revalidated on every request) and reported as approximated.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from cache_rules.model import PathRank, Rule, TypeRank
from cache_rules.targets.base import CompileOptions, Target, environment
from cache_rules.targets.capabilities import (
    Fidelity,
    Layer,
    layers,
    rule_kind,
    scopes_overlap,
    structural_check,
    with_fidelity,
)
from cache_rules.targets.plan import SitePlan, checked

RULE_FORMAT = "v2024-10-21"
MANAGED = "cdnctl cache policy"  # name of the child rule apply replaces in the property
_ENCODED_RESERVED = ("%2F", "%3F", "%23", "%25")


def ttl_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def akamai_path(path: str) -> str | None:
    """The decoded form Akamai compares (None when it cannot be expressed)."""
    if any(e in path.upper() for e in _ENCODED_RESERVED) or "*" in path or "?" in unquote(path):
        return None
    return unquote(path)


def content_values(rule: Rule) -> list[str]:
    out: list[str] = []
    for pattern in rule.patterns:
        if pattern.endswith("/*"):
            out.append(pattern[:-1] + "?*")
        else:
            out += [pattern, pattern + ";*", pattern + " *"]
    return out


def _caching(ttl: int, soft_off: bool = False) -> dict[str, object]:
    if ttl > 0:
        return {"name": "caching", "options": {"behavior": "MAX_AGE", "mustRevalidate": False,
                                               "ttl": ttl_text(ttl)}}
    if soft_off:
        return {"name": "caching", "options": {"behavior": "MAX_AGE", "mustRevalidate": True, "ttl": "0s"}}
    return {"name": "caching", "options": {"behavior": "NO_STORE"}}


def _needs_soft_off(rule: Rule | None, later: list[Rule]) -> bool:
    """Whether a later type rule that caches could match requests of this not-cached rule."""
    return any(r.type_rank is not TypeRank.ANY and r.ttl > 0 and (rule is None or scopes_overlap(rule, r))
               for r in later)


class AkamaiTarget(Target):
    name = "akamai"
    main = "akamai-rules.json"
    template = "akamai.json.j2"

    def tree(self, plan: SitePlan) -> tuple[dict[str, object], list[Fidelity]]:
        site = plan.site
        notes: list[Fidelity] = []
        site_layers = layers(site)
        children: list[dict[str, object]] = []
        for n, layer in enumerate(site_layers):
            later = [r for other in site_layers[n + 1:] for r in other.rules]
            rules = self._layer_rules(site.site, layer, later, notes)
            if layer.window is None:
                children += rules
            else:
                w = layer.window
                children.append({
                    "name": f"window {w.index}: {w.reason}"[:200],
                    "criteria": [{"name": "time", "options": {
                        "matchOperator": "BETWEEN",
                        "beginDate": _utc(w.start), "endDate": _utc(w.end)}}],
                    "criteriaMustSatisfy": "all", "behaviors": [], "children": rules})
        tree = {"name": MANAGED, "comments": f"Generated by cdnctl for {site.site}; do not edit.",
                "criteria": [], "criteriaMustSatisfy": "all", "behaviors": [], "children": children}
        return tree, notes

    def _layer_rules(self, site: str, layer: Layer, later: list[Rule],
                     notes: list[Fidelity]) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for i, rule in enumerate(layer.rules):
            criteria: list[dict[str, object]] = []
            if rule.path_rank is not PathRank.SITE:
                value = akamai_path(rule.path or "")
                if value is None:
                    if not any(f.rule == rule.id for f in notes):
                        notes.append(Fidelity(site, rule.id, rule_kind(rule), "unsupported",
                                              f"path {rule.path} holds an encoded / ? # % or a wildcard "
                                              "character; Akamai decodes the request path before matching "
                                              "and cannot tell it apart: rule left out", "rule"))
                    continue
                values = [value + "*"] if rule.path_rank is PathRank.DIRECTORY else [value]
                criteria.append({"name": "path", "options": {
                    "matchOperator": "MATCHES_ONE_OF", "values": values, "matchCaseSensitive": True,
                    "normalize": True}})
            if rule.type_rank is not TypeRank.ANY:
                criteria.append({"name": "contentType", "options": {
                    "matchOperator": "IS_ONE_OF", "values": content_values(rule), "matchWildcard": True,
                    "matchCaseSensitive": False}})
            soft = rule.ttl == 0 and rule.type_rank is TypeRank.ANY and _needs_soft_off(
                rule, layer.rules[i + 1:] + later)
            if soft and not any(f.rule == rule.id for f in notes):
                notes.append(Fidelity(site, rule.id, rule_kind(rule), "approximated",
                                      "not cached, but as MAX_AGE 0s (stored, revalidated with the origin on "
                                      "every request) instead of NO_STORE: a Content-Type rule after it must "
                                      "be able to re-enable caching", "rule"))
            out.append({"name": f"{checked('rule_id', rule.id)}: {rule.describe()} → {rule.action()}",
                        "criteria": criteria, "criteriaMustSatisfy": "all",
                        "behaviors": [_caching(rule.ttl, soft)], "children": []})
        if layer.off:
            soft = _needs_soft_off(None, later)
            if soft:
                notes.append(Fidelity(site, None, "disabled site", "approximated",
                                      "site off the CDN as MAX_AGE 0s (stored, revalidated on every request) "
                                      "so that a window switching it on can re-enable caching by "
                                      "Content-Type",
                                      "site-off"))
            why = "site off during this window" if layer.window else "site off the CDN (pass-through)"
            out.append({"name": f"off: {why}", "criteria": [], "criteriaMustSatisfy": "all",
                        "behaviors": [_caching(0, soft)], "children": []})
        return out

    def trees(self, plans: list[SitePlan]) -> tuple[dict[str, object], list[Fidelity]]:
        out: dict[str, object] = {}
        notes: list[Fidelity] = []
        for plan in plans:
            tree, more = self.tree(plan)
            out[plan.site.site] = {"ruleFormat": RULE_FORMAT, "rule": tree}
            notes += more
        return out, notes

    def files(self, plans: list[SitePlan], options: CompileOptions) -> dict[str, str]:
        trees, _ = self.trees(plans)
        text = environment().get_template(self.template).render(
            document=json.dumps(trees, indent=2, ensure_ascii=False))
        return {self.main: text}

    def fidelity(self, plans: list[SitePlan], options: CompileOptions) -> list[Fidelity]:
        _, notes = self.trees(plans)
        for plan in plans:
            site = plan.site.site
            if any(r.path_rank is not PathRank.SITE for r in plan.site.rules):
                notes.append(Fidelity(site, None, "directory", "approximated",
                                      "Akamai decodes every escape before matching paths: a request path "
                                      "with %2F %3F %23 or %25 is matched as if it held / ? # %",
                                      "encoded-reserved"))
            if any(r.type_rank is not TypeRank.ANY for r in plan.site.rules):
                notes.append(Fidelity(site, None, "type", "approximated",
                                      "contentType wildcards: a malformed Content-Type header that starts "
                                      "like a listed type (e.g. 'image/png, x') matches it (SPEC: no type)",
                                      "malformed-content-type"))
            for w in plan.site.overrides:
                if w.start.microsecond or w.end.microsecond:
                    notes.append(Fidelity(site, None, "override window", "approximated",
                                          f"window {w.reason!r}: time criterion in whole seconds", "window"))
        return notes

    def notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        return with_fidelity(self.fidelity(plans, options), self._notes(plans, options))

    def _notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        return [f"each site's tree is the child rule {MANAGED!r} of its property's default rule "
                "(apply replaces that child only; origin and CP code stay as they are)"]

    engine = "structure-check"

    def available(self) -> bool:
        return True  # no local engine: a structural check here, the vendor API validates on apply

    def check(self, plans: list[SitePlan], options: CompileOptions):  # type: ignore[no-untyped-def]
        return structural_check(self.name, self.files(plans, options))


def _utc(at: object) -> str:
    from datetime import UTC, datetime

    assert isinstance(at, datetime)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


TARGET = AkamaiTarget()
