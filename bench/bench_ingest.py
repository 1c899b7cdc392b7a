"""Benchmark: end-to-end log ingest (scan + parse + insert + aggregates) in lines/s.

Run on demand (not part of the test suite):

    .venv/bin/python bench/bench_ingest.py --lines 5000000

Generates N nginx-cdn lines (combined + host + cache status + time taken, gzip), then
in the same run measures:
  * cdnctl, ClickHouse engine (parsing inside chDB) — the default for the embedded store;
  * cdnctl, pure-Python reference engine (on --python-lines lines, same format);
  * GoAccess (Debian package, when installed) on the same file, as an outside baseline.
Ratios are computed between figures of this run only.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loggest.formats import resolve_format
from loggest.ingest import IngestOptions, ingest
from loggest.sources.local import local_files
from loggest.store import open_store
from loggest.synth import CACHE, PATHS, STATUS, UAS

SITE = "www.bench.gouv.fr"


def generate(path: Path, n: int, seed: int = 7) -> None:
    """Fast generator: precomputed pieces, one timestamp per second of one day."""
    rnd = random.Random(seed)
    stamps = [
        f"25/Apr/2027:{h:02d}:{m:02d}:{s:02d} +0200" for h in range(24) for m in range(60) for s in range(60)
    ]
    ips = [f"192.0.{rnd.randrange(256)}.{rnd.randrange(256)}" for _ in range(50_000)]
    ips += [f"2001:db8::{rnd.randrange(65536):x}" for _ in range(5_000)]
    tails = [
        f'" {st} {rnd.randrange(100, 200_000)} "{ref}" "{ua}" "{SITE}" {c} '
        f"{rnd.randrange(0, 3000) / 1000:.3f}\n"
        for st in STATUS
        for ref in ("-", f"https://{SITE}/")
        for ua in UAS
        for c in CACHE
    ]
    with gzip.open(path, "wt", compresslevel=1) as f:
        block: list[str] = []
        for i in range(n):
            block.append(
                f"{ips[rnd.randrange(len(ips))]} - - [{stamps[i * 86400 // n]}] "
                f'"GET {PATHS[i % len(PATHS)]} HTTP/1.1{tails[rnd.randrange(len(tails))]}'
            )
            if len(block) == 100_000:
                f.write("".join(block))
                block = []
        f.write("".join(block))


def run_cdnctl(log_dir: Path, db: Path, engine: str) -> tuple[float, int, int]:
    store = open_store(f"chdb://{db}")
    try:
        opts = IngestOptions(resolve_format("nginx-cdn"), engine=engine)
        t0 = time.perf_counter()
        report = ingest(store, local_files([log_dir], settle=0), opts)
        elapsed = time.perf_counter() - t0
        requests = sum(r["requests"] for r in store.daily())
    finally:
        store.close()
    return elapsed, report.lines, requests


def run_goaccess(path: Path) -> float | None:
    exe = shutil.which("goaccess")
    if exe is None:
        return None
    fmt = '%h %^[%d:%t %^] "%r" %s %b "%R" "%u" "%v" %C %T'
    out = path.parent / "goaccess.json"
    t0 = time.perf_counter()
    with subprocess.Popen(["zcat", str(path)], stdout=subprocess.PIPE) as zcat:
        subprocess.run(
            [
                exe,
                "-",
                "--log-format",
                fmt,
                "--date-format",
                "%d/%b/%Y",
                "--time-format",
                "%H:%M:%S",
                "-o",
                str(out),
                "--no-progress",
            ],
            stdin=zcat.stdout,
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--python-lines", type=int, default=200_000)
    ap.add_argument("--no-goaccess", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="Work directory to keep (default: a temp dir).")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    big, small = work / "big", work / "small"
    big.mkdir(exist_ok=True)
    small.mkdir(exist_ok=True)
    big_file = big / f"{SITE}_2027-04-25.log.gz"
    small_file = small / f"{SITE}_2027-04-25.log.gz"
    t0 = time.perf_counter()
    if not big_file.exists():
        generate(big_file, args.lines)
    if not small_file.exists():
        generate(small_file, args.python_lines)
    print(
        f"generated {args.lines:,} + {args.python_lines:,} lines in {time.perf_counter() - t0:.1f}s "
        f"({big_file.stat().st_size / 1e6:.0f} MB gzip)"
    )
    results: list[tuple[str, int, float]] = []
    for db in (work / "ch.db", work / "py.db"):
        shutil.rmtree(db, ignore_errors=True)
    el, n, req = run_cdnctl(big, work / "ch.db", "clickhouse")
    assert n == args.lines and req == args.lines, (n, req)
    results.append(("cdnctl, ClickHouse engine (chDB)", n, el))
    el, n, req = run_cdnctl(small, work / "py.db", "python")
    assert n == args.python_lines and req == args.python_lines, (n, req)
    results.append(("cdnctl, pure-Python reference engine", n, el))
    if not args.no_goaccess:
        ga = run_goaccess(big_file)
        if ga is not None:
            results.append(("GoAccess (Debian), same file", args.lines, ga))
    base = {name: n / el for name, n, el in results}
    ch = base["cdnctl, ClickHouse engine (chDB)"]
    print(
        f"\n{date.today()} · {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"
    )
    print("| method | lines | seconds | lines/s | ClickHouse engine is |")
    print("|---|---:|---:|---:|---:|")
    for name, n, el in results:
        ratio = "—" if name.startswith("cdnctl, ClickHouse") else f"{ch / (n / el):.1f}×"
        print(f"| {name} | {n:,} | {el:.2f} | {n / el:,.0f} | {ratio} |")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
