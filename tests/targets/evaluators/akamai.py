"""Akamai Property Manager rule trees, interpreted as documented.

- Rule trees (https://techdocs.akamai.com/property-mgr/reference/rule-trees): a rule's
  behaviors apply when all its criteria match (``criteriaMustSatisfy: all``) and its
  parent's do; rules are applied top to bottom, depth first; for one behavior the last
  applied wins.
- ``path`` (https://techdocs.akamai.com/property-mgr/reference/ga-path): the URL path
  without query; ``?`` one character, ``*`` zero or more; ``normalize`` decodes the URL
  and strips ``//`` and dot segments first; ``matchCaseSensitive``.
- ``contentType`` (https://techdocs.akamai.com/property-mgr/docs/content-type): the
  response's Content-Type header value, wildcards, optional case-insensitivity; a
  response-stage match cannot undo a request-stage ``NO_STORE``.
- ``time`` BETWEEN: beginDate inclusive, endDate exclusive (assumed).
- ``caching``: MAX_AGE with ``ttl`` like 30s/5m/1h/7d; NO_STORE and BYPASS_CACHE: not cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote


def _wild(pattern: str, value: str, case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE | re.DOTALL) is not None


def request_path(raw: str, normalize: bool) -> str:
    path = re.split(r"[?#]", raw, maxsplit=1)[0]
    if not normalize:
        return path
    path = unquote(path)
    segments: list[str] = []
    for seg in path.split("/")[1:]:
        if seg == "..":
            if segments:
                segments.pop()
        elif seg not in (".",):
            segments.append(seg)
    out = "/" + "/".join(segments)
    return re.sub(r"/{2,}", "/", out)


def _ttl(text: str) -> int:
    m = re.fullmatch(r"(\d+)([smhd])", text)
    assert m, text
    return int(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]


@dataclass
class Result:
    cache: bool
    ttl: int
    rule: str | None  # the name of the rule whose caching behavior won


def _criterion(crit: dict, raw_path: str, content_type: str | None, at: datetime) -> bool:
    name, o = crit["name"], crit["options"]
    if name == "path":
        path = request_path(raw_path, o.get("normalize", False))
        hit = any(_wild(v, path, o.get("matchCaseSensitive", False)) for v in o["values"])
        return hit if o["matchOperator"] == "MATCHES_ONE_OF" else not hit
    if name == "contentType":
        if content_type is None:
            return o["matchOperator"] != "IS_ONE_OF"
        hit = any(_wild(v, content_type, o.get("matchCaseSensitive", False)) if o.get("matchWildcard")
                  else (v == content_type if o.get("matchCaseSensitive") else v.lower() == content_type.lower())
                  for v in o["values"])
        return hit if o["matchOperator"] == "IS_ONE_OF" else not hit
    if name == "time":
        assert o["matchOperator"] == "BETWEEN"
        begin = datetime.fromisoformat(o["beginDate"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(o["endDate"].replace("Z", "+00:00"))
        return begin <= at < end
    raise ValueError(f"criterion {name} not implemented")


def decide(tree: dict, raw_path: str, content_type: str | None, at: datetime) -> Result:
    applied: list[tuple[bool, dict, str]] = []  # (response stage, caching options, rule name)

    def walk(rule: dict, response_stage: bool) -> None:
        crits = rule.get("criteria", [])
        results = [_criterion(c, raw_path, content_type, at) for c in crits]
        ok = all(results) if rule.get("criteriaMustSatisfy", "all") == "all" else (any(results) or not crits)
        if not ok:
            return
        stage = response_stage or any(c["name"] == "contentType" for c in crits)
        for b in rule.get("behaviors", []):
            if b["name"] == "caching":
                applied.append((stage, b["options"], rule["name"]))
        for child in rule.get("children", []):
            walk(child, stage)

    walk(tree, False)
    if not applied:
        return Result(False, 0, None)
    request_stage = [a for a in applied if not a[0]]
    if request_stage and request_stage[-1][1]["behavior"] in ("NO_STORE", "BYPASS_CACHE"):
        _, options, name = request_stage[-1]
    else:
        _, options, name = applied[-1]
    rule = name.split(":", 1)[0]
    if options["behavior"] != "MAX_AGE":
        return Result(False, 0, rule)
    ttl = _ttl(options["ttl"])
    return Result(ttl > 0, ttl, rule)
