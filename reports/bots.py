"""Which user agents are bots: the crawler-user-agents list, matched by a regex set.

**The list.** A user agent is a bot when one of the patterns of *crawler-user-agents*
(github.com/monperrus/crawler-user-agents, MIT, on PyPI as ``crawler-user-agents``)
matches it. Compared on 2026-12-02 with the other candidates the issue names:

- *crawler-user-agents* 1.67.0 (2026-10): 1,504 patterns, released about monthly, plain
  JSON that any tool can read, every pattern with the real user agents it must match
  (2,123 ``instances``) and tags (search-engine, ai-crawler, monitoring, http-library…).
  It counts HTTP libraries and monitors (curl, python-requests, Go-http-client,
  Pingdom) as bots: for an audience figure they are not people either.
- *ua-parser* (uap-core's device family ``Spider``): recognises 1,324 of those 2,123
  instances (62 %); curl, Wget, python-requests, Go-http-client are "Other" devices.
- *crawlerdetect* 0.4.2 (Python port of JayBizzle's Crawler-Detect): 1,824 of 2,123
  (86 %); misses e.g. ``meta-externalagent/1.1`` (Meta's AI crawler), Amazon CloudFront,
  Cloudflare monitors. One regex of its own, no instances to check against.
- *GoAccess* keeps a short substring list in C (``browsers.c``, about 100 crawler
  tokens, first match wins, ``curl`` and ``Wget`` are "Others"): not reusable.
- *Matomo* uses its DeviceDetector's ``bots.yml`` (PHP, no maintained Python package).

On the bot and browser fixtures of uap-core's ``tests/test_ua.yaml`` (see
``tests/reports/test_bots.py``) the list flags no browser and misses one monitor
(``NewRelicPinger``); ua-parser's ``Spider`` misses seven of those bots.

**The matcher.** Python's ``re`` tries 1,504 alternatives at each position: 170–360 µs
per user agent, 3.7 s for 20,000 distinct ones. The same patterns go into a
``regex``-crate set (``ua_parser_rs``, installed with ``ua-parser[regex]`` for the
browser and OS families, see :mod:`reports.useragents`), which pre-filters on literals:
about 2 µs per user agent, with the same answers (every pattern compiles; the tests
compare both matchers on every instance of the list and on real browsers). Without
``ua_parser_rs`` the ``re`` matcher is used.

**No user agent** (``-``, empty, or a log format without the field, like CLF) is not a
bot: nothing identifies a crawler, and calling every record of a CLF log a bot would
be false. Such records are counted with the humans, which therefore means "not
identified as a bot" — as in GoAccess (``is_crawler`` returns 0 for an empty agent) and
Matomo's DeviceDetector.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import crawleruseragents

PATTERNS: tuple[str, ...] = tuple(entry["pattern"] for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA)


def python_matcher(patterns: tuple[str, ...] = PATTERNS) -> Callable[[str], bool]:
    """The list matched with ``re``, in chunks (one alternation of 1,500 is slower still)."""
    chunks = [re.compile("|".join(patterns[i:i + 25])) for i in range(0, len(patterns), 25)]
    return lambda ua: any(c.search(ua) for c in chunks)


def rust_matcher(patterns: tuple[str, ...] = PATTERNS) -> Callable[[str], bool] | None:
    """The list as one ``regex``-crate set (``ua_parser_rs``), or None when it is not installed."""
    try:
        import ua_parser_rs  # type: ignore[import-untyped]
    except ImportError:
        return None
    # A user-agent extractor is a first-match regex set; the family only names the pattern.
    extractor = ua_parser_rs.UserAgentExtractor((p, str(i), None, None, None, None)
                                                for i, p in enumerate(patterns))
    return lambda ua: extractor.extract(ua) is not None


@lru_cache(maxsize=1)
def _matcher() -> Callable[[str], bool]:
    return rust_matcher() or python_matcher()


def is_bot(user_agent: str | None) -> bool:
    """True when the crawler-user-agents list matches ``user_agent`` (no user agent: False)."""
    if not user_agent:
        return False
    return _matcher()(user_agent)
