"""What each target can express of SPEC §2: the capability matrix and fidelity reports.

The **capability matrix** says, per target and per selector kind, whether the target
honours SPEC §2 *exactly*, *approximates* it (it does something close, documented in
the note) or leaves it *unsupported* (the rule is dropped; the next matching rule
decides). ``cdnctl targets`` prints it.

A **fidelity report** is the same question asked of one compiled policy: every rule
(or class of requests) that the target does not honour exactly, and what happens
instead. ``cdnctl compile --target T`` prints it; ``--strict`` turns a non-empty
report into exit 1. Each :class:`Fidelity` item carries a ``condition`` that tests
use to check that every case of the shared table either gets the SPEC decision or
is covered by a reported item.

Targets that decide last-match-wins (Akamai rule trees, Cloudflare Cache Rules) share
:func:`layers`: the rules of a site in ascending SPEC key order, so that the last
matching rule is the SPEC winner, with override windows after the regular rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cache_rules.model import Override, PathRank, Rule, SitePolicy, TypeRank

KINDS = ("site default", "group", "type", "directory", "page", "override window", "disabled site")
LEVELS = ("exact", "approximated", "unsupported")


@dataclass(frozen=True)
class Capability:
    level: str
    note: str = ""


_EXACT = Capability("exact")

# target -> selector kind -> capability. Varnish and nginx are proven exact by the
# e2e replay of the case table on real servers (tests/e2e).
MATRIX: dict[str, dict[str, Capability]] = {
    "varnish": dict.fromkeys(KINDS, _EXACT),
    "nginx": dict.fromkeys(KINDS, _EXACT),
    "fastly": {
        **dict.fromkeys(KINDS, _EXACT),
        "page": Capability("exact", "pages and directories are edge-dictionary items, not code"),
        "override window": Capability("exact", "window bounds compared in whole seconds (now.sec)"),
    },
    "cloudfront": {
        **dict.fromkeys(KINDS, _EXACT),
        "group": Capability("exact", "Lambda@Edge origin-response code reads Content-Type"),
        "type": Capability("exact", "Lambda@Edge origin-response code reads Content-Type"),
        "directory": Capability("exact", "a cache behavior per scope; code where a scope needs it"),
        "override window": Capability("exact", "decided by the Lambda@Edge code's clock"),
    },
    "akamai": {
        "site default": _EXACT,
        "group": Capability("approximated", "contentType wildcards: a malformed Content-Type header "
                                            "may still match"),
        "type": Capability("approximated", "contentType wildcards: a malformed Content-Type header "
                                           "may still match"),
        "directory": Capability("approximated", "path matched after Akamai decodes every escape: "
                                                "%2F %3F %23 %25 in a path are not told apart"),
        "page": Capability("approximated", "same decoding as directories"),
        "override window": Capability("exact", "time criterion (whole seconds)"),
        "disabled site": _EXACT,
    },
    "cloudflare": {
        "site default": _EXACT,
        "group": Capability("approximated", "request fields only: decided by the file extension"),
        "type": Capability("approximated", "request fields only: decided by the file extension; "
                                           "a type with no known extension is unsupported"),
        "directory": Capability("exact", "needs URL normalization (RFC 3986) on incoming URLs"),
        "page": Capability("exact", "needs URL normalization (RFC 3986) on incoming URLs"),
        "override window": Capability("exact", "http.request.timestamp.sec (whole seconds)"),
        "disabled site": Capability("exact", "bypass cache"),
    },
}


@dataclass(frozen=True)
class Fidelity:
    """One thing a compiled config does not do exactly as SPEC §2 says."""

    site: str
    rule: str | None  # rule id; None when it is about a class of requests, not a rule
    kind: str  # one of KINDS
    level: str  # approximated | unsupported
    instead: str  # what the target does instead, for people
    condition: str = ""  # machine-checkable: "rule" (the rule's requests), "malformed-content-type",
    #                      "encoded-reserved", "extension" (type decided by the path's extension)
    rules: tuple[str, ...] = field(default_factory=tuple)  # other rule ids affected

    def line(self) -> str:
        who = f"rule {self.rule}" if self.rule else "requests"
        return f"{self.site}: {who} ({self.kind}) {self.level}: {self.instead}"

    def to_json(self) -> dict[str, object]:
        return {"site": self.site, "rule": self.rule, "kind": self.kind, "level": self.level,
                "instead": self.instead, "condition": self.condition, "rules": list(self.rules)}


def rule_kind(rule: Rule) -> str:
    """The selector kind a rule is reported under: its type selector wins over its path."""
    if rule.type_rank is TypeRank.EXACT:
        return "type"
    if rule.type_rank is TypeRank.GROUP:
        return "group"
    if rule.path_rank is PathRank.PAGE:
        return "page"
    if rule.path_rank is PathRank.DIRECTORY:
        return "directory"
    return "site default"


# -- last match wins ---------------------------------------------------------------------

@dataclass
class Layer:
    """Rules evaluated in order, last match wins; ``window`` gates the whole layer in time."""

    window: Override | None
    rules: list[Rule]
    off: bool = False  # the layer ends with "not cached, whatever matched" (site off)


def ascending(rules: tuple[Rule, ...] | list[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (r.key, r.path or "", r.type_value or ""))


def layers(site: SitePolicy) -> list[Layer]:
    """The site's rules as last-match-wins layers giving the SPEC §2 decision.

    In ascending key order the last matching rule has the largest key: the SPEC
    winner (validation rules out ties). A window's layer comes after the regular
    rules, so any of its rules that matches beats every regular rule.
    """
    out: list[Layer] = []
    if site.enabled:
        out.append(Layer(None, ascending(site.rules)))
        for w in site.overrides:
            if w.enabled is False:
                out.append(Layer(w, [], off=True))
            elif w.rules:
                out.append(Layer(w, ascending(w.rules)))
    else:
        out.append(Layer(None, [], off=True))
        for w in site.overrides:
            if w.enabled is True:
                out.append(Layer(w, ascending(site.rules) + ascending(w.rules)))
    return out


def scopes_overlap(a: Rule, b: Rule) -> bool:
    """Whether some path matches both rules' path selectors."""
    if a.path is None or b.path is None:
        return True
    if a.path_rank is PathRank.PAGE and b.path_rank is PathRank.PAGE:
        return a.path == b.path
    if a.path_rank is PathRank.PAGE:
        return a.path.startswith(b.path)
    if b.path_rank is PathRank.PAGE:
        return b.path.startswith(a.path)
    return a.path.startswith(b.path) or b.path.startswith(a.path)


