"""Property tests: the indexed resolver against a brute-force reference of SPEC §2.

Random valid policies are drawn from a small alphabet of path segments and media types
so that directories, pages and group patterns collide. Each policy is built twice, as
YAML text loaded by ``load_policy_dir`` (loader and validator included) and as model
objects; random requests (percent-escapes, query strings, fragments, Content-Type case
and parameters) at random instants around the override windows are then decided by:

* ``spec_decide`` below, written from the SPEC text alone (largest key over the rules
  that match, window rules first) on *canonical* paths and media types known by
  construction, so it shares no code with ``cache_rules``;
* ``SiteResolver.decide`` (the index) and ``linear_decide``, on both policies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_rules.diagnostics import Location
from cache_rules.loader import load_policy_dir
from cache_rules.model import Override, PathRank, Rule, SitePolicy, TypeRank
from cache_rules.resolve import SiteResolver, linear_decide
from cache_rules.values import normalize_content_type, normalize_path

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Canonical path segment -> ways a request or a policy file may spell it (SPEC §1:
# unreserved escapes decode, other escapes compare with either hex case, non-ASCII
# and spaces are UTF-8 escapes).
SEGMENTS: dict[str, list[str]] = {
    "a": ["a", "%61"],
    "b": ["b", "%62"],
    "A": ["A", "%41"],  # paths are case-sensitive: never the same as "a"
    "~x": ["~x", "%7Ex", "%7ex", "%7E%78"],
    "a%2Fb": ["a%2Fb", "a%2fb", "%61%2Fb"],  # an encoded slash is not a separator
    "%C3%A9": ["é", "%C3%A9", "%c3%a9"],
    "x%20y": ["x y", "x%20y", "%78%20y"],
}
SEGMENT_NAMES = sorted(SEGMENTS)
POLICY_SEGMENTS = ["a", "a", "a", "b", "b", *SEGMENT_NAMES]  # weighted: nested directories collide
EXACT_TYPES = ["text/html", "text/css", "image/png", "image/gif", "application/json"]
GROUP_PATTERNS = ["text/html", "text/css", "text/*", "image/png", "image/*", "application/json",
                  "application/*", "video/*"]
REQUEST_TYPES = [*EXACT_TYPES, "video/mp4", "application/pdf", "font/woff2"]
GARBAGE_TYPES = ["", "html", "text/", "image", "not a type", "text/html, text/css", ";charset=utf-8"]
TTLS = [0, 1, 30, 60, 90, 3600, 86400]
BASE = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
OFFSETS = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)),
           timezone(timedelta(hours=5, minutes=30))]
GROUP_NAMES = ["g0", "g1", "g2"]


# -- the reference, from the SPEC text ----------------------------------------------------

@dataclass(frozen=True)
class SpecRule:
    id: str
    path_kind: int  # site-wide 0 < directory 1 < page 2
    path: str | None  # canonical (normalised) path
    type_kind: int  # any 0 < group 1 < exact 2
    type_value: str | None  # group name or media type
    patterns: tuple[str, ...]  # media types, possibly type/*
    ttl: int

    @property
    def selector(self) -> tuple[object, ...]:
        return (self.path_kind, self.path, self.type_kind, self.type_value)


@dataclass(frozen=True)
class SpecWindow:
    start: datetime
    end: datetime
    reason: str
    enabled: bool | None
    rules: tuple[SpecRule, ...]


@dataclass(frozen=True)
class SpecSite:
    enabled: bool
    groups: dict[str, tuple[str, ...]]
    rules: tuple[SpecRule, ...]
    windows: tuple[SpecWindow, ...]


def spec_type_matches(pattern: str, media: str) -> bool:
    kind, _, sub = pattern.partition("/")
    mkind, _, msub = media.partition("/")
    return kind == mkind and (sub == "*" or sub == msub)


def spec_matches(rule: SpecRule, path: str, media: str | None) -> bool:
    if rule.path_kind == 1 and not path.startswith(rule.path or ""):
        return False
    if rule.path_kind == 2 and path != rule.path:
        return False
    if rule.type_kind == 0:
        return True
    return media is not None and any(spec_type_matches(p, media) for p in rule.patterns)


def spec_key(rule: SpecRule) -> tuple[int, int, int]:
    """(path rank, directory prefix length, type rank): the largest wins."""
    return (rule.path_kind, len(rule.path or "") if rule.path_kind == 1 else 0, rule.type_kind)


def spec_decide(site: SpecSite, path: str, media: str | None,
                at: datetime) -> tuple[bool, str | None, str | None, int]:
    """(enabled, winning rule id, override reason, ttl) by brute force."""
    active = [w for w in site.windows if w.start <= at < w.end]
    assert len(active) <= 1
    window = active[0] if active else None
    enabled = window.enabled if window is not None and window.enabled is not None else site.enabled
    if not enabled:
        return False, None, None, 0
    pools = ([(window.rules, window.reason)] if window else []) + [(site.rules, None)]
    for pool, reason in pools:
        matching = [r for r in pool if spec_matches(r, path, media)]
        if matching:
            best = max(spec_key(r) for r in matching)
            winners = [r for r in matching if spec_key(r) == best]
            assert len(winners) == 1, f"tie in a valid policy: {winners}"
            return True, winners[0].id, reason, winners[0].ttl
    raise AssertionError("no rule matched: the default rule is missing")


def spec_patterns_overlap(a: str, b: str) -> bool:
    ka, _, sa = a.partition("/")
    kb, _, sb = b.partition("/")
    return ka == kb and (sa == "*" or sb == "*" or sa == sb)


def spec_errors(site: SpecSite) -> set[str]:
    """Which SPEC §2 invalidities the policy has, as the validator's error codes."""
    codes: set[str] = set()
    if not any(r.path_kind == 0 and r.type_kind == 0 for r in site.rules):
        codes.add("missing-default")
    for pool in [site.rules, *(w.rules for w in site.windows)]:
        selectors = [r.selector for r in pool]
        if len(set(selectors)) < len(selectors):
            codes.add("duplicate-selector")
        unique = list({r.selector: r for r in reversed(pool)}.values())
        groups = [r for r in unique if r.type_kind == 1]
        for i, r in enumerate(groups):
            for s in groups[i + 1:]:
                if (r.path_kind, r.path) == (s.path_kind, s.path) and any(
                        spec_patterns_overlap(p, q) for p in r.patterns for q in s.patterns):
                    codes.add("tie")
    for i, w in enumerate(site.windows):
        for v in site.windows[i + 1:]:
            if w.start < v.end and v.start < w.end:
                codes.add("overlapping-windows")
    return codes


