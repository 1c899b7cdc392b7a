"""Benchmark: peak memory (RSS) of one `cdnctl logs ingest` process per engine.

Run on demand (not part of the test suite):

    .venv/bin/python bench/bench_memory.py --long-mb 200 --ordinary-lines 5000000

Inputs, generated in the same run: one gzip holding a single line of --long-mb MB (plus
two ordinary lines), one gzip of --ordinary-lines ordinary nginx-cdn lines (5,000,000 is
about 1 GB uncompressed), and the named baseline, a 1,000-line file (the process with
next to no input: Python, chDB and a new store). Each row is one fresh process
(`resource.getrusage(RUSAGE_CHILDREN)` after it ends, so one process per measurement).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import SITE, generate

OK = f'192.0.2.2 - - [25/Apr/2027:21:00:00 +0200] "GET /x HTTP/1.1" 200 5 "-" "u" "{SITE}" HIT 0.1\n'


def long_line_file(path: Path, mb: int) -> None:
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write(OK)
        for _ in range(mb):
            f.write("A" * 1_000_000)
        f.write("\n" + OK)


def measure(directory: Path, engine: str, work: Path) -> tuple[float, float, dict[str, object]]:
    """(peak RSS MB, seconds, totals) of one ingest process on a new store."""
    db = work / f"store-{directory.name}-{engine}.db"
    shutil.rmtree(db, ignore_errors=True)
    exe = Path(sys.executable).with_name("cdnctl")
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # a child per measurement: ru_maxrss of RUSAGE_CHILDREN is then this one's
        with open(work / "out.json", "w") as out:
            os.dup2(out.fileno(), 1)
            argv = [str(exe), "logs", "ingest", "--store", f"chdb://{db}", "--format", "nginx-cdn",
                    "--engine", engine, "--settle", "0", "--json", str(directory)]
            os.execv(str(exe), argv)
    _pid, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"ingest of {directory} ({engine}) failed: exit {os.waitstatus_to_exitcode(status)}")
    totals = json.loads((work / "out.json").read_text())["totals"]
    return usage.ru_maxrss / 1024, elapsed, totals


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long-mb", type=int, default=200)
    ap.add_argument("--ordinary-lines", type=int, default=5_000_000)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    inputs = {"baseline (1,000 lines)": ("base", 1000), f"one {args.long_mb} MB line": ("long", 0),
              f"{args.ordinary_lines:,} ordinary lines": ("ordinary", args.ordinary_lines)}
    for name, n in inputs.values():
        d = work / name
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{SITE}_2027-04-25.log.gz"
        if not path.exists():
            long_line_file(path, args.long_mb) if name == "long" else generate(path, n)
    print(f"{date.today()} · {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    print("| input | engine | peak RSS MB | vs baseline | seconds | lines = records + quarantined |")
    print("|---|---|---:|---:|---:|---|")
    for engine in ("python", "clickhouse"):
        base = None
        for label, (name, _n) in inputs.items():
            if engine == "python" and name == "ordinary":
                continue                           # ~25,000 lines/s: minutes; its memory is flat
            rss, seconds, t = measure(work / name, engine, work)
            base = base or rss
            print(f"| {label} | {engine} | {rss:,.0f} | {rss / base:.2f}× | {seconds:.1f} | "
                  f"{t['lines']:,} = {t['records']:,} + {t['quarantined']:,} |", flush=True)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
