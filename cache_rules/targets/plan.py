"""The decision tables every target renders: SPEC §2 precomputed per path scope.

An edge server cannot run the resolver's loop over path prefixes, but it can do what
the loop amounts to. For one request, the rules that can win depend on the request's
*head*: the page it names if a page rule exists for it, otherwise the deepest
directory with a rule that is a prefix of the path, otherwise the site. Fallback from
a scope to the enclosing ones (a directory holding only a ``text/html`` rule does not
capture images) is fixed once the head is known, because the enclosing directories of
a head are fixed. So each head gets a small table, media type → winning rule, computed
here with the resolver itself (:class:`cache_rules.resolve.RuleIndex`), and a target
only has to find the head (exact page match, then directory prefixes longest first,
then site) and look the media type up.

Media types are reduced to *classes*: each exact type named in the rule set, each
major type of a ``type/*`` pattern, and "other" (no type, garbage, or a type no
rule names). A head's table lists only the classes whose winner differs from the
head's "other" winner, so a page with a single any-type rule has an empty table.

Everything a template prints from a policy goes through :func:`checked`, which
re-validates the value against the strict alphabet the loader guarantees; a value
that would not pass (a bug upstream or a hand-built model) stops the compile instead
of reaching a config file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cache_rules.model import Override, PathRank, Rule, SitePolicy
from cache_rules.resolve import RuleIndex

# A probe character that never appears in a normalised path or a media type: paths
# ending in it sit below a directory without naming any page or deeper directory.
_PROBE = "\uffff"

# Alphabets the loader guarantees after normalisation; checked again before printing.
SAFE = {
    "path": re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*"),
    "host": re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"),
    "media": re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+/[a-z0-9!#$%&'*+.^_`|~-]+"),
    "major": re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+"),
    "rule_id": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"),
    "ip": re.compile(r"[0-9a-fA-F:.]+(?:/[0-9]{1,3})?"),
}


class UnsafeValue(ValueError):
    """A policy value outside the alphabet a config file may receive."""


def checked(kind: str, value: str) -> str:
    """``value`` unchanged if it is a valid ``kind``; raises :class:`UnsafeValue` otherwise."""
    if not isinstance(value, str) or not SAFE[kind].fullmatch(value):
        raise UnsafeValue(f"refusing to write {kind} {value!r} into an edge config")
    return value


@dataclass(frozen=True)
class Outcome:
    """What a rule does, as a target prints it: the id and the TTL in seconds."""

    rule_id: str
    ttl: int

    @classmethod
    def of(cls, rule: Rule | None) -> Outcome | None:
        if rule is None:
            return None
        return cls(checked("rule_id", rule.id), rule.ttl)


@dataclass
class Head:
    """One path scope a request can land on, with its media-class table."""

    kind: PathRank
    path: str | None  # None for the site head
    key: str  # short name for generated identifiers: p3, d1, site
    other: Outcome | None  # winner for a type no class names (None: no rule, fall through)
    by_class: dict[str, Outcome | None] = field(default_factory=dict)  # class key → winner


@dataclass
class RuleSetPlan:
    """Regular rules, or one override window's rules, ready to render."""

    key: str  # "r" for regular rules, "w0", "w1"… for windows
    pages: list[Head]
    dirs: list[Head]  # longest first: the first prefix that matches is the deepest
    site: Head


@dataclass
class WindowPlan:
    index: int
    key: str
    start: datetime
    end: datetime
    reason: str
    enabled: bool | None
    rules: RuleSetPlan