# -- strategies ---------------------------------------------------------------------------

@st.composite
def scopes(draw: st.DrawFn) -> tuple[int, str | None]:
    """A path selector: (0, None) site-wide, (1, "/a/") directory, (2, "/a/b") page."""
    kind = draw(st.sampled_from([0, 1, 1, 1, 2, 2]))
    if kind == 0:
        return 0, None
    root = kind == 1 and draw(st.integers(0, 9)) == 9  # directory / (rarely: it hides site-wide rules)
    segs = [] if root else draw(st.lists(st.sampled_from(POLICY_SEGMENTS), min_size=1, max_size=3))
    path = "/" + "/".join(segs)
    if kind == 1:
        return 1, path.rstrip("/") + "/"
    if draw(st.integers(0, 3)) == 3:
        path += "/"  # a page may end with a slash
    return 2, path


@st.composite
def rule_lists(draw: st.DrawFn, groups: dict[str, tuple[str, ...]], min_scopes: int,
               max_scopes: int) -> list[SpecRule]:
    """Rules sharing a few path selectors, so that type selectors compete in a scope."""
    type_choices = [(0, None, ())] + [(2, t, (t,)) for t in EXACT_TYPES] + [
        (1, name, patterns) for name, patterns in groups.items()]
    rules: list[SpecRule] = []
    for kind, path in draw(st.lists(scopes(), min_size=min_scopes, max_size=max_scopes)):
        for type_kind, type_value, patterns in draw(st.lists(st.sampled_from(type_choices),
                                                             min_size=1, max_size=3)):
            rules.append(SpecRule("", kind, path, type_kind, type_value, patterns,
                                  draw(st.sampled_from(TTLS))))
    return list(draw(st.permutations(rules)))


