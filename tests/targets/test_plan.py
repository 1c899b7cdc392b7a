"""The decision tables targets render, checked against the resolver (SPEC §2)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cache_rules.loader import load_policy_dir
from cache_rules.model import SitePolicy
from cache_rules.resolve import SiteResolver
from cache_rules.targets.plan import (
    CANONICAL_PATH_REGEX,
    Outcome,
    RuleSetPlan,
    SitePlan,
    int_range_regex,
    plan_site,
    tolerant_path_regex,
)
from cache_rules.targets.varnish import normalisation
from cache_rules.values import normalize_content_type, normalize_path
from tests.cases import load_cases, load_cases_policy
from tests.targets.policygen import REQUEST_PATHS, REQUEST_TYPES, random_site


def emulate(plan: SitePlan, path: str, content_type: str | None, at: datetime) -> tuple[str | None, int]:
    """What a target does with the plan: head, media class, table; windows first."""
    norm = normalize_path(path)
    media = normalize_content_type(content_type)
    cls = "o"
    if media is not None:
        cls = plan.exact.get(media) or plan.majors.get(media.split("/")[0]) or "o"
    window = next((w for w in plan.windows if w.start <= at < w.end), None)
    enabled = plan.enabled if window is None or window.enabled is None else window.enabled
    if not enabled:
        return None, 0

    def lookup(rs: RuleSetPlan) -> Outcome | None:
        head = next((h for h in rs.pages if h.path == norm), None) \
            or next((h for h in rs.dirs if norm.startswith(h.path or "")), None) or rs.site
        return head.by_class.get(cls, head.other)

    won = lookup(window.rules) if window else None
    won = won or lookup(plan.regular)
    assert won is not None
    return won.rule_id, won.ttl


def test_plans_decide_every_case_like_the_resolver() -> None:
    policy = load_cases_policy()
    plans = {s.site: plan_site("s1", s) for s in policy.sites.values()}
    for case in load_cases():
        site = policy.site_for_host(case.site)
        assert site is not None
        assert emulate(plans[site.site], case.path, case.content_type, case.at) == (case.rule, case.ttl), case.id


def _load(tmp: Path, text: str, host: str) -> SitePolicy:
    (tmp / f"{host}.yaml").write_text(text, encoding="utf-8")
    result = load_policy_dir(tmp)
    assert result.ok, [str(d) for d in result.errors] + [text]
    return result.policy.sites[host]


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_policies_decide_like_the_resolver(tmp_path_factory: object, seed: int) -> None:
    import tempfile

    rng = random.Random(seed)
    window = ("2031-01-01T00:00:00+00:00", "2031-01-02T00:00:00+00:00")
    with tempfile.TemporaryDirectory() as tmp:
        site = _load(Path(tmp), random_site(rng, "gen.example.fr", window), "gen.example.fr")
    plan = plan_site("s1", site)
    resolver = SiteResolver(site)
    for at in (datetime(2030, 6, 1, tzinfo=UTC), datetime(2031, 1, 1, 12, tzinfo=UTC)):
        for path in REQUEST_PATHS:
            for ct in REQUEST_TYPES:
                d = resolver.decide(path, ct, at)
                want = (d.rule.id if d.enabled and d.rule else None, d.ttl)
                assert emulate(plan, path, ct, at) == want, (path, ct, at)


@settings(max_examples=300, deadline=None)
@given(lo=st.integers(0, 10**13 - 2), span=st.integers(1, 10**9), probes=st.lists(st.integers(-50, 50)))
def test_int_range_regex_matches_exactly_the_range(lo: int, span: int, probes: list[int]) -> None:
    hi = min(lo + span, 10**13)
    rx = re.compile(int_range_regex(lo, hi, 13) + "$")
    for x in {lo - 1, lo, hi - 1, hi, *(lo + p for p in probes), *(hi + p for p in probes)}:
        if 0 <= x < 10**13:
            assert bool(rx.match(str(x).zfill(13))) == (lo <= x < hi), (lo, hi, x)


_PATH_CHARS = st.sampled_from([*"abcAZ09-._~!$&'()*+,;=:@/%", "é", " ", '"', "{", "%2F", "%2f", "%41", "%7e",
                               "%C3%A9", "%c3%a9", "%zz"])
_raw_paths = st.lists(_PATH_CHARS, max_size=12).map(lambda parts: "/" + "".join(parts))


def _spellings(path: str) -> list[str]:
    """A few raw spellings that normalise to the same path."""
    out = [path]
    out.append(re.sub(r"[a-z]", lambda m: f"%{ord(m.group()):02x}", path))
    out.append(re.sub(r"%([0-9A-F]{2})", lambda m: "%" + m.group(1).lower(), path))
    return out


@settings(max_examples=300, deadline=None)
@given(raw=_raw_paths, other=_raw_paths)
def test_tolerant_regex_matches_every_spelling_and_nothing_else(raw: str, other: str) -> None:
    norm = normalize_path(raw)
    rx = re.compile(tolerant_path_regex(norm) + "$")
    for spelling in _spellings(norm):
        assert rx.match(spelling.encode("utf-8").decode("latin-1")), (norm, spelling)
    if other.isascii():  # raw bytes: the regex works on bytes, as PCRE does in nginx
        assert bool(rx.match(other)) == (normalize_path(other) == norm), (norm, other)


@settings(max_examples=300, deadline=None)
@given(raw=_raw_paths)
def test_varnish_normalisation_steps_equal_spec_normalisation(raw: str) -> None:
    # regsuball on bytes, as Varnish does: emulate with latin-1 text
    text = raw.encode("utf-8").decode("latin-1")
    text = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", text)
    steps = normalisation()
    for pattern, replacement in steps["decode"] + steps["upper"] + steps["encode"]:
        text = re.sub(pattern, replacement.replace("\\1", r"\1"), text)
    assert text == normalize_path(raw)


def test_canonical_regex_accepts_only_normal_forms() -> None:
    rx = re.compile(CANONICAL_PATH_REGEX + "$")
    for path in ("/a/b", "/caf%C3%A9", "/a%2Fb", "/p;q=1", "/%25"):
        assert rx.match(path) and normalize_path(path) == path
    for path in ("/%7e", "/%41", "/caf%c3%a9", "/a b", "/%", "/é"):
        assert not rx.match(path) and normalize_path(path) != path