@dataclass
class SitePlan:
    key: str  # s1, s2… in the order of the policy's hosts
    site: SitePolicy
    hosts: list[str]
    origin: Origin
    exact: dict[str, str]  # media type → class key (t1, t2…)
    majors: dict[str, str]  # major type → class key (m1, m2…)
    regular: RuleSetPlan
    windows: list[WindowPlan]

    @property
    def enabled(self) -> bool:
        return self.site.enabled


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int
    base: str  # path prefix without trailing slash, "" for none

    @classmethod
    def parse(cls, url: str) -> Origin:
        # urlsplit silently drops tabs and newlines: refuse them rather than guess.
        if not url.isascii() or not url.isprintable() or " " in url:
            raise UnsafeValue(f"origin {url!r} has spaces, control or non-ASCII characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UnsafeValue(f"origin {url!r} is not an http(s) URL")
        host = parts.hostname.lower()
        if not re.fullmatch(r"[0-9.]+", host):
            checked("host", host)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        base = parts.path.rstrip("/")
        if base:
            checked("path", base)
        return cls(parts.scheme, host, port, base)

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def _classes(rules: tuple[Rule, ...] | list[Rule]) -> tuple[list[str], list[str]]:
    exact: set[str] = set()
    majors: set[str] = set()
    for rule in rules:
        for pattern in rule.patterns:
            if pattern.endswith("/*"):
                majors.add(pattern[:-2])
            else:
                exact.add(pattern)
    return sorted(exact), sorted(majors)


def _head(index: RuleIndex, kind: PathRank, path: str | None, key: str,
          exact: dict[str, str], majors: dict[str, str]) -> Head:
    probe = path if kind is PathRank.PAGE else (path or "") + _PROBE
    other = Outcome.of(index.lookup(probe, None))
    head = Head(kind, path, key, other)
    for media, cls in exact.items():
        won = Outcome.of(index.lookup(probe, media))
        if won != other:
            head.by_class[cls] = won
    for major, cls in majors.items():
        won = Outcome.of(index.lookup(probe, f"{major}/{_PROBE}"))
        if won != other:
            head.by_class[cls] = won
    return head


def plan_rule_set(key: str, rules: tuple[Rule, ...], exact: dict[str, str],
                  majors: dict[str, str]) -> RuleSetPlan:
    index = RuleIndex(rules)
    pages = sorted({checked("path", r.path or "") for r in rules if r.path_rank is PathRank.PAGE})
    dirs = sorted({checked("path", r.path or "") for r in rules if r.path_rank is PathRank.DIRECTORY},
                  key=lambda d: (-len(d), d))
    return RuleSetPlan(
        key=key,
        pages=[_head(index, PathRank.PAGE, p, f"p{i}", exact, majors) for i, p in enumerate(pages, 1)],
        dirs=[_head(index, PathRank.DIRECTORY, d, f"d{i}", exact, majors) for i, d in enumerate(dirs, 1)],
        site=_head(index, PathRank.SITE, None, "site", exact, majors),
    )


def plan_site(key: str, site: SitePolicy, origin: str | None = None) -> SitePlan:
    """The tables for one site; ``origin`` replaces the policy's origin (fleet, tests)."""
    every = list(site.rules) + [r for w in site.overrides for r in w.rules]
    exact_list, major_list = _classes(every)
    exact = {checked("media", m): f"t{i}" for i, m in enumerate(exact_list, 1)}
    majors = {checked("major", m): f"m{i}" for i, m in enumerate(major_list, 1)}
    windows = [
        WindowPlan(w.index, f"w{w.index}", w.start, w.end, w.reason, w.enabled,
                   plan_rule_set(f"w{w.index}", w.rules, exact, majors))
        for w in site.overrides
    ]
    return SitePlan(
        key=key, site=site, hosts=[checked("host", h) for h in site.hosts],
        origin=Origin.parse(origin or site.origin), exact=exact, majors=majors,
        regular=plan_rule_set("r", site.rules, exact, majors), windows=windows,
    )


# -- time ---------------------------------------------------------------------------

def epoch(at: datetime) -> float:
    return at.astimezone(UTC).timestamp()


def window_active(window: Override | WindowPlan, at: datetime) -> bool:
    return window.start <= at < window.end


def int_range_regex(lo: int, hi: int, width: int) -> str:
    """A regex matching the ``width``-digit decimal strings of the integers in [lo, hi).

    nginx has no arithmetic; a time window becomes a regex over ``$msec`` digits.
    The classic split: peel off ranges that differ only in their last k digits.
    """
    if not 0 <= lo < hi <= 10 ** width:
        raise ValueError(f"bad range [{lo}, {hi}) for width {width}")
    parts: list[str] = []
    hi -= 1  # inclusive from here on
    while lo <= hi:
        # grow the block [lo, lo + 10^k - 1] while lo is aligned and the block fits
        k = 0
        while lo % 10 ** (k + 1) == 0 and lo + 10 ** (k + 1) - 1 <= hi:
            k += 1
        top = lo + 10 ** k - 1
        digits = str(lo).zfill(width)
        prefix = digits[: width - k]
        parts.append(prefix + ("[0-9]" * k if k <= 3 else f"[0-9]{{{k}}}"))
        lo = top + 1
    # merge siblings that differ only in the last fixed digit into a class
    merged: list[str] = []
    for part in parts:
        if merged and _siblings(merged[-1], part):
            merged[-1] = _merge(merged[-1], part)
        else:
            merged.append(part)
    return "(?:" + "|".join(merged) + ")"


_TAIL = re.compile(r"^(\d*)(\d|\[\d-\d\])((?:\[0-9\])*|\[0-9\]\{\d+\})$")


def _siblings(a: str, b: str) -> bool:
    ma, mb = _TAIL.match(a), _TAIL.match(b)
    return bool(ma and mb and ma.group(1) == mb.group(1) and ma.group(3) == mb.group(3)
                and _hi(ma.group(2)) + 1 == _lo(mb.group(2)))


def _merge(a: str, b: str) -> str:
    ma, mb = _TAIL.match(a), _TAIL.match(b)
    assert ma and mb
    return f"{ma.group(1)}[{_lo(ma.group(2))}-{_hi(mb.group(2))}]{ma.group(3)}"


def _lo(d: str) -> int:
    return int(d[1] if d.startswith("[") else d)


def _hi(d: str) -> int:
    return int(d[3] if d.startswith("[") else d)


# -- paths --------------------------------------------------------------------------

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")


def _ci_hex(h: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in h)


def tolerant_path_regex(path: str) -> str:
    """A regex for every raw spelling of a normalised path (SPEC §1 normalisation).

    A server that cannot normalise the request path (nginx: ``$uri`` decodes every
    escape, ``%2F`` included) matches the raw path against this instead: an
    unreserved character also matches its escape in either hex case, an escape of
    another byte matches either hex case and, for bytes that may not appear raw,
    the raw byte; ``%25`` also matches a stray ``%``.
    """
    checked("path", path)
    out: list[str] = []
    i = 0
    while i < len(path):
        c = path[i]
        if c == "%":
            h = path[i + 1 : i + 3]
            byte = int(h, 16)
            alts = ["%" + _ci_hex(h)]
            if byte == 0x25:
                alts.append("%(?![0-9A-Fa-f]{2})")
            elif chr(byte) not in _PATH_SAFE or byte >= 0x80:
                alts.append(f"\\x{byte:02X}")
            out.append("(?:" + "|".join(alts) + ")")
            i += 3
            continue
        if c in _UNRESERVED:
            lit = re.escape(c)
            out.append(f"(?:{lit}|%{_ci_hex(f'{ord(c):02X}')})")
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def regex_literal(path: str) -> str:
    """A normalised path as a PCRE literal (metacharacters escaped)."""
    return re.escape(checked("path", path))


# Hex codes of unreserved characters: their escapes are decoded by normalisation.
_UNRESERVED_HEX = "(?:3[0-9]|4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|2[DE]|5F|7E)"
CANONICAL_PATH_REGEX = (
    r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%(?!" + _UNRESERVED_HEX + r")[0-9A-F]{2})*"
)