def _valid_rules(rules: list[SpecRule]) -> list[SpecRule]:
    """Drop rules that would make the set invalid (duplicate selector, possible tie)."""
    kept: list[SpecRule] = []
    for rule in rules:
        if any(k.selector == rule.selector for k in kept):
            continue
        if rule.type_kind == 1 and any(
                k.type_kind == 1 and (k.path_kind, k.path) == (rule.path_kind, rule.path)
                and any(spec_patterns_overlap(p, q) for p in k.patterns for q in rule.patterns)
                for k in kept):
            continue
        kept.append(rule)
    return kept


@st.composite
def sites(draw: st.DrawFn, valid: bool = True) -> SpecSite:
    ngroups = draw(st.integers(0, 3))
    groups = {GROUP_NAMES[i]: tuple(draw(st.lists(st.sampled_from(GROUP_PATTERNS), min_size=1,
                                                  max_size=3, unique=True)))
              for i in range(ngroups)}
    rules = draw(rule_lists(groups, 1, 8))
    if valid or draw(st.booleans()):
        rules.insert(0, SpecRule("", 0, None, 0, None, (), draw(st.sampled_from(TTLS))))
    if valid:
        rules = _valid_rules(rules)
    rules = [_with_id(r, f"rule-{i + 1}" if draw(st.booleans()) else f"r{i + 1}")
             for i, r in enumerate(rules)]
    windows: list[SpecWindow] = []
    t = BASE
    for w in range(draw(st.integers(0, 3))):
        if valid or draw(st.booleans()):
            start = t + timedelta(minutes=draw(st.sampled_from([0, 0, 1, 30])))
        else:
            start = t - timedelta(minutes=draw(st.integers(1, 60)))  # may overlap the previous one
        end = start + timedelta(minutes=draw(st.integers(1, 90)),
                                microseconds=draw(st.sampled_from([0, 0, 1, 999999])))
        t = end
        wrules = draw(rule_lists(groups, 0 if w else 1, 3))
        if valid:
            wrules = _valid_rules(wrules)
        wrules = [_with_id(r, f"win{w + 1}-{i + 1}" if draw(st.booleans()) else f"o{w + 1}.r{i + 1}")
                  for i, r in enumerate(wrules)]
        enabled = draw(st.sampled_from([None, None, True, False]))
        windows.append(SpecWindow(start, end, f"window {w + 1}", enabled, tuple(wrules)))
    return SpecSite(draw(st.sampled_from([True, True, True, False])), groups, tuple(rules), tuple(windows))


def _with_id(rule: SpecRule, rid: str) -> SpecRule:
    return SpecRule(rid, rule.path_kind, rule.path, rule.type_kind, rule.type_value, rule.patterns, rule.ttl)


