"""SPEC §5 metrics: the SQL over the log store equals the pure-Python reference on generated logs."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reports.metrics import reference_stats, stats

SITES = ["www.a.gouv.fr", "evil'); DROP TABLE records; --"]
CACHE = ["hit", "miss", "pass", "error", "unknown", None]


@pytest.fixture
def log_store(tmp_path: Path) -> Iterator[Any]:
    from loggest.store import open_store

    store = open_store(f"chdb://{tmp_path}/logs")
    try:
        yield store
    finally:
        store.close()


def generate(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    # 27 March 2026 00:00 UTC .. 31 March: spans Sunday 29 March (23 h in Paris) and the UTC/Paris day edges.
    t0 = datetime(2026, 3, 27, tzinfo=UTC)
    out = []
    for i in range(n):
        out.append({
            "time": t0 + timedelta(seconds=rnd.randrange(4 * 86400)),
            "tz_offset": 60,
            "site": rnd.choice([*SITES, "www.other.gouv.fr"]),
            "client": rnd.choice([None, *(f"192.0.2.{k}" for k in range(20))]),
            "method": "GET",
            "path": rnd.choice([None, "/", "/a", "/b", "/<script>", *(f"/p{k}" for k in range(30))]),
            "query": None, "protocol": "HTTP/1.1",
            "status": rnd.choice([None, 101, 200, 200, 200, 204, 301, 304, 404, 500, 503]),
            "bytes": rnd.choice([None, 0, rnd.randrange(1, 2_000_000)]),
            "referer": None,
            "user_agent": rnd.choice([None, "Mozilla/5.0", "curl/8.0", "Googlebot"]),
            "cache_status": None,
            "cache_class": rnd.choice(CACHE),
            "time_taken_us": rnd.choice([None, rnd.randrange(0, 5_000_000)]),
            "edge": None, "file_id": 1, "line_no": i + 1,
        })
    return out


def insert(store: Any, records: list[dict[str, Any]]) -> None:
    cols = list(records[0])
    store.client.insert("records", [[r[c] for c in cols] for r in records], column_names=cols)


@pytest.mark.parametrize(("sites", "first", "last"), [
    ([SITES[0]], date(2026, 3, 28), date(2026, 3, 30)),
    (SITES, date(2026, 3, 29), date(2026, 3, 29)),        # the 23-hour day, both sites
    ([SITES[1]], date(2026, 3, 27), date(2026, 3, 31)),   # a site name full of SQL is only a value
    (["nobody.gouv.fr"], date(2026, 3, 27), date(2026, 3, 31)),
])
def test_sql_equals_reference(log_store: Any, sites: list[str], first: date, last: date) -> None:
    records = generate(3000)
    insert(log_store, records)
    got = stats(log_store.client, sites, first, last, top=5)
    want = reference_stats(records, sites, first, last, top=5)
    assert got == want
    if sites[0] != "nobody.gouv.fr":
        assert got["requests"] > 0 and got["time_taken"]["p50"] is not None
    assert log_store.rows("SELECT count() FROM records")[0][0] == 3000


def test_hand_counted_figures(log_store: Any) -> None:
    base = {"tz_offset": 120, "site": "www.a.gouv.fr", "method": "GET", "query": None, "protocol": "HTTP/1.1",
            "referer": None, "cache_status": None, "edge": None, "file_id": 1}
    paris = datetime.fromisoformat
    rows = [
        # 1 April 00:30 CEST = 31 March 22:30 UTC: a Paris 1 April request
        {"time": paris("2026-03-31T22:30:00+00:00"), "client": "a", "user_agent": "x", "path": "/", "status": 200,
         "bytes": 1000, "cache_class": "hit", "time_taken_us": 100_000},
        {"time": paris("2026-04-01T10:00:00+02:00"), "client": "a", "user_agent": "x", "path": "/", "status": 200,
         "bytes": 3000, "cache_class": "miss", "time_taken_us": 300_000},
        {"time": paris("2026-04-01T11:00:00+02:00"), "client": "a", "user_agent": "y", "path": "/b", "status": 404,
         "bytes": None, "cache_class": "pass", "time_taken_us": None},
        {"time": paris("2026-04-02T11:00:00+02:00"), "client": "a", "user_agent": "x", "path": "/b", "status": 503,
         "bytes": 500, "cache_class": "error", "time_taken_us": 2_000_000},
        # 2 April 23:59:59 CEST is still 2 April; 3 April 00:00 CEST is outside the period
        {"time": paris("2026-04-02T23:59:59+02:00"), "client": None, "user_agent": None, "path": "/c",
         "status": 301, "bytes": 0, "cache_class": None, "time_taken_us": None},
        {"time": paris("2026-04-03T00:00:00+02:00"), "client": "z", "user_agent": "x", "path": "/", "status": 200,
         "bytes": 99, "cache_class": "hit", "time_taken_us": 1},
    ]
    insert(log_store, [{**base, **r, "line_no": i} for i, r in enumerate(rows)])
    got = stats(log_store.client, ["www.a.gouv.fr"], date(2026, 4, 1), date(2026, 4, 2))
    # 5 requests; bytes 1000 + 3000 + 0 + 500 + 0 = 4500
    assert (got["requests"], got["bytes"]) == (5, 4500)
    # visitors: 1 April {(a,x), (a,y)} = 2; 2 April {(a,x)} = 1 (no client: not a visitor) → 3
    assert got["visitors"] == 3
    # hit 1, miss 1, pass 1 → share 1/3 in requests; bytes 1000 / (1000 + 3000 + 0) = 0.25; origin = 2
    assert got["cdn_share"] == {"requests": pytest.approx(1 / 3), "bytes": 0.25}
    assert got["origin_requests"] == 2
    assert got["cache"] == {"hit": 1, "miss": 1, "pass": 1, "error": 1, "unknown": 1}
    assert got["status"] == {"1xx": 0, "2xx": 2, "3xx": 1, "4xx": 1, "5xx": 1}
    # times 0.1, 0.3, 2.0 s: p50 = element floor(0.5 × 3) = 1 → 0.3; p90, p99 → index 2 → 2.0
    assert got["time_taken"] == {"records": 3, "p50": 0.3, "p90": 2.0, "p99": 2.0}
    assert got["top_paths"]["by_requests"][0] == {"path": "/", "requests": 2, "bytes": 4000}
    assert [d["day"] for d in got["days"]] == ["2026-04-01", "2026-04-02"]
    assert got["quarantined"] == 0


def test_quarantined_lines_of_the_period_files(log_store: Any) -> None:
    from loggest.store.clickhouse import FileEntry

    def entry(n: int, status: str, day: date, sites: list[str], quarantined: int) -> FileEntry:
        return FileEntry(f"{n:064x}", n, f"f{n}.log", status=status, quarantined=quarantined, sites=sites,
                         days=[day])
    for e in (entry(1, "done", date(2026, 4, 2), ["www.a.gouv.fr"], 4),
              entry(2, "done", date(2026, 4, 3), ["www.a.gouv.fr"], 8),       # outside the period
              entry(3, "done", date(2026, 4, 1), ["www.b.gouv.fr"], 16),      # another site
              entry(4, "done", date(2026, 4, 1), [], 32),                      # no valid line at all
              entry(5, "refused", date(2026, 4, 1), ["www.a.gouv.fr"], 64)):   # not ingested
        log_store.put_file(e)
    got = stats(log_store.client, ["www.a.gouv.fr"], date(2026, 4, 1), date(2026, 4, 2))
    assert got["quarantined"] == 4 + 32


def test_period_must_be_ordered(log_store: Any) -> None:
    with pytest.raises(ValueError, match="ends"):
        stats(log_store.client, ["a"], date(2026, 4, 2), date(2026, 4, 1))
