"""Delivery faults (issue: exactly once under every fault): a file's identity is its
location and content, never its base name; both engines refuse the same damaged files;
an interrupted replay converges and every view agrees."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.formats import resolve_format
from loggest.ingest import IngestOptions, ingest
from loggest.sources.local import local_files
from loggest.store import ClickHouseStore, open_store
from loggest.synth import nginx_cdn_lines, write_log

SITE = "www.example.gouv.fr"
ENGINES = ["clickhouse", "python"]
DAY = datetime(2027, 4, 25, 1, tzinfo=UTC)


def run(*args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    result = CliRunner().invoke(cli, ["logs", "ingest", "--settle", "0", "--format", "nginx-cdn", "--json",
                                      *args])
    return result.exit_code, json.loads(result.stdout), result.stderr


def views(store_url: str) -> tuple[int, int, int]:
    """(records stored, requests in the daily aggregates, records in the manifest of done files)."""
    with open_store(store_url) as st:
        records = st.rows("SELECT count() FROM records")[0][0]
        daily = st.rows("SELECT sum(requests) FROM daily FINAL")[0][0]
        manifest = sum(e.records for e in st.files("done"))
    return int(records), int(daily or 0), manifest


@pytest.mark.parametrize("engine", ENGINES)
def test_two_edges_may_deliver_the_same_name(store_url: str, tmp_path: Path, engine: str) -> None:
    for edge in ("edge1", "edge2"):
        (tmp_path / edge).mkdir()
    a = write_log(tmp_path / "edge1" / "access.log-2027-04-25.gz", list(nginx_cdn_lines(500, SITE, DAY, seed=1)))
    b = write_log(tmp_path / "edge2" / "access.log-2027-04-25.gz", list(nginx_cdn_lines(600, SITE, DAY, seed=2)))
    code, data, _ = run("--store", store_url, "--engine", engine, str(a.parent), str(b.parent))
    assert code == 0, data
    assert [f["status"] for f in data["files"]] == ["ingested", "ingested"]
    assert views(store_url) == (1100, 1100, 1100)
    # --replay of one edge's file replaces exactly its rows
    code, data, _ = run("--store", store_url, "--engine", engine, "--replay", str(b))
    assert code == 0 and data["files"][0]["status"] == "replayed"
    assert views(store_url) == (1100, 1100, 1100)
    # a plain re-run skips both
    code, data, _ = run("--store", store_url, "--engine", engine, str(a.parent), str(b.parent))
    assert code == 0 and [f["status"] for f in data["files"]] == ["skipped", "skipped"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_file_that_changed_after_ingest_says_so(store_url: str, logs_dir: Path, engine: str) -> None:
    path = write_log(logs_dir / f"{SITE}_2027-04-25.log", list(nginx_cdn_lines(200, SITE, DAY, seed=1)))
    old_size = path.stat().st_size
    assert run("--store", store_url, "--engine", engine, str(path))[0] == 0
    write_log(path, list(nginx_cdn_lines(600, SITE, DAY, seed=1)))
    code, data, _ = run("--store", store_url, "--engine", engine, str(path))
    reason = data["files"][0]["reason"]
    assert code == 3 and data["files"][0]["status"] == "refused"
    assert "changed after ingest" in reason and f"{old_size:,} bytes" in reason
    assert f"now {path.stat().st_size:,} bytes" in reason and "--replay" in reason
    assert views(store_url) == (200, 200, 200)
    code, data, _ = run("--store", store_url, "--engine", engine, "--replay", str(path))
    assert code == 0 and data["files"][0]["status"] == "replayed"
    assert views(store_url) == (600, 600, 600)


def _cut_last_line_gzip(path: Path) -> Path:
    lines = list(nginx_cdn_lines(1000, SITE, DAY, seed=3))
    path.write_bytes(gzip.compress(("\n".join(lines)).encode()))   # no newline after the last line
    return path


def _gzip_of_garbage(path: Path) -> Path:
    path.write_bytes(gzip.compress(os.urandom(200_000) + b"\n"))
    return path


def _truncated_gzip(path: Path) -> Path:
    data = gzip.compress("".join(x + "\n" for x in nginx_cdn_lines(2000, SITE, DAY, seed=4)).encode())
    path.write_bytes(data[: len(data) // 2])
    return path


def _two_members_cut(path: Path) -> Path:
    one = gzip.compress("".join(x + "\n" for x in nginx_cdn_lines(10, SITE, DAY, seed=5)).encode())
    two = gzip.compress("\n".join(nginx_cdn_lines(10, SITE, DAY, seed=6)).encode())
    path.write_bytes(one + two)
    return path


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("make", "why"), [
    (_cut_last_line_gzip, "the last line has no newline"),
    (_gzip_of_garbage, "no record"),
    (_truncated_gzip, "gzip"),
    (_two_members_cut, "the last line has no newline"),
])
def test_both_engines_refuse_the_same_damaged_files(store_url: str, logs_dir: Path, engine: str,
                                                    make, why: str) -> None:  # type: ignore[no-untyped-def]
    path = make(logs_dir / f"{SITE}_2027-04-25.log.gz")
    good = write_log(logs_dir / f"{SITE}_2027-04-26.log.gz", list(nginx_cdn_lines(10, SITE, seed=7)))
    code, data, _ = run("--store", store_url, "--engine", engine, str(path), str(good))
    status = {f["name"]: f for f in data["files"]}
    assert code == 3
    assert status[path.name]["status"] == "refused" and why in status[path.name]["reason"]
    assert status[good.name]["status"] == "ingested"           # the next files proceed
    records, daily, manifest = views(store_url)
    assert records == daily == manifest == 10


def test_two_whole_gzip_members_are_one_valid_file(store_url: str, logs_dir: Path) -> None:
    one = gzip.compress("".join(x + "\n" for x in nginx_cdn_lines(10, SITE, DAY, seed=5)).encode())
    two = gzip.compress("".join(x + "\n" for x in nginx_cdn_lines(15, SITE, DAY, seed=6)).encode())
    path = logs_dir / f"{SITE}_2027-04-25.log.gz"
    path.write_bytes(one + two)
    code, data, _ = run("--store", store_url, str(path))
    assert code == 0 and data["files"][0]["records"] == 25


class Crash(BaseException):
    """Not an Exception: nothing in cdnctl catches it, like a power cut."""


@pytest.mark.parametrize("engine", ENGINES)
def test_an_interrupted_replay_converges_and_every_view_agrees(store_url: str, logs_dir: Path, engine: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_log(logs_dir / f"{SITE}_2027-04-25.log", list(nginx_cdn_lines(400, SITE, DAY, seed=1)))
    assert run("--store", store_url, "--engine", engine, str(path))[0] == 0
    write_log(path, list(nginx_cdn_lines(600, SITE, DAY, seed=2)))
    # the replay dies right after the old version's rows were removed (the new one loaded,
    # the manifest not yet updated)
    real = ClickHouseStore.delete_files

    def dying(self: ClickHouseStore, ids: list[int]) -> None:
        real(self, ids)
        if ids:
            raise Crash

    monkeypatch.setattr(ClickHouseStore, "delete_files", dying)
    st = open_store(store_url)
    with pytest.raises(Crash):
        ingest(st, local_files([path], 0), IngestOptions(resolve_format("nginx-cdn"), replay=True, engine=engine))
    st.close()
    monkeypatch.setattr(ClickHouseStore, "delete_files", real)
    # a plain re-run (no --replay) finishes what was started, and says so
    code, data, _ = run("--store", store_url, "--engine", engine, str(path))
    f = data["files"][0]
    assert code == 0 and f["status"] == "replayed" and "interrupted" in f["reason"]
    assert views(store_url) == (600, 600, 600)
    result = CliRunner().invoke(cli, ["report", "stats", "--store", store_url, "--site", SITE,
                                      "--from", "2027-04-25", "--to", "2027-04-26", "--json"])
    assert json.loads(result.stdout)["requests"] == 600


@pytest.mark.parametrize("engine", ENGINES)
def test_a_huge_line_costs_bounded_memory(store_url: str, logs_dir: Path, engine: str) -> None:
    """A line over --max-line-bytes is quarantined, cut, with its length, on both engines (the
    Python engine never holds it whole: peak RSS in bench/RESULTS.md)."""
    ok = list(nginx_cdn_lines(2, SITE, DAY, seed=1))
    path = logs_dir / f"{SITE}_2027-04-25.log.gz"
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write(ok[0] + "\n" + "A" * 30_000_000 + "\n" + ok[1] + "\n")
    code, data, _ = run("--store", store_url, "--engine", engine, str(path))
    f = data["files"][0]
    assert code == 0 and (f["records"], f["quarantined"], f["lines"]) == (2, 1, 3)
    with open_store(store_url) as st:
        assert st.rows("SELECT reason, length(raw) FROM quarantine") == [
            ("line longer than the limit of 65536 bytes (--max-line-bytes): 30000000 bytes", 8192)]


def test_past_its_memory_cap_the_clickhouse_engine_hands_the_file_to_python(
        store_url: str, logs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import loggest.chparse as chparse

    monkeypatch.setattr(chparse, "SETTINGS", {**chparse.SETTINGS, "max_memory_usage": 50_000_000})
    ok = list(nginx_cdn_lines(2, SITE, DAY, seed=1))
    path = logs_dir / f"{SITE}_2027-04-25.log.gz"
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write(ok[0] + "\n" + "A" * 60_000_000 + "\n" + ok[1] + "\n")
    code, data, _ = run("--store", store_url, "--engine", "clickhouse", str(path))
    f = data["files"][0]
    assert code == 0 and (f["records"], f["quarantined"], f["lines"]) == (2, 1, 3)
    assert f["engine"].startswith("python (the ClickHouse engine needed more than")
    assert views(store_url) == (2, 2, 2)


@pytest.fixture
def tiny_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 12 MB tmpfs for the store (root: CI runs as root, where this test must run)."""
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "tiny"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(where)], check=True)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_disk_full_is_a_clear_message_and_a_rerun_converges(tiny_disk: Path, logs_dir: Path) -> None:
    import subprocess

    for i in range(3):
        day = datetime(2027, 4, 25 + i, 1, tzinfo=UTC)
        write_log(logs_dir / f"{SITE}_{day.date()}.log.gz", list(nginx_cdn_lines(150_000, SITE, day, seed=i)))
    url = f"chdb://{tiny_disk / 's.chdb'}"
    code, data, err = run("--store", url, str(logs_dir))
    assert code == 1 and "Traceback" not in err
    assert "is out of disk space" in data["stopped"] and "run the same command again" in data["stopped"]
    assert data["files"][-1]["status"] == "failed"
    names = {f["name"] for f in data["files"]}
    assert data["not_attempted"] and not names & set(data["not_attempted"])
    assert len(names) + len(data["not_attempted"]) == 3
    subprocess.run(["mount", "-o", "remount,size=600m", str(tiny_disk)], check=True)
    code, data, _ = run("--store", url, str(logs_dir))
    assert code == 0, data
    assert views(url) == (450_000, 450_000, 450_000)


