"""Statistics of periods older than the raw retention, from the long-lived daily aggregates.

Raw records are deleted after the raw retention (13 months by default, at least 6), the
``daily`` table (per site and Paris day: requests, bytes, cache classes and their bytes,
visitors, status classes, timed and under-2-s requests) is kept 60 months. A report of
a period that starts before the raw retention's cut-off is computed from ``daily``:
every SPEC §5 total it holds is exact (it was computed from the same records when they
were ingested), and what it does not hold is listed in ``unavailable`` and left out of
the statistics — never shown as 0. ``source`` says which table the figures come from.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reports import metrics
from reports.calendar import PARIS

SOURCE_RECORDS = "records"
SOURCE_DAILY = "daily"

# What the daily aggregates cannot give (keys of reports.metrics.stats left out).
UNAVAILABLE = ("time_taken_percentiles", "top_paths", "audience", "by_hour", "peak", "content", "not_found",
               "server_errors", "referrers", "referring_sites", "browsers", "os", "cache_statuses")
_DAY_FIELDS = ("requests", "bytes", "visitors", "timed", "hit", "miss", "pass", "error", "unknown",
               "hit_bytes", "miss_bytes", "pass_bytes", "s1xx", "s2xx", "s3xx", "s4xx", "s5xx")

# By host and day over the period and the one before it (one statement for both, and for
# every site of a batch): the sums add up over a site's hosts in Python.
_SQL = f"""
SELECT site, toString(day), {", ".join(f"sum({c})" for c in _DAY_FIELDS)}, sum(under_2s)
FROM daily FINAL
WHERE site IN {{sites:Array(String)}} AND day >= {{first:Date}} AND day <= {{last:Date}}
GROUP BY site, day ORDER BY day
"""


def raw_cutoff(now: datetime, retention_months: int) -> date:
    """The first Paris day whose records are all still kept.

    The records TTL deletes ``addMonths(time, N) <= now``, i.e. every instant up to
    ``now − N months`` (ClickHouse clamps 31 March − 1 month to 28/29 February); the Paris
    day holding that instant is partly gone, the next one is whole.
    """
    months = now.year * 12 + now.month - 1 - retention_months
    year, month = divmod(months, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    edge = now.replace(year=year, month=month + 1, day=day)
    edge = edge if edge.tzinfo else edge.replace(tzinfo=UTC)
    return edge.astimezone(PARIS).date() + timedelta(days=1)


def _share(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _sum_days(rows: list[tuple[Any, ...]], hosts: Sequence[str], first: str,
              last: str) -> tuple[list[dict[str, Any]], int]:
    """The days ``first``..``last`` (ISO) of ``hosts`` from the by-host rows, summed per day."""
    mine = set(hosts)
    out: dict[str, dict[str, Any]] = {}
    under = 0
    for host, day, *sums, under_2s in rows:
        if host not in mine or not first <= day <= last:
            continue
        d = out.setdefault(day, {"day": day, **dict.fromkeys(_DAY_FIELDS, 0)})
        for k, v in zip(_DAY_FIELDS, sums, strict=True):
            d[k] += int(v)
        under += int(under_2s)
    return list(out.values()), under


def stats_from_daily(client: Any, sites: Sequence[str], first: date, last: date) -> dict[str, Any]:
    """The figures of ``reports.metrics.stats`` that the daily aggregates hold."""
    return stats_from_daily_by_site(client, {"": sites}, first, last)[""]


def stats_from_daily_by_site(client: Any, scopes: Mapping[str, Sequence[str]], first: date,
                             last: date) -> dict[str, dict[str, Any]]:
    """``{site: stats_from_daily(client, list(hosts), first, last)}`` for each site of ``scopes``
    (site → its hosts) in two statements for all the sites, not three per site (about 11 ms
    of chDB per statement): the daily rows by host of the period and the one before, and the
    quarantined lines by the hosts of the files."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    if not scopes:
        return {}
    span = (last - first).days + 1
    p_first, p_last = first - timedelta(days=span), first - timedelta(days=1)
    hosts = list(dict.fromkeys(h for hs in scopes.values() for h in hs))
    rows = client.query(_SQL, parameters={"sites": hosts, "first": p_first, "last": last}).result_rows
    text, params = metrics.quarantine_statement(hosts, first, last)
    files = client.query(text, parameters=params).result_rows
    return {site: _from_daily(rows, files, sites, first, last, p_first, p_last)
            for site, sites in scopes.items()}


