"""Older periods: a report of a period before the raw retention's cut-off comes from the daily
aggregates, with the same totals the raw records gave, and says what it cannot show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from reports import metrics
from reports.aggregates import UNAVAILABLE, period_stats, period_stats_by_site, raw_cutoff, stats_from_daily
from reports.calendar import local_day
from tests.reports.test_metrics import (
    ALIAS,
    SCOPES,
    SITES,
    CountingClient,
    generate,
    insert,
    log_store,  # noqa: F401  (fixture)
)

SHARED = ("requests", "bytes", "visitors", "cdn_share", "origin_requests", "cache", "status", "quarantined")


def load(store: Any) -> list[dict[str, Any]]:
    records = generate(3000)
    insert(store, records)
    store.refresh_daily({(r["site"], local_day(r["time"])) for r in records})
    return records


def test_daily_totals_equal_the_records(log_store: Any) -> None:  # noqa: F811
    load(log_store)
    for sites, first, last in (([SITES[0]], date(2026, 3, 27), date(2026, 4, 1)),
                               (SITES, date(2026, 10, 23), date(2026, 10, 28))):
        raw = metrics.stats(log_store.client, sites, first, last)
        agg = stats_from_daily(log_store.client, sites, first, last)
        shared = [k for k in SHARED if k != "visitors"]
        assert {k: agg[k] for k in shared} == {k: raw[k] for k in shared}
        assert [(d["day"], d["requests"]) for d in agg["days"]] == [(d["day"], d["requests"]) for d in raw["days"]]
        assert agg["time_taken"]["records"] == raw["time_taken"]["records"]
        assert {k: agg["previous"][k] for k in ("requests", "bytes")} == {
            k: raw["previous"][k] for k in ("requests", "bytes")}
        assert agg["source"] == "daily" and set(UNAVAILABLE) <= set(agg["unavailable"])
        if len(sites) == 1:
            # visitors of records without a user agent count too (a CLF log has none)
            assert agg["visitors"] > 0 and agg["visitors"] == raw["visitors"]
            assert [d["visitors"] for d in agg["days"]] == [d["visitors"] for d in raw["days"]]
        else:
            # per host and day in the aggregates: a visitor of both sites would count twice
            assert agg["visitors"] is None and "visitors" in agg["unavailable"]
            assert agg["visitors_upper_bound"] > raw["visitors"]
        assert not {"top_paths", "audience", "by_hour", "referrers"} & set(agg)   # absent, not zero


def test_raw_cutoff_follows_the_ttl() -> None:
    # TTL: addMonths(time, 13) <= now → everything up to 2 Nov 2025 10:00 UTC is gone; 3 Nov is whole.
    assert raw_cutoff(datetime(2026, 12, 2, 10, 0), 13) == date(2025, 11, 3)
    # 31 March − 1 month = 28 February (ClickHouse clamps); 23:30 UTC is already 1 March in Paris
    assert raw_cutoff(datetime(2026, 3, 31, 12, 0), 1) == date(2026, 3, 1)
    assert raw_cutoff(datetime(2026, 3, 31, 23, 30), 1) == date(2026, 3, 2)


def test_a_period_older_than_the_retention_reads_the_daily_table(log_store: Any) -> None:  # noqa: F811
    load(log_store)
    first, last = date(2026, 3, 27), date(2026, 4, 1)
    before = metrics.stats(log_store.client, SITES, first, last)
    # What the TTL does once the records are 13 months old: they are gone, the aggregates stay.
    log_store.command("ALTER TABLE records DELETE WHERE 1", settings={"mutations_sync": 2})
    assert metrics.stats(log_store.client, SITES, first, last)["requests"] == 0
    log_store.now = lambda: datetime(2027, 6, 1)   # 14 months later
    old = period_stats(log_store, SITES, first, last)
    assert old["source"] == "daily" and old["raw_cutoff"] == "2026-05-02"
    assert {k: old[k] for k in SHARED if k != "visitors"} == {k: before[k] for k in SHARED if k != "visitors"}
    log_store.now = lambda: datetime(2026, 12, 1)
    recent = period_stats(log_store, SITES, first, last)
    assert (recent["source"], recent["unavailable"]) == ("records", [])


def test_period_stats_by_site_equals_each_site_alone(log_store: Any) -> None:  # noqa: F811
    records = generate(3000)
    for r in records[::3]:
        if r["site"] == SITES[0]:
            r["site"] = ALIAS     # a site's alias: its own rows in daily, one site in the report
    insert(log_store, records)
    log_store.refresh_daily({(r["site"], local_day(r["time"])) for r in records})
    first, last = date(2026, 3, 27), date(2026, 4, 1)
    for now, source, statements in ((datetime(2026, 12, 1), "records", 8), (datetime(2027, 6, 1), "daily", 2)):
        log_store.now = lambda now=now: now
        spy = CountingClient(log_store.client)
        got = period_stats_by_site(Batch(log_store, spy), SCOPES, first, last, top=4)
        assert spy.statements == statements      # for the 4 sites, whichever the source
        assert got == {s: period_stats(log_store, hosts, first, last, top=4) for s, hosts in SCOPES.items()}
        assert {d["source"] for d in got.values()} == {source} and got[SITES[0]]["requests"] > 0
        assert got["nobody.gouv.fr"]["requests"] == 0
    assert got[SITES[0]]["visitors"] is None and got[SITES[1]]["visitors"] > 0   # two hosts: only a bound


class Batch:
    """The store, its queries counted."""

    def __init__(self, store: Any, client: Any) -> None:
        self.client, self.now, self.retention_months = client, store.now, store.retention_months
