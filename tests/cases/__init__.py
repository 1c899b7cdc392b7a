"""The shared table of resolution cases (SPEC §2), for the resolver and every target.

``resolution.yaml`` holds the cases, ``sites/`` the policy directory they are decided
against. A target's tests replay every case::

    from tests.cases import CASES_POLICY_DIR, load_cases, load_cases_policy

    policy = load_cases_policy()          # compile the target's config from this
    for case in load_cases():             # then send each request to the real server
        ...  # Host: case.site, GET case.path, origin answers with case.content_type

Paths are written as a user types them: a few hold raw non-ASCII characters, a space
or a ``#fragment``; an HTTP client sends those as UTF-8 percent-escapes and drops the
fragment (as ``requests`` does), and the decision is the same either way.
``content_type`` None means the origin's response has no Content-Type header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from cache_rules.loader import load_policy_dir
from cache_rules.model import Policy

__all__ = ["CASES_POLICY_DIR", "Case", "load_cases", "load_cases_policy"]

_HERE = Path(__file__).resolve().parent
CASES_POLICY_DIR: Path = _HERE / "sites"
_CASES_FILE = _HERE / "resolution.yaml"

_KEYS = ("id", "site", "path", "content_type", "at", "cache", "ttl", "rule", "override", "enabled")


@dataclass(frozen=True)
class Case:
    """One request and the decision SPEC §2 gives for it."""

    id: str
    site: str  # primary host or alias, as sent in the Host header
    path: str  # URL path, possibly with a query string or fragment
    content_type: str | None  # Content-Type of the origin's response; None = absent
    at: datetime  # the instant of the request, always with a UTC offset
    cache: bool
    ttl: int  # seconds; 0 when not cached
    rule: str | None  # id of the winning rule; None when the site is off the CDN
    override: str | None  # reason of the window the winning rule comes from
    enabled: bool  # whether the site is on the CDN at ``at``


def load_cases() -> list[Case]:
    """Every case of ``resolution.yaml``, in file order; raises ValueError if malformed."""
    raw = yaml.safe_load(_CASES_FILE.read_text(encoding="utf-8"))
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{_CASES_FILE}: expected a non-empty list of cases")
    cases: list[Case] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw, start=1):
        case = _case(entry, f"{_CASES_FILE.name} case #{n}")
        if case.id in seen:
            raise ValueError(f"{_CASES_FILE.name}: case id {case.id!r} is used twice")
        seen.add(case.id)
        cases.append(case)
    return cases


def load_cases_policy() -> Policy:
    """The policy of ``sites/``, validated; raises PolicyError if it has any error."""
    return load_policy_dir(CASES_POLICY_DIR).require_valid()


def _case(entry: object, where: str) -> Case:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping, not {entry!r}")
    keys = set(entry)
    if keys != set(_KEYS):
        missing, extra = sorted(set(_KEYS) - keys), sorted(keys - set(_KEYS))
        raise ValueError(f"{where}: missing keys {missing}, unknown keys {extra}")
    where = f"{where} ({entry['id']})"

    def text(key: str, optional: bool = False) -> str | None:
        value = entry[key]
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise ValueError(f"{where}: {key} must be a string, not {value!r}")
        return value

    def flag(key: str) -> bool:
        value = entry[key]
        if not isinstance(value, bool):
            raise ValueError(f"{where}: {key} must be true or false, not {value!r}")
        return value

    at = entry["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if not isinstance(at, datetime) or at.utcoffset() is None:
        raise ValueError(f"{where}: at must be an ISO 8601 date-time with a UTC offset")
    ttl = entry["ttl"]
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise ValueError(f"{where}: ttl must be a number of seconds, not {ttl!r}")
    case = Case(
        id=str(text("id")), site=str(text("site")), path=str(text("path")),
        content_type=text("content_type", optional=True), at=at,
        cache=flag("cache"), ttl=ttl, rule=text("rule", optional=True),
        override=text("override", optional=True), enabled=flag("enabled"),
    )
    if case.cache != (case.ttl > 0):
        raise ValueError(f"{where}: cache must be true exactly when ttl > 0")
    if case.enabled != (case.rule is not None):
        raise ValueError(f"{where}: rule must be null exactly when the site is off the CDN")
    if not case.enabled and (case.cache or case.override is not None):
        raise ValueError(f"{where}: a site off the CDN caches nothing and has no override")
    return case
