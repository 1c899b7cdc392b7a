"""CLI start-up benchmark (issue 10): wall time of light `cdnctl` commands in fresh processes.

    .venv/bin/python bench/bench_startup.py [--runs 10] [--goal 0.25]

Each command runs ``--runs`` times in a new process (round robin over the commands, so
background load hits them alike); the figure is the median wall time, stdout discarded.
Baseline, measured in the same run: ``python -c 'import click'``, the floor of any click
CLI (interpreter start-up + click). The goal (< 0.25 s) is for ``cdnctl --help`` and
``cdnctl explain``; ``cdnctl logs --help`` is reported for information.

Two bytecode modes, because this machine sets PYTHONDONTWRITEBYTECODE=1 and the work
tree has no ``__pycache__``: "pyc" (compiled modules cached in a private
PYTHONPYCACHEPREFIX after a warm-up run, as for an installed package) and "source"
(PYTHONDONTWRITEBYTECODE=1, no cache: the project's modules are compiled at every start;
site-packages keep the .pyc files pip wrote).

The `cdnctl` measured is the one beside this interpreter; to measure another tree (e.g.
the code before a change) set PYTHONPATH to it — the file actually loaded is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "sites"
CDNCTL = str(Path(sys.executable).parent / "cdnctl")

BASELINE = "python -c 'import click'"
COMMANDS: dict[str, list[str]] = {
    BASELINE: [sys.executable, "-c", "import click"],
    "cdnctl --help": [CDNCTL, "--help"],
    "cdnctl explain (examples/sites)": [
        CDNCTL, "--policy-dir", str(EXAMPLES), "explain", "--site", "www.interieur.gouv.fr",
        "--path", "/actualites/2027/communique.html", "--content-type", "text/html; charset=utf-8"],
    "cdnctl logs --help": [CDNCTL, "logs", "--help"],
}
GOAL_COMMANDS = ("cdnctl --help", "cdnctl explain (examples/sites)")


def environment(mode: str, cache_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    if mode == "pyc":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache_dir
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return elapsed


def measure(mode: str, runs: int, cache_dir: str) -> dict[str, list[float]]:
    env = environment(mode, cache_dir)
    for argv in COMMANDS.values():  # warm-up: fills the pyc cache and the OS page cache
        run_once(argv, env)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            times[name].append(run_once(argv, env))
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--goal", type=float, default=0.25, help="seconds, median wall time")
    ap.add_argument("--mode", choices=("pyc", "source", "both"), default="both")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as cache_dir:
        where = subprocess.run([sys.executable, "-c", "import cdnctl.cli; print(cdnctl.cli.__file__)"],
                               env=environment("pyc", cache_dir), cwd=cache_dir, capture_output=True,
                               text=True, check=True).stdout.strip()
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"cdnctl: {CDNCTL} (cdnctl.cli from {where})")
        print(f"{args.runs} runs per command, median wall time; goal < {args.goal:.2f} s for "
              f"{' and '.join(GOAL_COMMANDS)}")
        modes = ("pyc", "source") if args.mode == "both" else (args.mode,)
        ok = True
        for mode in modes:
            times = measure(mode, args.runs, cache_dir)
            floor = statistics.median(times[BASELINE])
            print(f"\nbytecode: {mode}")
            print(f"{'command':<34} {'median':>8} {'min':>8} {'max':>8} {'x floor':>8}  goal")
            for name, values in times.items():
                median = statistics.median(values)
                verdict = ""
                if name in GOAL_COMMANDS:
                    passed = median < args.goal
                    ok &= passed
                    verdict = "pass" if passed else "FAIL"
                elif name == BASELINE:
                    verdict = "(baseline)"
                print(f"{name:<34} {median:>7.3f}s {min(values):>7.3f}s {max(values):>7.3f}s "
                      f"{median / floor:>7.1f}x  {verdict}")
        print(f"\n{'PASS' if ok else 'FAIL'}: goal < {args.goal:.2f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
