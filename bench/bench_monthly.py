"""Benchmark: the monthly report (QS-01..QS-07 + every site's traffic) for 50 sites.

Run on demand (not part of the test suite):

    .venv/bin/python bench/bench_monthly.py --records 10000000

Fills a fresh chDB store inside ClickHouse (``INSERT … SELECT … FROM numbers``): N records
over 50 sites in April 2026, a probe a minute for every site all month (2,160,000 probe
rows, a few failing runs), one delivered file per site and day in the manifest, the
daily aggregates, and a few incidents and changes. Then, best of --repeat, in the same
run:

  * baseline: the bare SQL the report's statistics send — ``reports.metrics`` statements
    for each of the 50 sites, the probe spans and failures, the daily rows — through the
    client, results discarded (the floor);
  * the report: ``cdnctl report monthly --month 2026-04`` in process (click), writing
    HTML, CSV, XLSX and JSON.

Target (issue 12): monthly report for 50 sites under 5 s.
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

from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.store import open_store
from reports import metrics
from reports.qs import history_window
from reports.store import ClickHouseRegisterStore

SITES = 50
START = datetime(2026, 3, 31, 22, tzinfo=UTC)  # 1 April 00:00 Paris
SECONDS = 30 * 86400
AS_OF = "2026-05-15T00:00:00+02:00"


def site_expr(col: str) -> str:
    return f"concat('www.site', toString({col} % {SITES}), '.gouv.fr')"


def fill(store: object, n: int) -> float:
    c = store.client  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    c.command(
        f"""
        INSERT INTO records (time, tz_offset, site, client, method, path, query, protocol, status, bytes,
                             referer, user_agent, cache_status, cache_class, time_taken_us, edge, file_id,
                             line_no)
        SELECT toDateTime({int(START.timestamp())} + cityHash64(number, 1) % {SECONDS}, 'UTC'), 120,
               {site_expr("number")},
               concat('192.0.', toString(cityHash64(number, 2) % 256), '.',
                      toString(cityHash64(number, 3) % 256)),
               'GET', concat('/page', toString(cityHash64(number, 4) % 500),
                             ['', '.html', '.css', '.png', '/'][1 + cityHash64(number, 15) % 5]),
               NULL, 'HTTP/1.1', [200, 200, 200, 200, 304, 301, 404, 503][1 + cityHash64(number, 5) % 8],
               cityHash64(number, 6) % 200000,
               if(cityHash64(number, 11) % 3 = 0, 'https://www.google.com/', NULL),
               ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
                'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
                'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15'][
                   1 + cityHash64(number, 16) % 3],
               ['HIT', 'HIT', 'MISS', 'PASS'][1 + cityHash64(number, 8) % 4],
               ['hit', 'hit', 'miss', 'pass'][1 + cityHash64(number, 8) % 4],
               cityHash64(number, 9) % 3000000, NULL, 1 + number % {SITES * 30}, number
        FROM numbers({n})""",
        settings={"max_insert_threads": 2},
    )
    # a probe a minute per site; site k fails for k minutes on 10 April from 10:00 Paris
    minutes = 30 * 1440
    c.command(f"""
        INSERT INTO reg_probes (site, at, ok, status, duration_s, error, version, is_deleted)
        SELECT {site_expr("intDiv(number, " + str(minutes) + ")")},
               toDateTime64({int(START.timestamp())} + (number % {minutes}) * 60, 6, 'UTC'),
               NOT (number % {minutes} BETWEEN 13560 AND 13560 + intDiv(number, {minutes}) % {SITES}),
               200, 0.1, '', 1, 0
        FROM numbers({SITES * minutes})""")
    c.command(f"""
        INSERT INTO files (sha256, file_id, name, source, size, format, status, reason, lines, records,
                           quarantined, sites, file_day, days, engine, seconds, version)
        SELECT hex(cityHash64(number)), 1 + number, concat('edge_', toString(number), '.log'), '/logs', 1,
               'nginx-cdn', 'done', '', 0, 0, 0, [{site_expr("number")}],
               toDate('2026-04-01') + intDiv(number, {SITES}),
               [toDate('2026-04-01') + intDiv(number, {SITES})],
               'clickhouse', 0, 1
        FROM numbers({SITES * 30})""")
    regs = ClickHouseRegisterStore(c)
    del regs
    store.refresh_daily(
        [
            (f"www.site{k}.gouv.fr", date(2026, 4, d))
            for k in range(SITES)  # type: ignore[attr-defined]
            for d in range(1, 31)
        ]
    )
    return time.perf_counter() - t0


def bare_sql(store: object) -> float:
    c = store.client  # type: ignore[attr-defined]
    regs = ClickHouseRegisterStore(c, create=False)
    start, end = history_window(2026, 4)
    t0 = time.perf_counter()
    for k in range(SITES):
        for text, params in metrics.statements(
            [f"www.site{k}.gouv.fr"], date(2026, 4, 1), date(2026, 4, 30)
        ).values():
            c.query(text, parameters=params)
    regs.probe_spans(None, start, end)
    regs.probe_failures(None, start, end)
    store.daily(None, start.date(), end.date())  # type: ignore[attr-defined]
    return time.perf_counter() - t0


def report(url: str, out: Path) -> float:
    t0 = time.perf_counter()
    result = CliRunner().invoke(
        cli,
        ["report", "monthly", "--month", "2026-04", "--as-of", AS_OF, "--out", str(out)],
        env={"CDNCTL_CLICKHOUSE_URL": url, "CDNCTL_POLICY_DIR": "/none"},
    )
    took = time.perf_counter() - t0
    if result.exit_code not in (0, 3):
        raise SystemExit(f"report failed ({result.exit_code}): {result.output[-2000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"chdb://{tmp}/store"
        store = open_store(url)
        ClickHouseRegisterStore(store.client)
        filled = fill(store, args.records)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(
            f"filled {args.records:,} records, {SITES * 43200:,} probes, {SITES * 30} files in {filled:.1f} s"
        )
        bare = [bare_sql(store) for _ in range(args.repeat)]
        store.close()
        runs = [report(url, Path(tmp) / f"out{i}") for i in range(args.repeat)]
        best_bare, best = min(bare), min(runs)
        print(
            f"baseline (bare SQL of the 50 sites' statistics, probe spans/failures, daily rows): best "
            f"{best_bare:.2f} s ({', '.join(f'{b:.2f}' for b in bare)})"
        )
        print(
            f"report monthly, 50 sites, HTML/CSV/XLSX/JSON, in process: best {best:.2f} s "
            f"({', '.join(f'{r:.2f}' for r in runs)})"
        )
        print(f"report / baseline: {best / best_bare:.2f}x; under 5 s: {best < 5}")


if __name__ == "__main__":
    main()
