"""Random valid site policies and requests, for equivalence tests against the resolver.

Selectors are drawn from small pools so that scopes nest, types fall through and
windows overlap regular rules often; every (path, type) selector is used at most once
per rule set and the two groups never overlap, so the policy is always valid.
"""

from __future__ import annotations

import random

DIRS = ["/", "/a/", "/a/b/", "/a/b/c/", "/b/", "/a%2Fb/", "/x.y/", "/%7Eu/"]
PAGES = ["/a/x", "/a/b/y", "/z", "/a/", "/a/b/c/", "/x.y/z", "/p;q"]
EXACT = ["text/html", "image/png", "application/json", "text/css"]
GROUPS = {"img": ["image/*"], "mix": ["text/css", "font/*", "application/pdf"]}
REQUEST_PATHS = ["/", "/q", "/z", "/a", "/a/", "/a/x", "/a/x?y=1", "/a/b", "/a/b/", "/a/b/y", "/a/b/c/",
                 "/a/b/c/d", "/a%2Fb/c", "/a/b%2Fc", "/%61/x", "/%7eu/k", "/~u/k", "/x.y/z", "/xzy/z",
                 "/b/", "/b/q", "/p;q", "/p%3Bq", "/A/x"]
REQUEST_TYPES = [None, "", "text/html", "TEXT/HTML; charset=utf-8", "image/png", "image/webp",
                 "application/json", "text/css", "font/woff2", "application/pdf", "video/mp4", "garbage"]


def _rules(rng: random.Random, prefix: str, count: int, need_default: bool) -> list[str]:
    out = ["{id: " + prefix + "def, default: true, ttl: " + str(rng.choice([60, 3600])) + "}"] \
        if need_default else []
    used: set[tuple[str, str]] = set()
    for n in range(count):
        kind = rng.choice(["site", "dir", "dir", "page"])
        path = "" if kind == "site" else rng.choice(DIRS if kind == "dir" else PAGES)
        tkind = rng.choice(["any", "exact", "group"])
        if kind == "site" and tkind == "any":
            tkind = "exact"
        tval = "" if tkind == "any" else rng.choice(EXACT if tkind == "exact" else sorted(GROUPS))
        if (path, tval) in used:
            continue
        used.add((path, tval))
        parts = [f"id: {prefix}{n}"]
        if kind == "dir":
            parts.append(f'directory: "{path}"')
        elif kind == "page":
            parts.append(f'page: "{path}"')
        if tkind == "exact":
            parts.append(f"content_type: {tval}")
        elif tkind == "group":
            parts.append(f"content_type_group: {tval}")
        ttl = rng.choice([0, 0, 5, 30, 120, 600, 86400])
        parts.append("cache: false" if ttl == 0 else f"ttl: {ttl}")
        out.append("{" + ", ".join(parts) + "}")
    return out


def random_site(rng: random.Random, host: str, window: tuple[str, str] | None = None) -> str:
    """YAML text of a valid random site policy; one override window when given (from, until)."""
    groups = "\n".join(f"  {k}: [{', '.join(v)}]" for k, v in GROUPS.items())
    lines = [f"site: {host}", "origin: http://127.0.0.1:9",
             f"enabled: {'true' if rng.random() < 0.9 else 'false'}",
             "content_type_groups:", groups, "rules:"]
    lines += [f"  - {r}" for r in _rules(rng, "r", rng.randint(2, 14), True)]
    if window:
        lines += ["overrides:", f"  - from: {window[0]}", f"    until: {window[1]}", "    reason: random window"]
        if rng.random() < 0.3:
            lines.append(f"    enabled: {'true' if rng.random() < 0.5 else 'false'}")
        lines.append("    rules:")
        lines += [f"      - {r}" for r in _rules(rng, "w", rng.randint(0, 6), False)] or ["      []"]
    text = "\n".join(lines) + "\n"
    return text.replace("    rules:\n      []", "    rules: []")
