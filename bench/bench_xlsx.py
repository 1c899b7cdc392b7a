"""Benchmark: the XLSX and CSV exports of the 50-site monthly report (issue 12).

Run on demand (not part of the test suite):

    .venv/bin/python bench/bench_xlsx.py --records 200000

Makes the data of ``bench_monthly.py`` (its ``fill`` of a fresh chDB store, then ``cdnctl
report monthly`` once, whose JSON is read back), then, best of --repeat, in the same run:

  * baseline: ``render_xlsx`` and ``render_csv`` of ``reports/exports.py`` as it was at
    --baseline-rev (default: the last version writing the workbook with openpyxl), read
    from git;
  * now: the same functions as they are.

Both must agree (same sheets, same cell values, same CSV text): the run fails otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_monthly import fill, report  # noqa: E402

from loggest.store import open_store  # noqa: E402
from reports import exports  # noqa: E402
from reports.store import ClickHouseRegisterStore  # noqa: E402

OPENPYXL_REV = "7355ffddd6b7f8f63741a1ab810a3b4586fba9cf"


def monthly_data(records: int, tmp: Path) -> dict[str, Any]:
    url = f"chdb://{tmp}/store"
    store = open_store(url)
    ClickHouseRegisterStore(store.client)
    fill(store, records)
    store.close()
    report(url, tmp / "out")
    return json.loads(next((tmp / "out").glob("monthly-*.json")).read_text(encoding="utf-8"))


def baseline(rev: str) -> ModuleType:
    source = subprocess.run(["git", "show", f"{rev}:reports/exports.py"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    spec = importlib.util.spec_from_loader("reports._exports_baseline", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up
    exec(compile(source, f"{rev[:10]}:reports/exports.py", "exec"), module.__dict__)
    return module


def timed(run: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-rev", default=OPENPYXL_REV)
    args = ap.parse_args()
    old = baseline(args.baseline_rev)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data = monthly_data(args.records, tmp)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")
        a, b = tmp / "baseline.xlsx", tmp / "now.xlsx"
        runs = {
            "xlsx baseline": lambda: old.render_xlsx(data, a, "fr"),
            "xlsx now": lambda: exports.render_xlsx(data, b, "fr"),
            "csv baseline": lambda: old.render_csv(data, "fr"),
            "csv now": lambda: exports.render_csv(data, "fr"),
        }
        # interleaved, so that a busy spell of the machine hits both
        figures: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.repeat):
            for k, run in runs.items():
                figures[k].append(timed(run))
        before, now = cells(a), cells(b)
        if before != now or old.render_csv(data, "fr") != exports.render_csv(data, "fr"):
            raise SystemExit("the exports differ from the baseline's")
        n = sum(1 for rows in now.values() for row in rows[1:] for v in row if v is not None)
        print(f"data: {len(data['sites'])} sites, {len(now)} sheets, {n:,} non-empty cells, "
              f"{len(exports.rows(data)):,} CSV rows")
        print(f"baseline: reports/exports.py at {args.baseline_rev[:10]}")
        for k, ts in figures.items():
            print(f"{k}: best {min(ts):.3f} s ({', '.join(f'{t:.3f}' for t in ts)})")
        for what in ("xlsx", "csv"):
            ratio = min(figures[f"{what} baseline"]) / min(figures[f"{what} now"])
            print(f"{what} baseline / now: {ratio:.1f}x")
        print("agreement with the baseline: same sheets, same cell values, same CSV text")


if __name__ == "__main__":
    main()