def _from_daily(rows: list[tuple[Any, ...]], files: list[tuple[Any, ...]], sites: Sequence[str], first: date,
                last: date, p_first: date, p_last: date) -> dict[str, Any]:
    daily, under = _sum_days(rows, sites, first.isoformat(), last.isoformat())
    tot = {k: sum(d[k] for d in daily) for k in _DAY_FIELDS}
    known = tot["hit"] + tot["miss"] + tot["pass"]
    known_bytes = tot["hit_bytes"] + tot["miss_bytes"] + tot["pass_bytes"]
    prev, _ = _sum_days(rows, sites, p_first.isoformat(), p_last.isoformat())
    p_tot = {k: sum(d[k] for d in prev) for k in _DAY_FIELDS}
    p_known = p_tot["hit"] + p_tot["miss"] + p_tot["pass"]
    p_known_b = p_tot["hit_bytes"] + p_tot["miss_bytes"] + p_tot["pass_bytes"]
    unavailable = list(UNAVAILABLE)
    visitors: int | None = tot["visitors"]
    p_visitors: int | None = p_tot["visitors"]
    extra: dict[str, Any] = {}
    if len(sites) > 1:
        # The aggregates count distinct (client, user agent) per host and day: a visitor of
        # two hosts (a site and its alias) would be counted twice. The sum is only a bound.
        unavailable.append("visitors")
        extra["visitors_upper_bound"] = visitors
        visitors = p_visitors = None
        for d in daily:
            d["visitors"] = None
    return {
        "sites": list(sites), "from": first.isoformat(), "to": last.isoformat(), "timezone": "Europe/Paris",
        "source": SOURCE_DAILY, "unavailable": unavailable, **extra,
        "requests": tot["requests"], "bytes": tot["bytes"], "visitors": visitors,
        "cdn_share": {"requests": _share(tot["hit"], known), "bytes": _share(tot["hit_bytes"], known_bytes)},
        "origin_requests": tot["miss"] + tot["pass"],
        "cache": {k: tot[k] for k in ("hit", "miss", "pass", "error", "unknown")},
        "status": {f"{n}xx": tot[f"s{n}xx"] for n in range(1, 6)},
        "time_taken": {"records": tot["timed"], "under_2s": under, "p50": None, "p90": None, "p99": None},
        "quarantined": metrics.quarantined(files, sites),
        "days": daily,
        "previous": {"from": p_first.isoformat(), "to": p_last.isoformat(), "requests": p_tot["requests"],
                     "bytes": p_tot["bytes"], "visitors": p_visitors,
                     "cdn_share": {"requests": _share(p_tot["hit"], p_known),
                                   "bytes": _share(p_tot["hit_bytes"], p_known_b)}},
    }


def period_stats(store: Any, sites: Sequence[str], first: date, last: date, top: int = 10) -> dict[str, Any]:
    """From the raw records when the whole period is within the raw retention, else from ``daily``."""
    return period_stats_by_site(store, {"": sites}, first, last, top)[""]


def period_stats_by_site(store: Any, scopes: Mapping[str, Sequence[str]], first: date, last: date,
                         top: int = 10) -> dict[str, dict[str, Any]]:
    """``{site: period_stats(store, list(hosts), first, last, top)}`` for each site of ``scopes``,
    each statement run once for all the sites. One source for the whole batch, as the
    cut-off depends on the period only: every site of a report reads the same table."""
    cutoff = raw_cutoff(store.now(), store.retention_months())
    if first >= cutoff:
        return {site: {**data, "source": SOURCE_RECORDS, "unavailable": []}
                for site, data in metrics.stats_by_site(store.client, scopes, first, last, top).items()}
    by_site = stats_from_daily_by_site(store.client, scopes, first, last)
    for data in by_site.values():
        data["raw_cutoff"] = cutoff.isoformat()
    return by_site