def test_a_busy_store_says_who_holds_it_and_nothing_else(store_url: str) -> None:
    import subprocess
    import sys

    cdnctl = Path(sys.executable).with_name("cdnctl")
    with open_store(store_url):
        out = subprocess.run([str(cdnctl), "logs", "status", "--store", store_url], capture_output=True, text=True,
                             timeout=60, check=False)
    assert out.returncode == 1
    assert out.stderr.strip() == (f"error: database {store_url[len('chdb://'):]} is in use by PID {os.getpid()} "
                                  "(one process at a time for an embedded store); wait for it or stop it")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_bad_redelivery_destroys_nothing(store_url: str, logs_dir: Path, engine: str) -> None:
    path = logs_dir / f"{SITE}_2027-04-25.log.gz"
    write_log(path, list(nginx_cdn_lines(300, SITE, DAY, seed=1)))
    assert run("--store", store_url, "--engine", engine, str(path))[0] == 0
    _truncated_gzip(path)                                  # the same location, now a cut gzip
    code, data, _ = run("--store", store_url, "--engine", engine, "--replay", str(path))
    assert code == 3 and data["files"][0]["status"] == "refused"
    assert views(store_url) == (300, 300, 300)             # the old version's rows are all there
    write_log(path, ["not a log line"] * 5)                # and now the wrong format
    code, data, _ = run("--store", store_url, "--engine", engine, "--replay", str(path))
    assert code == 3 and "no record" in data["files"][0]["reason"]
    assert views(store_url) == (300, 300, 300)