def whole_seconds(at: datetime) -> bool:
    return at.microsecond == 0


def fidelity_report(target: object, plans: list, options: object) -> list[Fidelity]:
    """The target's fidelity items for these site plans ([] for targets that are exact)."""
    method = getattr(target, "fidelity", None)
    return list(method(plans, options)) if method else []


def with_fidelity(items: list[Fidelity], notes: list[str]) -> list[str]:
    """Compile notes: every item not honoured exactly first, then the target's other notes."""
    return [f"not exact: {item.line()}" for item in items] + notes


def structural_check(target: str, files: dict[str, str]) -> object:
    """The local check of targets without an engine here: JSON files parse, VCL braces
    balance. The vendor's API validates the real thing on apply."""
    import json
    import re
    import time

    from cache_rules.targets.base import CheckResult, ConfigCheckError

    started = time.perf_counter()
    for name, text in files.items():
        if name.endswith(".json"):
            try:
                json.loads(text)
            except ValueError as exc:
                raise ConfigCheckError(target, f"{name}: {exc}", name) from None
        elif name.endswith(".vcl"):
            depth = 0
            for number, line in enumerate(text.splitlines(), 1):
                code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line).split("#", 1)[0]
                depth += code.count("{") - code.count("}")
                if depth < 0:
                    raise ConfigCheckError(target, f"{name}:{number}: unbalanced }}", name)
            if depth:
                raise ConfigCheckError(target, f"{name}: {depth} unclosed {{", name)
    return CheckResult(["cdnctl", "structure-check"], time.perf_counter() - started,
                       "well-formed (the vendor API validates on apply)")