@st.composite
def requests(draw: st.DrawFn, site: SpecSite) -> tuple[str, str, str | None, str | None]:
    """(spelled path, canonical path, Content-Type header or None, canonical media).

    Biased towards the policy's own paths and types, where rules compete."""
    all_rules = [*site.rules, *(r for w in site.windows for r in w.rules)]
    policy_paths = sorted({r.path for r in all_rules if r.path})
    mode = draw(st.sampled_from(["same", "same", "deeper", "parent", "random"]) if policy_paths
                else st.just("random"))
    if mode == "random":
        segs = draw(st.lists(st.sampled_from(SEGMENT_NAMES), max_size=4))
        trailing = bool(segs) and draw(st.booleans())
    else:
        base = draw(st.sampled_from(policy_paths))
        segs = [s for s in base.split("/") if s]
        trailing = base.endswith("/") and base != "/"
        if mode == "deeper":
            segs = segs + draw(st.lists(st.sampled_from(POLICY_SEGMENTS), min_size=1, max_size=2))
            trailing = draw(st.booleans())
        elif mode == "parent" and segs:
            segs, trailing = segs[:-1], bool(segs[:-1]) and draw(st.booleans())
    canonical = "/" + "/".join(segs) + ("/" if trailing else "")
    spelled = "/" + "/".join(draw(st.sampled_from(SEGMENTS[s])) for s in segs) + ("/" if trailing else "")
    spelled += draw(st.sampled_from(["", "", "", "?", "?q=/a/&b=%7E", "?x#f", "#/a/"]))

    kind = draw(st.sampled_from(["type"] * 6 + ["none", "garbage"]))
    if kind == "none":
        return spelled, canonical, None, None
    if kind == "garbage":
        return spelled, canonical, draw(st.sampled_from(GARBAGE_TYPES)), None
    in_policy = sorted({r.type_value for r in all_rules if r.type_kind == 2 and r.type_value} |
                       {p for ps in site.groups.values() for p in ps if not p.endswith("/*")})
    pool = in_policy if in_policy and draw(st.booleans()) else REQUEST_TYPES
    media = draw(st.sampled_from(pool))
    header = draw(st.sampled_from([media, media.upper(), media.title()]))
    header += draw(st.sampled_from(["", "; charset=UTF-8", ";Charset=utf-8", " ; q=1"]))
    return spelled, canonical, header, media


@st.composite
def instants(draw: st.DrawFn, site: SpecSite) -> datetime:
    edges = [e for w in site.windows for e in (w.start, w.end)]
    if edges and draw(st.integers(0, 3)):
        at = draw(st.sampled_from(edges)) + timedelta(microseconds=draw(st.sampled_from([-1, 0, 0, 1])))
    else:
        at = BASE + timedelta(minutes=draw(st.integers(-30, 400)))
    return at.astimezone(draw(st.sampled_from(OFFSETS)))


# -- building the policy: YAML text and model objects -------------------------------------

def _spell_path(path: str, draw: st.DrawFn) -> str:
    parts = path.split("/")
    return "/".join(draw(st.sampled_from(SEGMENTS[p])) if p else "" for p in parts)


def _spell_ttl(ttl: int, draw: st.DrawFn) -> str:
    if ttl == 0:
        return draw(st.sampled_from(["cache: false", "ttl: 0", "ttl: 0s", "cache: false, ttl: 0"]))
    forms = [f"ttl: {ttl}", f'ttl: "{ttl}s"', f"cache: true, ttl: {ttl}"]
    for unit, size in (("m", 60), ("h", 3600), ("d", 86400)):
        if ttl % size == 0:
            forms.append(f"ttl: {ttl // size}{unit}")
    return draw(st.sampled_from(forms))


def _spell_rule(rule: SpecRule, draw: st.DrawFn, window: int | None) -> str:
    default_id = f"r{_position(rule.id)}" if window is None else f"o{window + 1}.r{_position(rule.id)}"
    fields = [] if rule.id == default_id else [f"id: {json.dumps(rule.id)}"]
    if rule.path_kind == 0 and rule.type_kind == 0:
        fields.append("default: true")
    elif rule.path_kind:
        key = "directory" if rule.path_kind == 1 else "page"
        fields.append(f"{key}: {json.dumps(_spell_path(rule.path or '', draw), ensure_ascii=False)}")
    if rule.type_kind == 1:
        fields.append(f"content_type_group: {rule.type_value}")
    elif rule.type_kind == 2:
        spelled = draw(st.sampled_from([str(rule.type_value), str(rule.type_value).upper()]))
        fields.append(f"content_type: {spelled}")
    fields.append(_spell_ttl(rule.ttl, draw))
    return "{" + ", ".join(fields) + "}"


def _position(rid: str) -> int:
    return int(re.findall(r"\d+", rid)[-1])


