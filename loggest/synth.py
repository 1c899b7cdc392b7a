"""Deterministic synthetic access logs (tests, benchmark, examples): nginx-cdn / combined."""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

PATHS = ["/", "/index.html", "/actualites/2027/communique.html", "/img/logo.png", "/css/site.css",
         "/js/app.js", "/resultats/2027/national.html", "/recherche?q=carte+grise", "/api/v1/items?id=42",
         "/espace-agents/login"]
UAS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
       "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
       "curl/8.4.0", "Googlebot/2.1 (+http://www.google.com/bot.html)", "-"]
CACHE = ["HIT", "HIT", "HIT", "MISS", "EXPIRED", "BYPASS", "STALE", "-", "REVALIDATED"]
STATUS = [200, 200, 200, 200, 304, 301, 404, 500, 206]


def nginx_cdn_lines(n: int, site: str = "www.example.gouv.fr", start: datetime | None = None,
                    seed: int = 1, combined: bool = False, rules: Sequence[str] = ()) -> Iterator[str]:
    """``n`` lines in the ``nginx-cdn`` preset (or ``combined`` when asked), Paris time. With
    ``rules``, each line ends with one of them as the rule id the edge logged (``-``: none),
    as cdnctl's edges write it, drawn apart so the lines are otherwise those without it (the
    lines of the preset before it had the field, the same as ever for a given seed)."""
    rnd = random.Random(seed)
    pick = random.Random(-seed)
    t = start or datetime(2027, 4, 25, 0, 0, tzinfo=UTC)
    step = 86_400 / max(n, 1)
    for i in range(n):
        when = (t + timedelta(seconds=int(i * step))).astimezone(PARIS)
        stamp = when.strftime("%d/%b/%Y:%H:%M:%S %z")
        ip = f"192.0.{rnd.randrange(256)}.{rnd.randrange(256)}" if rnd.random() < 0.9 else \
            f"2001:db8::{rnd.randrange(65536):x}"
        path = rnd.choice(PATHS)
        status = rnd.choice(STATUS)
        size = rnd.randrange(100, 200_000)
        ref = "-" if rnd.random() < 0.5 else f"https://{site}/"
        line = (f'{ip} - - [{stamp}] "GET {path} HTTP/1.1" {status} {size} "{ref}" "{rnd.choice(UAS)}"')
        if not combined:
            line += f' "{site}" {rnd.choice(CACHE)} {rnd.randrange(0, 3000) / 1000:.3f}'
            if rules:
                line += f' "{pick.choice(rules)}"'
        yield line


def write_log(path: Path, lines: Iterator[str] | list[str], gz: bool | None = None) -> Path:
    data = "".join(line + "\n" for line in lines).encode()
    if gz if gz is not None else path.name.endswith(".gz"):
        with gzip.open(path, "wb", compresslevel=1) as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path
