"""Simulated edge traffic that is consistent with a policy: realistic example logs.

Requests follow a daily curve (quiet nights, a lunch and an evening peak), paths a Zipf
law over a catalogue built from the policy's own pages and directories, and the cache
status of each request comes from replaying it through a cache that obeys the
policy's decision at that instant (TTLs, `cache: false`, override windows, a site
switched off): a HIT only if the object was fetched less than its TTL ago. So the
statistics computed from these logs (CDN share, origin requests) are the ones that
policy would give, and an election-night window shows up as a burst of short TTLs.

Output is the ``nginx-cdn`` format cdnctl's nginx edges write (combined + host, cache
status, time taken; with ``rules=True`` also the id of the rule that decided, quoted, as
the edges now log it, so that misses can be reported by rule). Deterministic for a given
seed, with or without the rule ids. Pure: no I/O here.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from cache_rules.model import PathRank, Policy, SitePolicy
from cache_rules.resolve import SiteResolver

PARIS = ZoneInfo("Europe/Paris")

# Share of the day's traffic per Paris hour: night trough, lunch and 21 h peaks.
HOURLY = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4, 5, 5.5, 6, 6.5, 6, 5.5, 5, 5, 5.5, 6, 6.5, 7, 7.5, 5, 2.5]

# (suffix, content type, typical size in bytes)
KINDS = [
    ("index.html", "text/html; charset=utf-8", 40_000),
    ("article-{k}.html", "text/html; charset=utf-8", 60_000),
    ("photo-{k}.jpg", "image/jpeg", 180_000),
    ("data-{k}.json", "application/json", 8_000),
    ("document-{k}.pdf", "application/pdf", 900_000),
]
STATIC = [
    ("/css/site.css", "text/css", 35_000),
    ("/js/app.js", "application/javascript", 120_000),
    ("/img/logo.png", "image/png", 12_000),
    ("/fonts/marianne.woff2", "font/woff2", 45_000),
    ("/", "text/html; charset=utf-8", 50_000),
]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]


@dataclass(frozen=True)
class Resource:
    path: str
    content_type: str
    size: int


def catalogue(site: SitePolicy, rng: random.Random, per_directory: int = 6) -> list[Resource]:
    """The site's resources: its page rules, files under its directory rules, static assets."""
    seen: set[str] = set()
    out: list[Resource] = []

    def add(path: str, ctype: str, size: int) -> None:
        if path not in seen:
            seen.add(path)
            out.append(Resource(path, ctype, max(200, int(rng.lognormvariate(0, 0.4) * size))))

    # Popularity order (the Zipf rank): home page and assets, then named pages, then the
    # files of each directory, round robin so that no single directory takes the head.
    for path, ctype, size in STATIC:
        add(path, ctype, size)
    rules = list(site.rules) + [r for w in site.overrides for r in w.rules]
    for rule in rules:
        if rule.path_rank is PathRank.PAGE and rule.path:
            add(rule.path, "text/html; charset=utf-8", 30_000)
    directories = sorted({r.path for r in rules if r.path_rank is PathRank.DIRECTORY and r.path})
    rng.shuffle(directories)
    for k in range(per_directory):
        suffix, ctype, size = KINDS[k % len(KINDS)]
        for directory in directories:
            add(directory + suffix.format(k=k), ctype, size)
    return out


def simulate(policy: Policy, start: date, days: int, requests_per_day: int, seed: int = 2027,
             sites: list[str] | None = None, rules: bool = False) -> Iterator[tuple[datetime, str, str]]:
    """(instant in Paris time, log line, the response's Content-Type) of every request, in
    time order per site and day. The type is not in the log format; it is given for checks.
    ``rules``: each line ends with the winning rule id (``"-"`` when the site is off), the
    lines being otherwise the same."""
    rng = random.Random(seed)
    chosen = [policy.sites[s] for s in (sites or sorted(policy.sites))]
    clients = [f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}"
               for _ in range(400)] + [f"2001:db8::{rng.randrange(1, 1 << 16):x}" for _ in range(100)]
    hour_weights = list(accumulate(HOURLY))
    for site in chosen:
        resolver = SiteResolver(site)
        resources = catalogue(site, rng)
        zipf = list(accumulate(1 / (rank ** 1.1) for rank in range(1, len(resources) + 1)))
        fetched: dict[str, datetime] = {}  # path → when the edge last fetched it from the origin
        for offset in range(days):
            day = start + timedelta(days=offset)
            midnight = datetime(day.year, day.month, day.day, tzinfo=PARIS)
            seconds = sorted(
                3600 * rng.choices(range(24), cum_weights=hour_weights)[0] + rng.random() * 3600
                for _ in range(requests_per_day))
            for second in seconds:
                # Aware arithmetic on the wall clock, then normalised: right on DST days too.
                when = (midnight + timedelta(seconds=second)).astimezone(PARIS)
                res = rng.choices(resources, cum_weights=zipf)[0]
                line, rule = _line(rng, site, res, when, resolver, fetched, clients)
                yield when, (line + f' "{rule or "-"}"' if rules else line), res.content_type


def _line(rng: random.Random, site: SitePolicy, res: Resource, when: datetime, resolver: SiteResolver,
          fetched: dict[str, datetime], clients: list[str]) -> tuple[str, str | None]:
    decision = resolver.decide(res.path, res.content_type, when)
    rule = decision.rule.id if decision.enabled and decision.rule is not None else None
    if not decision.cache:
        status_cache = "BYPASS"
    else:
        last = fetched.get(res.path)
        if last is not None and (when - last).total_seconds() < decision.ttl:
            status_cache = "HIT"
        else:
            status_cache = "MISS" if last is None else "EXPIRED"
            fetched[res.path] = when
    hit = status_cache == "HIT"
    roll = rng.random()
    status = 404 if roll < 0.015 else 503 if roll < 0.017 else 304 if roll < 0.08 else 200
    size = 0 if status == 304 else 150 if status >= 400 else res.size
    # Edge answers in milliseconds; origin fetches take longer, with a slow tail past 2 s.
    taken = rng.lognormvariate(-4.2, 0.6) if hit else rng.lognormvariate(-1.6, 0.7)
    referer = "-" if rng.random() < 0.4 else f"https://{site.site}/"
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S %z")
    return (f'{rng.choice(clients)} - - [{stamp}] "GET {res.path} HTTP/1.1" {status} {size} '
            f'"{referer}" "{rng.choice(AGENTS)}" "{site.site}" {status_cache} {taken:.3f}'), rule