def _spell_site(site: SpecSite, draw: st.DrawFn) -> str:
    lines = ["site: prop.example.fr", "origin: https://origin.example.fr",
             f"enabled: {str(site.enabled).lower()}"]
    if site.groups:
        lines.append("content_type_groups:")
        for name, patterns in site.groups.items():
            spelled = [draw(st.sampled_from([p, p.upper()])) for p in patterns]
            lines.append(f"  {name}: [{', '.join(spelled)}]")
    lines.append("rules:" + ("" if site.rules else " []"))
    lines += [f"  - {_spell_rule(r, draw, None)}" for r in site.rules]
    if site.windows:
        lines.append("overrides:")
    for i, w in enumerate(site.windows):
        lines += [f"  - from: {w.start.astimezone(draw(st.sampled_from(OFFSETS))).isoformat()}",
                  f"    until: {w.end.astimezone(draw(st.sampled_from(OFFSETS))).isoformat()}",
                  f"    reason: {w.reason}"]
        if w.enabled is not None:
            lines.append(f"    enabled: {str(w.enabled).lower()}")
        lines.append("    rules:" + ("" if w.rules else " []"))
        lines += [f"      - {_spell_rule(r, draw, i)}" for r in w.rules]
    return "\n".join(lines) + "\n"


def _load(text: str, tmp_path: Path) -> tuple[SitePolicy | None, set[str]]:
    policy_dir = tmp_path / "sites"
    policy_dir.mkdir(exist_ok=True)
    (policy_dir / "prop.example.fr.yaml").write_text(text, encoding="utf-8")
    result = load_policy_dir(policy_dir)
    return result.policy.sites.get("prop.example.fr"), {d.code for d in result.errors}


_LOC = Location("<memory>", 1, 1)


def _model_rule(rule: SpecRule, window: int | None) -> Rule:
    return Rule(id=rule.id, path_rank=PathRank(rule.path_kind), path=rule.path,
                type_rank=TypeRank(rule.type_kind), type_value=rule.type_value,
                patterns=rule.patterns, ttl=rule.ttl, location=_LOC, window=window)


def _model_site(site: SpecSite) -> SitePolicy:
    overrides = tuple(Override(index=i, start=w.start, end=w.end, reason=w.reason,
                               rules=tuple(_model_rule(r, i) for r in w.rules), location=_LOC,
                               enabled=w.enabled)
                      for i, w in enumerate(site.windows))
    return SitePolicy(site="prop.example.fr", aliases=(), origin="https://origin.example.fr",
                      enabled=site.enabled, groups=dict(site.groups),
                      rules=tuple(_model_rule(r, None) for r in site.rules), overrides=overrides,
                      file="<memory>", location=_LOC)


def _reduced(patterns: tuple[str, ...]) -> set[str]:
    stars = {p for p in patterns if p.endswith("/*")}
    return {p for p in patterns if p in stars or p.split("/")[0] + "/*" not in stars}


def _loaded_shape(site: SitePolicy) -> list[tuple[object, ...]]:
    rules = [*site.rules, *(r for w in site.overrides for r in w.rules)]
    return [(r.id, int(r.path_rank), r.path, int(r.type_rank), r.type_value, _reduced(r.patterns), r.ttl,
             r.window) for r in rules]


def _spec_shape(site: SpecSite) -> list[tuple[object, ...]]:
    pools = [(site.rules, None), *((w.rules, i) for i, w in enumerate(site.windows))]
    return [(r.id, r.path_kind, r.path, r.type_kind, r.type_value, _reduced(r.patterns), r.ttl, i)
            for rules, i in pools for r in rules]


