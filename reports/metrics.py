"""SPEC §5 traffic statistics for sites and a period of Europe/Paris days, from the log store.

Read from the ``records`` table of ``loggest.store`` (one row per valid log line) with
every value bound as a query parameter. The period is whole Paris days
[first 00:00, last + 1 00:00) turned into UTC instants, so the primary key (site, time)
prunes the scan and DST days have their real 23 h / 25 h.

- requests: records; bytes: sum of response bytes (absent = 0);
- visitors: distinct (client address, user agent) per Paris day, summed over the days;
  a format without a user agent counts one visitor per address and day; records
  without a client address are not visitors;
- cdn_share: hit / (hit + miss + pass), in requests and in bytes (``None`` when no
  request has a known class); origin_requests: miss + pass;
- status: classes "1xx".."5xx"; time_taken: exact p50/p90/p99 in seconds over the
  records that have one; top_paths: by requests and by bytes;
- quarantined: rejected lines of the ingested files that delivered days of the period
  (a rejected line has no trustworthy site or day, so it is counted per file).

:func:`reference_stats` computes the same figures in pure Python from record dicts; the
tests run both on the same generated logs and require equal results.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from reports.calendar import PARIS, day_end, day_start, days

CLASSES = ("hit", "miss", "pass", "error", "unknown")
QUANTILES = (0.5, 0.9, 0.99)


def _share(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _quantile_keys(values: list[float | None]) -> dict[str, float | None]:
    return {f"p{round(q * 100)}": v for q, v in zip(QUANTILES, values, strict=True)}


def _shape(daily: list[dict[str, Any]], quantiles: list[float | None], top_requests: list[dict[str, Any]],
           top_bytes: list[dict[str, Any]], quarantined: int, sites: Sequence[str], first: date,
           last: date) -> dict[str, Any]:
    tot = {k: sum(int(d[k]) for d in daily) for k in
           ("requests", "bytes", "visitors", "timed", *CLASSES, "hit_bytes", "miss_bytes", "pass_bytes",
            "s1xx", "s2xx", "s3xx", "s4xx", "s5xx")}
    known = tot["hit"] + tot["miss"] + tot["pass"]
    known_bytes = tot["hit_bytes"] + tot["miss_bytes"] + tot["pass_bytes"]
    return {
        "sites": list(sites), "from": first.isoformat(), "to": last.isoformat(), "timezone": "Europe/Paris",
        "requests": tot["requests"], "bytes": tot["bytes"], "visitors": tot["visitors"],
        "cdn_share": {"requests": _share(tot["hit"], known), "bytes": _share(tot["hit_bytes"], known_bytes)},
        "origin_requests": tot["miss"] + tot["pass"],
        "cache": {k: tot[k] for k in CLASSES},
        "status": {f"{n}xx": tot[f"s{n}xx"] for n in range(1, 6)},
        "time_taken": {"records": tot["timed"], **_quantile_keys(quantiles)},
        "top_paths": {"by_requests": top_requests, "by_bytes": top_bytes},
        "quarantined": quarantined,
        "days": daily,
    }


_DAILY_SQL = """
SELECT toString(toDate(time, 'Europe/Paris')) AS day,
       count() AS requests,
       sum(ifNull(bytes, 0)) AS total_bytes,  -- not `AS bytes`: it would shadow the column
       uniqExactIf((client, ifNull(user_agent, '')), client IS NOT NULL) AS visitors,
       countIf(time_taken_us IS NOT NULL) AS timed,
       countIf(cache_class = 'hit') AS hit,
       countIf(cache_class = 'miss') AS miss,
       countIf(cache_class = 'pass') AS pass,
       countIf(cache_class = 'error') AS error,
       countIf(cache_class IS NULL OR cache_class NOT IN ('hit', 'miss', 'pass', 'error')) AS unknown,
       sumIf(ifNull(bytes, 0), cache_class = 'hit') AS hit_bytes,
       sumIf(ifNull(bytes, 0), cache_class = 'miss') AS miss_bytes,
       sumIf(ifNull(bytes, 0), cache_class = 'pass') AS pass_bytes,
       countIf(intDiv(status, 100) = 1) AS s1xx,
       countIf(intDiv(status, 100) = 2) AS s2xx,
       countIf(intDiv(status, 100) = 3) AS s3xx,
       countIf(intDiv(status, 100) = 4) AS s4xx,
       countIf(intDiv(status, 100) = 5) AS s5xx,
       quantilesExactIf(0.5, 0.9, 0.99)(time_taken_us, time_taken_us IS NOT NULL) AS q
FROM records
WHERE {where}
GROUP BY day ORDER BY day
"""

_WHERE = "site IN {sites:Array(String)} AND time >= {lo:DateTime('UTC')} AND time < {hi:DateTime('UTC')}"


_TOTALS_SQL = f"""
SELECT quantilesExactIf(0.5, 0.9, 0.99)(time_taken_us, time_taken_us IS NOT NULL),
       countIf(time_taken_us IS NOT NULL),
       (SELECT sum(quarantined) FROM files FINAL
        WHERE (status = 'done' OR (status = 'refused' AND notes = 'no_records'))
          AND hasAny(days, {{days:Array(Date)}})
          AND (empty(sites) OR hasAny(sites, {{sites:Array(String)}})))
