"""Benchmark: the weekly report of one site over a large embedded store, against its bare SQL.

Run on demand (not part of the test suite):

    .venv/bin/python bench/bench_reports.py --records 50000000

Fills a fresh chDB store (``records`` table of ``loggest.store``) with N records inside
ClickHouse (``INSERT … SELECT … FROM numbers(N)``: 10 sites, 8 weeks, diurnal-ish
times, Zipf-like paths, mixed statuses, cache classes and times taken), then in the
same run measures, best of --repeat:

  * bare SQL: the statements ``reports.metrics.stats`` sends for one site-week, run
    directly through the client (the floor);
  * the weekly report: ``metrics.stats`` + writing HTML (5 SVG charts), CSV, XLSX and
    JSON, as ``cdnctl report weekly`` does.

Targets (issue 7): report ≤ 5 s on 2 cores, and ≤ 1.5 × the bare SQL of the same run.
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
from reports import documents, metrics
from reports.calendar import day_end, day_start

SITES = 10
WEEKS = 8
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; the 8 weeks cross the DST change of 29 March
SITE = "www.site3.gouv.fr"
WEEK = "2026-W14"


def fill(client: object, n: int) -> float:
    seconds = WEEKS * 7 * 86400
    t0 = time.perf_counter()
    client.command(f"""
        INSERT INTO records (time, tz_offset, site, client, method, path, query, protocol, status,
                             bytes, referer, user_agent, cache_status, cache_class, time_taken_us, edge,
                             file_id, line_no)
        SELECT toDateTime({int(START.timestamp())} + (cityHash64(number, 1) % {seconds}), 'UTC'),
               120,
               concat('www.site', toString(number % {SITES}), '.gouv.fr'),
               concat('192.0.', toString(cityHash64(number, 2) % 256), '.',
                      toString(cityHash64(number, 3) % 256)),
               'GET',
               concat('/page', toString(toUInt32(1 / (0.0001 + (cityHash64(number, 4) % 10000) / 10000)))),
               NULL, 'HTTP/1.1',
               [200, 200, 200, 200, 200, 200, 304, 301, 404, 503][1 + cityHash64(number, 5) % 10],
               cityHash64(number, 6) % 200000,
               NULL,
               ['Mozilla/5.0', 'curl/8', 'Googlebot', 'Safari'][1 + cityHash64(number, 7) % 4],
               NULL,
               ['hit', 'hit', 'hit', 'miss', 'pass', 'error'][1 + cityHash64(number, 8) % 6],
               cityHash64(number, 9) % 3000000,
               NULL, 1, number
        FROM numbers({n})""", settings={"max_insert_threads": 2})
    return time.perf_counter() - t0


def bare_sql(client: object, first: date, last: date) -> float:
    """The statements ``metrics.stats`` sends, with the same parameters, results discarded."""
    sql = metrics.statements([SITE], first, last)
    t0 = time.perf_counter()
    for text, params in sql.values():
        client.query(text, parameters=params)
    return time.perf_counter() - t0


def report(client: object, first: date, last: date, out: Path) -> tuple[float, dict]:
    t0 = time.perf_counter()
    stats = metrics.stats(client, [SITE], first, last)
    data = documents.weekly_data({SITE: stats}, WEEK, datetime.now(UTC))
    documents.write_documents(data, out, "weekly", documents.FORMATS, "fr")
    return time.perf_counter() - t0, stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=50_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None,
                    help="Store directory kept between runs: filled once, reused when it has --records rows.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"chdb://{args.keep or Path(tmp) / 'bench'}")
        try:
            fill_s = None
            if store.rows("SELECT count() FROM records")[0][0] != args.records:
                store.command("TRUNCATE TABLE records")
                fill_s = fill(store.client, args.records)
                store.command("OPTIMIZE TABLE records FINAL")
            total = store.rows("SELECT count() FROM records")[0][0]
            first, last = documents.parse_week(WEEK)
            site_week = store.rows("SELECT count() FROM records WHERE site = {s:String} "
                                   "AND time >= {lo:DateTime} AND time < {hi:DateTime}",
                                   {"s": SITE, "lo": day_start(first), "hi": day_end(last)})[0][0]
            report(store.client, first, last, Path(tmp) / "out")  # warm-up: imports, matplotlib fonts
            sql_times, report_times = [], []
            for _ in range(args.repeat):
                sql_times.append(bare_sql(store.client, first, last))
                elapsed, stats = report(store.client, first, last, Path(tmp) / "out")
                report_times.append(elapsed)
        finally:
            store.close()
    sql_best, rep_best = min(sql_times), min(report_times)
    print(f"{date.today()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    filled = f"filled in {fill_s:.1f} s ({total / fill_s:,.0f} rows/s)" if fill_s else "reused"
    print(f"store: {total:,} records ({SITES} sites × {WEEKS} weeks), {filled}")
    print(f"weekly report of {SITE}, {WEEK}: {site_week:,} records, {stats['requests']:,} counted")
    runs = ", ".join(f"{t:.3f}" for t in sql_times)
    n = len(metrics.statements([SITE], first, last))
    print(f"bare SQL ({n} statements): best {sql_best:.3f} s of {args.repeat} ({runs})")
    runs = ", ".join(f"{t:.3f}" for t in report_times)
    print(f"report (stats + HTML/CSV/XLSX/JSON): best {rep_best:.3f} s ({runs})")
    print(f"report / bare SQL: {rep_best / sql_best:.2f}x (target ≤ 1.5x); report ≤ 5 s: {rep_best <= 5}")


if __name__ == "__main__":
    main()