# -- properties ---------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_resolver_matches_brute_force_reference(data: st.DataObject, tmp_path: Path) -> None:
    spec = data.draw(sites(valid=True), label="policy")
    text = _spell_site(spec, data.draw)
    loaded, errors = _load(text, tmp_path)
    assert errors == set(), text
    assert loaded is not None
    assert _loaded_shape(loaded) == _spec_shape(spec), text
    built = _model_site(spec)
    deciders = [SiteResolver(loaded), SiteResolver(built)]
    for _ in range(data.draw(st.integers(10, 30), label="requests")):
        spelled, canonical, header, media = data.draw(requests(spec), label="request")
        at = data.draw(instants(spec), label="at")
        want = spec_decide(spec, canonical, media, at)
        for resolver in deciders:
            decisions = [resolver.decide(spelled, header, at),
                         linear_decide(resolver.site, spelled, header, at)]
            for d in decisions:
                got = (d.enabled, d.rule.id if d.rule else None, d.override.reason if d.override else None,
                       d.ttl)
                assert got == want, (text, spelled, header, at)
                assert d.cache == (d.ttl > 0)
                assert (d.path, d.content_type) == (canonical, media)


@SETTINGS
@given(data=st.data())
def test_validator_rejects_exactly_the_invalid_policies(data: st.DataObject, tmp_path: Path) -> None:
    """SPEC §2 invalidities (missing default, identical selectors, possible ties,
    overlapping windows) are errors, and nothing else in these policies is."""
    spec = data.draw(sites(valid=False), label="policy")
    text = _spell_site(spec, data.draw)
    _loaded, errors = _load(text, tmp_path)
    assert errors == spec_errors(spec), text


# Characters that make escapes, separators and multi-byte text collide.
PATH_TEXT = st.text(alphabet=st.sampled_from([*"%2fF7eE4a1Z/?#é ~:.-", "日", "\u0301"]), max_size=24)
UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=30), PATH_TEXT))
def test_normalize_path_is_idempotent_and_canonical(path: str) -> None:
    once = normalize_path(path)
    assert normalize_path(once) == once
    assert "?" not in once and "#" not in once
    for m in re.finditer(r"%(..)", once):
        assert re.fullmatch("[0-9A-F]{2}", m.group(1)), once  # every % starts an upper-case escape
        assert chr(int(m.group(1), 16)) not in UNRESERVED, once
    assert re.fullmatch(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-F]{2})*", once), once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SEGMENT_NAMES), max_size=4).flatmap(
    lambda segs: st.tuples(st.just(segs), st.tuples(*(st.sampled_from(SEGMENTS[s]) for s in segs)))))
def test_equivalent_spellings_normalise_alike(segs_spelled: tuple[list[str], tuple[str, ...]]) -> None:
    segs, spelled = segs_spelled
    assert normalize_path("/" + "/".join(spelled)) == "/" + "/".join(segs)


@pytest.mark.parametrize("header,media", [
    ("TEXT/HTML; Charset=UTF-8", "text/html"), ("image/PNG", "image/png"), (" text/css ", "text/css"),
    ("", None), ("html", None), ("text/", None), (None, None), ("text/html, text/css", None),
])
def test_normalize_content_type(header: str | None, media: str | None) -> None:
    assert normalize_content_type(header) == media


# -- regression: names with a newline --------------------------------------------------
# `$` in a validator's regex matches before a final newline; the validators now use
# fullmatch, so a newline inside a host label, a rule id or a group name is an error.

NEWLINE_VALUES = {
    "alias": 'aliases: ["evil\\n.example.fr"]\nrules:\n  - {default: true, ttl: 1h}\n',
    "rule-id": 'rules:\n  - {id: "r-one\\n", default: true, ttl: 1h}\n',
    "group-name": 'content_type_groups:\n  "g\\n": [image/*]\nrules:\n  - {default: true, ttl: 1h}\n'
                  '  - {content_type_group: "g\\n", ttl: 1d}\n',
}


@pytest.mark.parametrize("what", sorted(NEWLINE_VALUES))
def test_newline_in_a_name_is_a_validation_error(what: str, tmp_path: Path) -> None:
    text = "site: prop.example.fr\norigin: https://origin.example.fr\n" + NEWLINE_VALUES[what]
    _site, errors = _load(text, tmp_path)
    assert errors, f"{what} with a newline was accepted"


def test_parse_host_refuses_a_newline_inside() -> None:
    from cache_rules.values import parse_host

    with pytest.raises(ValueError):
        parse_host("www\n.example.fr")
