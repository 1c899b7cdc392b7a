"""Schema v4 (the rule column) migrates a store made at v3 in place: rows, quarantine, line
counts and aggregates kept, old rows with no rule (NULL), and the next ingest fills it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import loggest.store.clickhouse as ch_module
from loggest.formats import resolve_format
from loggest.ingest import IngestOptions, ingest
from loggest.sources.local import local_files
from loggest.store import open_store
from loggest.store.schema import LATEST, MIGRATIONS
from loggest.synth import nginx_cdn_lines, write_log

SITE = "www.a.gouv.fr"
V3_BUFFER = ["time", "tz_offset", "site", "client", "method", "path", "query", "protocol", "status", "bytes",
             "referer", "user_agent", "cache_status", "cache_class", "time_taken_us", "edge", "file_id",
             "line_no", "file", "reason", "raw", "kind", "line_bytes"]


def _v3_store(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store exactly as cdnctl at schema v3 left it, holding rows of every kind."""
    with monkeypatch.context() as m:
        m.setattr(ch_module, "MIGRATIONS", MIGRATIONS[:3])
        m.setattr(ch_module, "LATEST", 3)
        st = ch_module.ClickHouseStore.open(url)
        try:
            assert st.schema_version() == 3
            assert "rule" not in {r[0] for r in st.rows("SELECT name FROM system.columns WHERE "
                                                        "database = currentDatabase() AND table = 'records'")}
            t = datetime(2027, 4, 25, 10, tzinfo=UTC)
            rows = [[t, 120, SITE, "192.0.2.1", "GET", f"/p{i}", None, "HTTP/1.1", 200, 10, None, "UA",
                     "MISS" if i % 2 else "HIT", "miss" if i % 2 else "hit", 1000, None, 7, i + 1, "old.log",
                     "", "", "record", 100] for i in range(10)]
            rows.append([datetime(1970, 1, 1, tzinfo=UTC), 0, "", None, None, None, None, None, None, None,
                         None, None, None, None, None, None, 7, 11, "old.log", "does not match the format",
                         "garbage", "quarantine", 8])
            st.client.insert("ingest_buffer", rows, column_names=V3_BUFFER)
            st.refresh_daily([(SITE, t.date())])
        finally:
            st.close()


def test_v3_store_migrates_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"chdb://{tmp_path / 'store.chdb'}"
    _v3_store(url, monkeypatch)
    assert LATEST == 4
    st = open_store(url)
    try:
        assert st.schema_version() == 4
        assert st.rows("SELECT count(), countIf(rule IS NULL), countIf(cache_class = 'miss') FROM records") == [
            (10, 10, 5)]
        assert st.rows("SELECT line_no, reason FROM quarantine") == [(11, "does not match the format")]
        assert st.line_counts(7) == {"record": 10, "quarantine": 1, "directive": 0, "blank": 0, "old": 0}
        assert [(d["requests"], d["miss"]) for d in st.daily(SITE)] == [(10, 5)]
        types = dict(st.rows("SELECT table, type FROM system.columns WHERE database = currentDatabase() "
                             "AND name = 'rule' ORDER BY table"))
        assert types == dict.fromkeys(("ingest_buffer", "ingest_to_records", "records"),
                                      "LowCardinality(Nullable(String))")      # the view carries it
        assert st.migrate() == []                                       # applied once
    finally:
        st.close()
    # the next ingest (both engines) fills the column through the recreated view
    for engine, day in (("clickhouse", "2027-04-26"), ("python", "2027-04-27")):
        logs = tmp_path / f"logs-{engine}"
        logs.mkdir()
        start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
        write_log(logs / f"{SITE}_{day}.log", list(nginx_cdn_lines(50, SITE, start, rules=["r1", "news", "-"])))
        with open_store(url) as st:
            result = ingest(st, local_files([logs], 0), IngestOptions(resolve_format("nginx-cdn"), engine=engine))
            assert result.records == 50
            got = dict(st.rows("SELECT ifNull(rule, '∅'), count() FROM records WHERE toDate(time) = {d:Date} "
                               "GROUP BY 1", {"d": datetime.fromisoformat(day).date()}))
            assert set(got) == {"r1", "news", "∅"} and sum(got.values()) == 50
    with open_store(url) as st:
        assert st.rows("SELECT count(), countIf(rule IS NULL) FROM records WHERE file_id = 7") == [(10, 10)]
