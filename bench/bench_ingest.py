"""Benchmark: end-to-end log ingest (scan + parse + insert + aggregates) in lines/s.

Run on demand (not part of the test suite):

    .venv/bin/python bench/bench_ingest.py --lines 300000 3000000

Generates nginx-cdn lines (combined + host + cache status + time taken, gzip), then in
the same run, for each size, measures one `cdnctl logs ingest` process end to end
(start-up and a new embedded store included) and GoAccess (Debian package) on the same
file, the named baseline; then the pure-Python reference engine on --python-lines lines.
Ratios are computed between figures of this run only.
"""

from __future__ import annotations

import argparse
import gzip
import json
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
    """One `cdnctl logs ingest` process, end to end (start-up, new store, checksum, parse,
    insert, aggregates, manifest): wall seconds, lines and records it reports."""
    exe = Path(sys.executable).with_name("cdnctl")
    t0 = time.perf_counter()
    out = subprocess.run([str(exe), "logs", "ingest", "--store", f"chdb://{db}", "--format", "nginx-cdn",
                          "--engine", engine, "--settle", "0", "--json", str(log_dir)],
                         capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"cdnctl failed ({out.returncode}): {out.stderr[-2000:]}")
    totals = json.loads(out.stdout)["totals"]
    return elapsed, int(totals["lines"]), int(totals["records"])


def run_goaccess(path: Path) -> float | None:
    exe = shutil.which("goaccess")
    if exe is None:
        return None
    fmt = '%h %^[%d:%t %^] "%r" %s %b "%R" "%u" "%v" %C %T'
    out = path.parent.parent / f"goaccess-{path.parent.name}.json"   # not among the logs
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


GOALS = {300_000: (5.0, 0), 3_000_000: (10.0, 500_000)}   # lines → (× GoAccess, lines/s), issue #10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, nargs="+", default=[300_000, 3_000_000])
    ap.add_argument("--python-lines", type=int, default=200_000)
    ap.add_argument("--no-goaccess", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="Work directory to keep (default: a temp dir).")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, int, float, float | None]] = []
    for n in [*args.lines, args.python_lines]:
        d = work / f"lines-{n}"
        d.mkdir(exist_ok=True)
        path = d / f"{SITE}_2027-04-25.log.gz"
        if not path.exists():
            t0 = time.perf_counter()
            generate(path, n)
            mb = path.stat().st_size / 1e6
            print(f"generated {n:,} lines in {time.perf_counter() - t0:.1f}s ({mb:.0f} MB gzip)", flush=True)
    for n in args.lines:
        d = work / f"lines-{n}"
        db = work / f"ch-{n}.db"
        shutil.rmtree(db, ignore_errors=True)
        el, lines, records = run_cdnctl(d, db, "clickhouse")
        assert lines == records == n, (lines, records, n)
        ga = None if args.no_goaccess else run_goaccess(d / f"{SITE}_2027-04-25.log.gz")
        rows.append(("cdnctl logs ingest (ClickHouse engine)", n, el, ga))
        print(f"{n:,} lines: cdnctl {el:.2f}s, GoAccess {'—' if ga is None else f'{ga:.2f}s'}", flush=True)
    d = work / f"lines-{args.python_lines}"
    db = work / "py.db"
    shutil.rmtree(db, ignore_errors=True)
    py_s, lines, records = run_cdnctl(d, db, "python")
    assert lines == records == args.python_lines
    ch = next((r for r in rows if r[1] == args.python_lines), None)
    machine = f"{date.today()} · {platform.node()} · {os.cpu_count()} cores"
    machine += f" · Python {platform.python_version()}"
    print(f"\n{machine}")
    print("| lines | cdnctl s | cdnctl lines/s | GoAccess s (same file, same run) | cdnctl is × GoAccess "
          "| goal |")
    print("|---:|---:|---:|---:|---:|---|")
    for _name, n, el, ga in rows:
        ratio = ga / el if ga else None
        want = GOALS.get(n)
        ok = "—"
        if want and ratio:
            met = ratio >= want[0] and n / el >= want[1]
            ok = ("met" if met else "NOT met") + f" (≥ {want[0]:g}×"
            ok += f", ≥ {want[1]:,}/s)" if want[1] else ")"
        print(f"| {n:,} | {el:.2f} | {n / el:,.0f} | {'—' if ga is None else f'{ga:.2f}'} | "
              f"{'—' if ratio is None else f'{ratio:.1f}×'} | {ok} |")
    same = f"; the ClickHouse engine on the same count: {ch[2]:.2f}s" if ch else ""
    print(f"\npure-Python reference engine (`--engine python`), {args.python_lines:,} lines: {py_s:.2f}s, "
          f"{args.python_lines / py_s:,.0f} lines/s{same}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