FROM records WHERE {_WHERE}
"""

# One grouping pass by path, then both rankings sorted in memory (ties broken by path).
_TOP_SQL = f"""
SELECT arraySlice(arraySort(x -> (-toInt64(x.2), -toInt64(x.3), x.1), groupArray((p, r, b))), 1,
                  {{n:UInt32}}),
       arraySlice(arraySort(x -> (-toInt64(x.3), -toInt64(x.2), x.1), groupArray((p, r, b))), 1,
                  {{n:UInt32}})
FROM (SELECT ifNull(path, '') AS p, count() AS r, sum(ifNull(bytes, 0)) AS b FROM records WHERE {_WHERE}
      GROUP BY p)
"""


def statements(sites: Sequence[str], first: date, last: date,
               top: int = 10) -> dict[str, tuple[str, dict[str, Any]]]:
    """The SQL :func:`stats` runs, with its bound parameters (the benchmark times them bare)."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    params: dict[str, Any] = {"sites": list(sites), "lo": day_start(first), "hi": day_end(last)}
    return {"daily": (_DAILY_SQL.format(where=_WHERE), params),
            "totals": (_TOTALS_SQL, {**params, "days": list(days(first, last))}),
            "top": (_TOP_SQL, {**params, "n": top})}


def stats(client: Any, sites: Sequence[str], first: date, last: date, top: int = 10) -> dict[str, Any]:
    """The §5 metrics of ``sites`` over Paris days ``first``..``last`` (inclusive)."""
    sql = statements(sites, first, last, top)
    result = client.query(sql["daily"][0], parameters=sql["daily"][1])
    names = ["bytes" if c == "total_bytes" else c for c in result.column_names]
    daily = [dict(zip(names, r, strict=True)) for r in result.result_rows]
    for d in daily:
        q = d.pop("q")
        for k, v in d.items():
            if k != "day":
                d[k] = int(v)
        d.update(_quantile_keys([v / 1_000_000 for v in q] if d["timed"] else [None] * 3))
    (q, timed, quarantined), = client.query(sql["totals"][0], parameters=sql["totals"][1]).result_rows
    quantiles: list[float | None] = [v / 1_000_000 for v in q] if timed else [None] * 3
    (by_req, by_bytes), = client.query(sql["top"][0], parameters=sql["top"][1]).result_rows
    return _shape(daily, quantiles, _paths(by_req), _paths(by_bytes), int(quarantined or 0), sites, first,
                  last)


def _paths(rows: Iterable[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [{"path": p, "requests": int(r), "bytes": int(b)} for p, r, b in rows]


# --- the pure-Python reference ----------------------------------------------------------


def _exact_quantile(sorted_values: list[int], q: float) -> int:
    # ClickHouse quantileExact: the element at floor(q × n) of the sorted values.
    return sorted_values[min(int(q * len(sorted_values)), len(sorted_values) - 1)]


def reference_stats(records: Iterable[dict[str, Any]], sites: Sequence[str], first: date, last: date,
                    top: int = 10, quarantined: int = 0) -> dict[str, Any]:
    """The same figures as :func:`stats` from record dicts (columns of ``records``)."""
    lo, hi = day_start(first), day_end(last)
    per_day: dict[str, dict[str, Any]] = {}
    visitors: dict[str, set[tuple[str, str]]] = {}
    taken: list[int] = []
    day_taken: dict[str, list[int]] = {}
    paths: Counter[str] = Counter()
    path_bytes: Counter[str] = Counter()
    for r in records:
        t: datetime = r["time"]
        if r["site"] not in sites or not lo <= t < hi:
            continue
        day = t.astimezone(PARIS).date().isoformat()
        d = per_day.setdefault(day, {"day": day, **dict.fromkeys(
            ("requests", "bytes", "visitors", "timed", *CLASSES, "hit_bytes", "miss_bytes", "pass_bytes",
             "s1xx", "s2xx", "s3xx", "s4xx", "s5xx"), 0)})
        size = r.get("bytes") or 0
        cls = r.get("cache_class")
        cls = cls if cls in ("hit", "miss", "pass", "error") else "unknown"
        d["requests"] += 1
        d["bytes"] += size
        d[cls] += 1
        if cls in ("hit", "miss", "pass"):
            d[f"{cls}_bytes"] += size
        if r.get("status") is not None and 1 <= r["status"] // 100 <= 5:
            d[f"s{r['status'] // 100}xx"] += 1
        if r.get("client") is not None:
            visitors.setdefault(day, set()).add((r["client"], r.get("user_agent") or ""))
        if r.get("time_taken_us") is not None:
            d["timed"] += 1
            taken.append(r["time_taken_us"])
            day_taken.setdefault(day, []).append(r["time_taken_us"])
        path = r.get("path") or ""
        paths[path] += 1
        path_bytes[path] += size
    for day, d in per_day.items():
        d["visitors"] = len(visitors.get(day, ()))
        values = sorted(day_taken.get(day, []))
        d.update(_quantile_keys([_exact_quantile(values, q) / 1_000_000 for q in QUANTILES] if values
                                else [None] * 3))
    taken.sort()
    quantiles: list[float | None] = ([_exact_quantile(taken, q) / 1_000_000 for q in QUANTILES] if taken
                                     else [None] * 3)
    rows = [{"path": p, "requests": paths[p], "bytes": path_bytes[p]} for p in paths]
    by_req = sorted(rows, key=lambda x: (-x["requests"], -x["bytes"], x["path"]))[:top]
    by_bytes = sorted(rows, key=lambda x: (-x["bytes"], -x["requests"], x["path"]))[:top]
    daily = [per_day[k] for k in sorted(per_day)]
    return _shape(daily, quantiles, by_req, by_bytes, quarantined, sites, first, last)
