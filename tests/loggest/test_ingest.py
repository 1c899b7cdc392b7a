"""SPEC §4 exactly-once rules, through the library (both engines)."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest

from loggest.formats import resolve_format
from loggest.ingest import IngestOptions, IngestReport, ingest
from loggest.pseudo import Pseudonymiser
from loggest.sources.local import local_files
from loggest.store import ClickHouseStore
from loggest.synth import nginx_cdn_lines, write_log

SITE = "www.example.gouv.fr"
ENGINES = ["clickhouse", "python"]


def run(store: ClickHouseStore, *paths: Path, engine: str = "clickhouse", replay: bool = False,
        settle: float = 0, fmt: str = "nginx-cdn", site: str | None = None,
        pseudo: Pseudonymiser | None = None) -> IngestReport:
    opts = IngestOptions(resolve_format(fmt), site=site, replay=replay, engine=engine, pseudo=pseudo)
    return ingest(store, local_files(list(paths), settle), opts)


def totals(store: ClickHouseStore) -> tuple[int, int, int, int]:
    rec = store.rows("SELECT count(), sum(bytes) FROM records")[0]
    daily = store.rows("SELECT sum(requests), sum(bytes) FROM daily FINAL")[0]
    return int(rec[0]), int(rec[1] or 0), int(daily[0] or 0), int(daily[1] or 0)


def day_file(d: Path, day: str, n: int = 50, seed: int = 1, gz: bool = True) -> Path:
    from datetime import UTC, datetime

    start = datetime.fromisoformat(day).replace(hour=1, tzinfo=UTC)
    name = f"{SITE}_{day}.log" + (".gz" if gz else "")
    return write_log(d / name, [s for s in nginx_cdn_lines(n, SITE, start, seed)][: n], gz)


@pytest.mark.parametrize("engine", ENGINES)
def test_ingest_then_skip_same_checksum(store: ClickHouseStore, logs_dir: Path, engine: str) -> None:
    day_file(logs_dir, "2027-04-25", 200)
    first = run(store, logs_dir, engine=engine)
    assert [f.status for f in first.files] == ["ingested"] and first.records == 200
    before = totals(store)
    assert before[0] == before[2] == 200 and before[1] == before[3]
    again = run(store, logs_dir, engine=engine)
    assert again.files[0].status == "skipped" and "already ingested" in again.files[0].reason
    # the same content under another name is the same file
    (logs_dir / "copy.log.gz").write_bytes((logs_dir / f"{SITE}_2027-04-25.log.gz").read_bytes())
    third = run(store, logs_dir, engine=engine)
    assert [f.status for f in third.files] == ["skipped", "skipped"]
    assert totals(store) == before


@pytest.mark.parametrize("engine", ENGINES)
def test_corrupt_and_truncated_refused_whole_next_files_proceed(store: ClickHouseStore, logs_dir: Path,
                                                                 engine: str) -> None:
    good = day_file(logs_dir, "2027-04-25", 100)
    raw = gzip.compress(b"".join(s.encode() + b"\n" for s in nginx_cdn_lines(3000, SITE)))
    (logs_dir / f"{SITE}_2027-04-23.log.gz").write_bytes(raw[: len(raw) // 2])          # truncated gzip
    bad = bytearray(raw)
    bad[len(bad) // 2] ^= 0xFF
    (logs_dir / f"{SITE}_2027-04-24.log.gz").write_bytes(bytes(bad))                     # corrupt gzip
    (logs_dir / f"{SITE}_2027-04-26.log").write_bytes(b"\n".join(s.encode() for s in nginx_cdn_lines(5, SITE)))
    report = run(store, logs_dir, engine=engine)
    status = {f.name: (f.status, f.reason) for f in report.files}
    assert status[good.name][0] == "ingested"
    assert status[f"{SITE}_2027-04-23.log.gz"][0] == "refused"
    assert "truncated gzip" in status[f"{SITE}_2027-04-23.log.gz"][1]
    assert status[f"{SITE}_2027-04-24.log.gz"][0] == "refused"
    assert "gzip" in status[f"{SITE}_2027-04-24.log.gz"][1]
    assert status[f"{SITE}_2027-04-26.log"] == (
        "refused", "truncated: the last line has no newline (file cut or still being written)")
    assert totals(store)[0] == totals(store)[2] == 100                                    # nothing of the refused
    assert {e.name for e in store.files("refused")} == {f"{SITE}_2027-04-2{i}.log" + (".gz" if i < 6 else "")
                                                         for i in (3, 4, 6)}


def test_empty_file_is_valid_and_counts_as_a_day(store: ClickHouseStore, logs_dir: Path) -> None:
    day_file(logs_dir, "2027-04-24", 10)
    (logs_dir / f"{SITE}_2027-04-25.log").write_bytes(b"")
    (logs_dir / f"{SITE}_2027-04-26.log.gz").write_bytes(gzip.compress(b""))
    day_file(logs_dir, "2027-04-27", 10)
    report = run(store, logs_dir)
    assert [f.status for f in report.files] == ["ingested"] * 4
    assert report.alarms == []
    assert [(f.lines, f.records) for f in report.files][1:3] == [(0, 0), (0, 0)]


def test_missing_day_raises_an_alarm(store: ClickHouseStore, logs_dir: Path) -> None:
    for day in ("2027-04-20", "2027-04-21", "2027-04-24", "2027-04-26"):
        day_file(logs_dir, day, 5)
    report = run(store, logs_dir)
    assert report.alarms == [f"{SITE}: no log file for 2027-04-22..2027-04-23 (files present 2027-04-20..2027-04-26)",
                             f"{SITE}: no log file for 2027-04-25 (files present 2027-04-20..2027-04-26)"]
    from loggest.ingest import site_status

    (status,) = site_status(store)
    assert status["days_missing"] == ["2027-04-22..2027-04-23", "2027-04-25"] and status["days_present"] == 4


@pytest.mark.parametrize("engine", ENGINES)
def test_replay_replaces_rows(store: ClickHouseStore, logs_dir: Path, engine: str) -> None:
    path = day_file(logs_dir, "2027-04-25", 100)
    run(store, logs_dir, engine=engine)
    before = totals(store)
    report = run(store, logs_dir, engine=engine, replay=True)
    assert report.files[0].status == "replayed"
    assert totals(store) == before
    # a changed delivery under the same name: refused unless --replay, then replaces the old rows
    day_file(logs_dir, "2027-04-25", 40, seed=9)
    refused = run(store, logs_dir, engine=engine)
    assert refused.files[0].status == "refused" and "--replay" in refused.files[0].reason
    assert totals(store) == before
    replaced = run(store, logs_dir, engine=engine, replay=True)
    assert replaced.files[0].status == "replayed"
    after = totals(store)
    assert after[0] == after[2] == 40 and after[1] == after[3]
    assert [e.status for e in store.files_by_name(path.name)] and {
        e.status for e in store.files_by_name(path.name)} == {"replaced", "done"}


def test_file_being_written_is_not_read(store: ClickHouseStore, logs_dir: Path) -> None:
    path = day_file(logs_dir, "2027-04-25", 10)
    report = run(store, logs_dir, settle=60)
    assert report.files[0].status == "pending" and "may still be being written" in report.files[0].reason
    assert totals(store)[0] == 0
    (logs_dir / (path.name + ".done")).write_text("")                 # a completion marker makes it ready
    report = run(store, logs_dir, settle=60)
    assert [f.status for f in report.files] == ["ingested"]
    old = time.time() - 120
    other = day_file(logs_dir, "2027-04-26", 10)
    os.utime(other, (old, old))                                       # unchanged for long enough
    assert [f.status for f in run(store, logs_dir, settle=60).files] == ["skipped", "ingested"]


@pytest.mark.parametrize("engine", ENGINES)
def test_quarantine_has_file_line_reason(store: ClickHouseStore, logs_dir: Path, engine: str) -> None:
    lines = [*list(nginx_cdn_lines(5, SITE)), "not a log line", "ÿ bad"]
    write_log(logs_dir / f"{SITE}_2027-04-25.log", lines)
    report = run(store, logs_dir, engine=engine)
    assert (report.records, report.quarantined) == (5, 2)
    rows = store.rows("SELECT file, line_no, reason, raw FROM quarantine ORDER BY line_no")
    assert rows == [(f"{SITE}_2027-04-25.log", 6, "does not match the format", "not a log line"),
                    (f"{SITE}_2027-04-25.log", 7, "does not match the format", "\xff bad")]


def test_format_without_host_uses_site(store: ClickHouseStore, logs_dir: Path) -> None:
    write_log(logs_dir / "access.log", list(nginx_cdn_lines(7, SITE, combined=True)))
    report = run(store, logs_dir, fmt="combined", site="www.x.gouv.fr")
    assert report.records == 7
    assert store.rows("SELECT DISTINCT site FROM records") == [("www.x.gouv.fr",)]


@pytest.mark.parametrize("engine", ENGINES)
def test_pseudonymisation_at_ingest(store: ClickHouseStore, logs_dir: Path, engine: str) -> None:
    day_file(logs_dir, "2027-04-25", 30)
    run(store, logs_dir, engine=engine, pseudo=Pseudonymiser("hmac", b"k" * 32))
    clients = [c for (c,) in store.rows("SELECT client FROM records")]
    assert clients and all(c.startswith("h:") and len(c) == 18 for c in clients)
    assert store.rows("SELECT sum(visitors) FROM daily FINAL")[0][0] > 0


def test_engines_store_identical_rows(store: ClickHouseStore, logs_dir: Path, tmp_path: Path) -> None:
    lines = [*list(nginx_cdn_lines(300, SITE, seed=3)), 'bad "line', 'x - - [x] "GET / HTTP/1.1" 200 1 "-"']
    write_log(logs_dir / "a.log.gz", lines)
    other = tmp_path / "b"
    other.mkdir()
    write_log(other / "b.log.gz", [*lines, "extra line makes another checksum"])
    run(store, logs_dir, engine="clickhouse")
    run(store, other, engine="python")
    cols = "time, tz_offset, site, client, method, path, query, protocol, status, bytes, referer, user_agent, " \
           "cache_status, cache_class, time_taken_us, edge, line_no"
    a = store.rows(f"SELECT {cols} FROM records WHERE file_id = (SELECT file_id FROM files FINAL "
                   "WHERE name = 'a.log.gz') ORDER BY line_no")
    b = store.rows(f"SELECT {cols} FROM records WHERE file_id = (SELECT file_id FROM files FINAL "
                   "WHERE name = 'b.log.gz') ORDER BY line_no")
    assert len(a) == 300 and a == b
    qa = store.rows("SELECT line_no, reason FROM quarantine WHERE file = 'a.log.gz' ORDER BY line_no")
    qb = store.rows("SELECT line_no, reason FROM quarantine WHERE file = 'b.log.gz' ORDER BY line_no")
    assert qa == qb[:2] and len(qb) == 3


def test_retention_is_configurable_but_at_least_six_months(store_url: str) -> None:
    from loggest.store import StoreError, open_store
    from loggest.store.schema import LATEST

    with open_store(store_url, 24) as st:
        assert st.retention_months() == 24
    with open_store(store_url) as st:
        assert st.retention_months() == 24 and st.schema_version() == LATEST
    with pytest.raises(StoreError, match="at least 6 months"):
        open_store(store_url, 3)


def test_file_names_with_glob_characters(store: ClickHouseStore, logs_dir: Path) -> None:
    write_log(logs_dir / "edge*[1]{a,b}?.log", list(nginx_cdn_lines(6, SITE)))
    report = run(store, logs_dir)
    assert [(f.status, f.records) for f in report.files] == [("ingested", 6)]


def test_server_url_unreachable_is_a_clean_error() -> None:
    import socket

    from loggest.store import StoreError, open_store

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError, match=f"cannot open store http://u:p@127.0.0.1:{port}/logs"):
        open_store(f"http://u:p@127.0.0.1:{port}/logs")
    with pytest.raises(StoreError, match="use chdb:///PATH"):
        open_store("sqlite:///x")


@pytest.mark.parametrize("engine", ENGINES)
def test_huge_bad_line_is_quarantined_cut_not_lost(store: ClickHouseStore, logs_dir: Path, engine: str) -> None:
    from loggest.store.schema import RAW_MAX

    huge = "x" * 1_000_000
    write_log(logs_dir / "big.log", [*nginx_cdn_lines(3, SITE), huge, "\x00\x00 nul"])
    report = run(store, logs_dir, engine=engine)
    assert (report.records, report.quarantined) == (3, 2)
    rows = store.rows("SELECT line_no, length(raw), reason FROM quarantine ORDER BY line_no")
    assert rows == [(4, RAW_MAX, "line longer than the limit of 65536 bytes (--max-line-bytes): 1000000 bytes"),
                    (5, 6, "does not match the format")]
