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
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reports import metrics
from reports.calendar import PARIS, days

SOURCE_RECORDS = "records"
SOURCE_DAILY = "daily"

# What the daily aggregates cannot give (keys of reports.metrics.stats left out).
UNAVAILABLE = ("time_taken_percentiles", "top_paths", "audience", "by_hour", "peak", "content", "not_found",
               "server_errors", "referrers", "referring_sites", "browsers", "os", "cache_statuses")
_DAY_FIELDS = ("requests", "bytes", "visitors", "timed", "hit", "miss", "pass", "error", "unknown",
               "hit_bytes", "miss_bytes", "pass_bytes", "s1xx", "s2xx", "s3xx", "s4xx", "s5xx")

_SQL = f"""
SELECT toString(day), {", ".join(f"sum({c})" for c in _DAY_FIELDS)}, sum(under_2s)
FROM daily FINAL
WHERE site IN {{sites:Array(String)}} AND day >= {{first:Date}} AND day <= {{last:Date}}
GROUP BY day ORDER BY day
"""

_QUARANTINED_SQL = """
SELECT sum(quarantined) FROM files FINAL
WHERE (status = 'done' OR (status = 'refused' AND notes = 'no_records'))
  AND hasAny(days, {days:Array(Date)}) AND (empty(sites) OR hasAny(sites, {sites:Array(String)}))
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


def _totals(client: Any, sites: Sequence[str], first: date, last: date) -> tuple[list[dict[str, Any]], int]:
    rows = client.query(_SQL, parameters={"sites": list(sites), "first": first, "last": last}).result_rows
    out = []
    under = 0
    for row in rows:
        d = {"day": row[0], **{k: int(v) for k, v in zip(_DAY_FIELDS, row[1:-1], strict=True)}}
        under += int(row[-1])
        out.append(d)
    return out, under


def stats_from_daily(client: Any, sites: Sequence[str], first: date, last: date) -> dict[str, Any]:
    """The figures of ``reports.metrics.stats`` that the daily aggregates hold."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    daily, under = _totals(client, sites, first, last)
    tot = {k: sum(d[k] for d in daily) for k in _DAY_FIELDS}
    known = tot["hit"] + tot["miss"] + tot["pass"]
    known_bytes = tot["hit_bytes"] + tot["miss_bytes"] + tot["pass_bytes"]
    (quarantined,), = client.query(_QUARANTINED_SQL, parameters={
        "sites": list(sites), "days": list(days(first, last))}).result_rows
    span = (last - first).days + 1
    p_first, p_last = first - timedelta(days=span), first - timedelta(days=1)
    prev, _ = _totals(client, sites, p_first, p_last)
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
        "quarantined": int(quarantined or 0),
        "days": daily,
        "previous": {"from": p_first.isoformat(), "to": p_last.isoformat(), "requests": p_tot["requests"],
                     "bytes": p_tot["bytes"], "visitors": p_visitors,
                     "cdn_share": {"requests": _share(p_tot["hit"], p_known),
                                   "bytes": _share(p_tot["hit_bytes"], p_known_b)}},
    }


def period_stats(store: Any, sites: Sequence[str], first: date, last: date, top: int = 10) -> dict[str, Any]:
    """From the raw records when the whole period is within the raw retention, else from ``daily``."""
    cutoff = raw_cutoff(store.now(), store.retention_months())
    if first >= cutoff:
        return {**metrics.stats(store.client, sites, first, last, top), "source": SOURCE_RECORDS,
                "unavailable": []}
    data = stats_from_daily(store.client, sites, first, last)
    data["raw_cutoff"] = cutoff.isoformat()
    return data
