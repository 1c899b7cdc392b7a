"""Benchmark: the weekly report of one site over a large embedded store, against its bare SQL.

Run on demand (not part of the test suite):

    .venv/bin/python bench/bench_reports.py --records 50000000

Fills a fresh chDB store (``records`` table of ``loggest.store``) with N records inside
ClickHouse (``INSERT … SELECT … FROM numbers(N)``: 10 sites, 8 weeks, diurnal-ish
times, Zipf-like paths with page and static-file extensions, mixed statuses, cache
classes with their raw statuses, times taken, about 2,800 distinct user agents (30 % of
the requests from bots: Googlebot, bingbot, AhrefsBot, GPTBot, python-requests, curl),
half the requests with a referrer: self-referrals and some 15,000 external ones), then
in the same run measures, best of --repeat:

  * bare SQL: every statement ``reports.metrics.stats`` sends for one site-week
    (``metrics.statements()``, the issue-12 panels included), run directly through the
    client with the same bound parameters (the floor);
  * the weekly report: ``metrics.stats`` (with the distinct user agents classified
    cold: the process cache of ``reports.useragents.describe`` is emptied before each
    run) + writing HTML (SVG charts), CSV, XLSX and JSON, as ``cdnctl report weekly``
    does.

Targets (issues 7 and 12): report ≤ 1 s on 2 cores, and ≤ 1.5 × the bare SQL of the same
run. A store kept with --keep is refilled when its fill is older than this script's.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loggest.store import open_store
from reports import documents, metrics, useragents
from reports.calendar import day_end, day_start

SITES = 10
WEEKS = 8
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; the 8 weeks cross the DST change of 29 March
SITE = "www.site3.gouv.fr"
WEEK = "2026-W14"
FILL_VERSION = 2          # bump when fill() changes: a kept store is refilled

HUMAN_UAS = [  # @v varies per record: ~2,000 distinct browser strings
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/1@v.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:1@v.0) Gecko/20100101 Firefox/1@v.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_@v like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.@v Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S9@vB) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/12@v.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.@v "
    "Safari/605.1.15",
]
BOT_UAS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "python-requests/2.@v",
    "curl/8.@v.0",
]
EXTENSIONS = ["", "", "", ".html", "/", ".php", ".css", ".js", ".png", ".jpg", ".woff2", ".pdf"]


def _sql_array(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values) + "]"


def fill(client: object, n: int) -> float:
    seconds = WEEKS * 7 * 86400
    site = f"concat('www.site', toString(number % {SITES}), '.gouv.fr')"
    version = "toString(cityHash64(number, 10) % 400)"
    pick = "1 + cityHash64(number, 7) % {}"
    human = f"replaceAll({_sql_array(HUMAN_UAS)}[{pick.format(len(HUMAN_UAS))}], '@v', {version})"
    bot = f"replaceAll({_sql_array(BOT_UAS)}[{pick.format(len(BOT_UAS))}], '@v', {version})"
    t0 = time.perf_counter()
    client.command(f"""
        INSERT INTO records (time, tz_offset, site, client, method, path, query, protocol, status,
                             bytes, referer, user_agent, cache_status, cache_class, time_taken_us, edge,
                             file_id, line_no)
        SELECT toDateTime({int(START.timestamp())} + (cityHash64(number, 1) % {seconds}), 'UTC'),
               120,
               {site},
               concat('192.0.', toString(cityHash64(number, 2) % 256), '.',
                      toString(cityHash64(number, 3) % 256)),
               'GET',
               concat('/page', toString(toUInt32(1 / (0.0001 + (cityHash64(number, 4) % 10000) / 10000))),
                      {_sql_array(EXTENSIONS)}[1 + cityHash64(number, 15) % {len(EXTENSIONS)}]),
               NULL, 'HTTP/1.1',
               [200, 200, 200, 200, 200, 200, 304, 301, 404, 503][1 + cityHash64(number, 5) % 10],
               cityHash64(number, 6) % 200000,
               multiIf(cityHash64(number, 11) % 10 < 5, NULL,
                       cityHash64(number, 11) % 10 < 7,
                       concat('https://', {site}, '/page', toString(cityHash64(number, 12) % 100)),
                       cityHash64(number, 11) % 10 = 7, 'https://www.google.com/',
                       cityHash64(number, 11) % 10 = 8,
                       concat('https://ext', toString(cityHash64(number, 13) % 300), '.example.org/article',
                              toString(cityHash64(number, 14) % 50)),
                       'https://duckduckgo.com/'),
               if(cityHash64(number, 16) % 10 < 3, {bot}, {human}),
               ['HIT', 'HIT', 'STALE', 'MISS', 'PASS', 'ERROR'][1 + cityHash64(number, 8) % 6],
               ['hit', 'hit', 'hit', 'miss', 'pass', 'error'][1 + cityHash64(number, 8) % 6],
               cityHash64(number, 9) % 3000000,
               NULL, 1, number
        FROM numbers({n})""", settings={"max_insert_threads": 2})
    return time.perf_counter() - t0


def bots_of(client: object, first: date, last: date) -> list[str]:
    """The bot user agents of the site-week, as ``metrics.stats`` finds them (outside the timings)."""
    text, params = metrics.statements([SITE], first, last)["groups"]
    agents, _, _ = metrics.split_groups(client.query(text, parameters=params).result_rows)
    return [ua for ua in agents if useragents.describe(ua).bot]


def bare_sql(client: object, first: date, last: date, bots: list[str]) -> tuple[float, dict[str, float]]:
    """The statements ``metrics.stats`` sends, with the same parameters, results discarded."""
    sql = metrics.statements([SITE], first, last, bots=bots)
    each = {}
    t0 = time.perf_counter()
    for name, (text, params) in sql.items():
        t = time.perf_counter()
        client.query(text, parameters=params)
        each[name] = time.perf_counter() - t
    return time.perf_counter() - t0, each


def report(client: object, first: date, last: date, out: Path) -> tuple[float, dict]:
    useragents.describe.cache_clear()     # each run classifies the week's user agents anew
    t0 = time.perf_counter()
    stats = metrics.stats(client, [SITE], first, last)
    data = documents.weekly_data({SITE: stats}, WEEK, datetime.now(UTC))
    documents.write_documents(data, out, "weekly", documents.FORMATS, "fr")
    return time.perf_counter() - t0, stats


def filled_version(store: object) -> int:
    store.command("CREATE TABLE IF NOT EXISTS bench_fill (version UInt32) ENGINE = TinyLog")
    return max([v for (v,) in store.rows("SELECT version FROM bench_fill")], default=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=50_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None,
                    help="Store directory kept between runs: filled once, reused when it has --records rows "
                         "of this script's fill.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"chdb://{args.keep or Path(tmp) / 'bench'}")
        try:
            fill_s = None
            version = filled_version(store)
            if store.rows("SELECT count() FROM records")[0][0] != args.records or version != FILL_VERSION:
                store.command("TRUNCATE TABLE records")
                store.command("TRUNCATE TABLE bench_fill")
                fill_s = fill(store.client, args.records)
                store.command("OPTIMIZE TABLE records FINAL")
                store.command(f"INSERT INTO bench_fill VALUES ({FILL_VERSION})")
            total = store.rows("SELECT count() FROM records")[0][0]
            first, last = documents.parse_week(WEEK)
            site_week = store.rows("SELECT count() FROM records WHERE site = {s:String} "
                                   "AND time >= {lo:DateTime} AND time < {hi:DateTime}",
                                   {"s": SITE, "lo": day_start(first), "hi": day_end(last)})[0][0]
            t0 = time.perf_counter()
            useragents.describe("Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0")
            setup_s = time.perf_counter() - t0     # once per process: the bot list and uap-core compiled
            report(store.client, first, last, Path(tmp) / "out")  # warm-up: imports, templates
            bots = bots_of(store.client, first, last)
            sql_times, report_times, each = [], [], []
            for _ in range(args.repeat):
                elapsed, per = bare_sql(store.client, first, last, bots)
                sql_times.append(elapsed)
                each.append(per)
                elapsed, stats = report(store.client, first, last, Path(tmp) / "out")
                report_times.append(elapsed)
        finally:
            store.close()
    sql_best, rep_best = min(sql_times), min(report_times)
    print(f"{date.today()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
          f"load average {os.getloadavg()[0]:.2f}")
    filled = f"filled in {fill_s:.1f} s ({total / fill_s:,.0f} rows/s)" if fill_s else "reused"
    print(f"store: {total:,} records ({SITES} sites × {WEEKS} weeks), {filled}")
    print(f"weekly report of {SITE}, {WEEK}: {site_week:,} records, {stats['requests']:,} counted, "
          f"{stats['audience']['bots']['requests']:,} from {len(bots):,} bot user agents")
    runs = ", ".join(f"{t:.3f}" for t in sql_times)
    print(f"bare SQL ({len(each[0])} statements): best {sql_best:.3f} s of {args.repeat} ({runs})")
    print("  per statement, best: " + ", ".join(f"{k} {min(e[k] for e in each):.3f}" for k in each[0]))
    runs = ", ".join(f"{t:.3f}" for t in report_times)
    print(f"report (stats + HTML/CSV/XLSX/JSON): best {rep_best:.3f} s ({runs})")
    print(f"once per process: bot list and uap-core regexes compiled in {setup_s:.3f} s")
    print(f"report / bare SQL: {rep_best / sql_best:.2f}x (target ≤ 1.5x); report ≤ 1 s: {rep_best <= 1}")


if __name__ == "__main__":
    main()
