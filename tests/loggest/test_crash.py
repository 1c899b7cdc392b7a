"""After a crash at any point, re-running the same command converges to the data of a
clean run: nothing lost, nothing counted twice (SPEC §4).

In-process: a fault is injected before the Nth store call, for every N. Out of
process: `cdnctl logs ingest` is killed with SIGKILL at random moments, 20 times.
"""

from __future__ import annotations

import gzip
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from loggest.formats import resolve_format
from loggest.ingest import IngestOptions, ingest
from loggest.sources.local import local_files
from loggest.store import ClickHouseStore, open_store
from loggest.synth import nginx_cdn_lines, write_log

SITE = "www.example.gouv.fr"


class Crash(BaseException):
    """Not an Exception: nothing in cdnctl catches it, like a power cut."""


def make_logs(d: Path, sizes: list[int]) -> None:
    from datetime import UTC, datetime, timedelta

    for i, n in enumerate(sizes):
        day = datetime(2027, 4, 20, 1, tzinfo=UTC) + timedelta(days=i)
        lines = [*list(nginx_cdn_lines(n, SITE, day, seed=i)), "garbage line"]
        write_log(d / f"{SITE}_{day.date()}.log.gz", lines)


def snapshot(store: ClickHouseStore) -> dict[str, Any]:
    return {
        "records": store.rows("SELECT count(), sum(bytes), uniqExact(file_id, line_no) FROM records")[0],
        "quarantine": store.rows("SELECT count(), uniqExact(file_id, line_no) FROM quarantine")[0],
        "daily": store.rows("SELECT site, day, requests, bytes, hit, visitors, s5xx FROM daily FINAL "
                            "WHERE requests > 0 ORDER BY site, day"),
        "files": store.rows("SELECT name, status, lines, records, quarantined FROM files FINAL ORDER BY name"),
    }


def ingest_dir(store: ClickHouseStore, d: Path, engine: str) -> None:
    ingest(store, local_files([d], 0), IngestOptions(resolve_format("nginx-cdn"), engine=engine))


@pytest.mark.parametrize("engine", ["clickhouse", "python"])
def test_fault_before_every_store_call_converges(tmp_path: Path, engine: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    make_logs(logs, [120, 0, 80])
    with open_store(f"chdb://{tmp_path / 'clean.chdb'}") as st:
        ingest_dir(st, logs, engine)
        clean = snapshot(st)
    assert clean["records"][0] == 200 and clean["quarantine"][0] == 3
    with open_store(f"chdb://{tmp_path / 'faulty.chdb'}") as st:
        calls = {"n": 0, "at": 0}
        real_command, real_insert = st.command, st.client.insert

        def counted(real: Any) -> Any:
            def call(*a: Any, **k: Any) -> Any:
                calls["n"] += 1
                if calls["n"] == calls["at"]:
                    raise Crash(f"fault before store call {calls['at']}")
                return real(*a, **k)
            return call

        st.command = counted(real_command)  # type: ignore[method-assign]
        st.client.insert = counted(real_insert)
        crashed = 0
        for at in range(1, 200):
            calls["n"], calls["at"] = 0, at
            try:
                ingest_dir(st, logs, engine)
            except Crash:
                crashed += 1
                continue
            if calls["n"] < at:       # a run that reached no fault: nothing left to break
                break
        assert crashed >= 8
        calls["at"] = 0
        ingest_dir(st, logs, engine)
        assert snapshot(st) == clean


def _cdnctl(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "from cdnctl.cli import main; main()", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


@pytest.mark.slow
def test_kill_9_at_random_points_converges(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    make_logs(logs, [4_000, 0, 3_000, 2_000, 3_000])
    (logs / f"{SITE}_2027-04-25.log.gz").write_bytes(gzip.compress(b"truncated")[:-6])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = ["logs", "ingest", "--format", "nginx-cdn", "--settle", "0", str(logs)]
    clean_db, db = tmp_path / "clean.chdb", tmp_path / "killed.chdb"
    proc = _cdnctl([*args, "--store", f"chdb://{clean_db}"], env)
    assert proc.wait(120) == 3, proc.stderr.read() if proc.stderr else ""   # 3: the truncated file
    rnd = random.Random(4)
    kills = 0
    for run in range(20):      # every other run replays: each run has work left to interrupt
        proc = _cdnctl([*args, "--store", f"chdb://{db}", *(["--replay"] if run % 2 else [])], env)
        time.sleep(rnd.uniform(0.6, 1.4))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(60)
    assert kills >= 15
    proc = _cdnctl([*args, "--store", f"chdb://{db}"], env)
    assert proc.wait(120) == 3
    with open_store(f"chdb://{clean_db}") as st:
        clean = snapshot(st)
    with open_store(f"chdb://{db}") as st:
        assert snapshot(st) == clean
    assert clean["records"][0] == 12_000
