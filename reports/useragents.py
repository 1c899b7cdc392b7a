"""One user agent → bot or not, browser family, OS family; each distinct string worked out once.

Reports classify the *distinct* user agents of a period (the column is LowCardinality:
a week of one site has thousands of them against hundreds of thousands of records), so
the cost is per distinct string, and :func:`describe` keeps the answers of the process
(a monthly report of 50 sites meets the same browsers again and again).

- bot: :func:`reports.bots.is_bot` (the crawler-user-agents list);
- browser and OS families: *ua-parser* (uap-core's ``regexes.yaml``, the parser behind
  Logstash's and Fluentd's user-agent filters, updated with each uap-core release as
  ``ua-parser-builtins``), with its ``regex``-crate resolver (``ua-parser[regex]``,
  about 15 µs per user agent for both families). The family names are uap-core's
  ("Chrome", "Chrome Mobile", "Mobile Safari", "Firefox", "Edge"…; "Windows",
  "Mac OS X", "iOS", "Android", "Linux"…); "Other" when it recognises nothing, and for a
  record with no user agent. Bots are not parsed: their families are not reported
  (bots are counted apart, see ``audience`` in :mod:`reports.metrics`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from reports.bots import is_bot

if TYPE_CHECKING:
    from ua_parser import Parser

OTHER = "Other"


class Agent(NamedTuple):
    bot: bool
    browser: str
    os: str


@lru_cache(maxsize=1)
def _parser() -> Parser:
    """uap-core's browser and OS regexes (not its 633 device ones: unused), compiled once.

    The lazy matchers only hand their regex texts to the ``regex``-crate resolver: 0.05 s
    at the first user agent of a process, against 0.36 s for ``load_builtins()`` with the
    device regexes (it builds a Python ``re`` matcher for each, then the resolver again).
    """
    from ua_parser import BestAvailableResolver, Parser, load_lazy_builtins

    browsers, systems, _devices = load_lazy_builtins()
    return Parser(BestAvailableResolver((browsers, systems, [])))


@lru_cache(maxsize=262_144)
def describe(user_agent: str | None) -> Agent:
    """Bot or not, and for a non-bot its browser and OS families (uap-core names)."""
    if not user_agent:
        return Agent(False, OTHER, OTHER)
    if is_bot(user_agent):
        return Agent(True, OTHER, OTHER)
    from ua_parser import Domain

    result = _parser()(user_agent, Domain.USER_AGENT | Domain.OS)
    return Agent(False, result.user_agent.family if result.user_agent else OTHER,
                 result.os.family if result.os else OTHER)
