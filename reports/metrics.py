"""SPEC §5 traffic statistics for sites and a period of Europe/Paris days, from the log store.

Read from the ``records`` table of ``loggest.store`` (one row per valid log line) with
every value bound as a query parameter. The period is whole Paris days
[first 00:00, last + 1 00:00) turned into UTC instants, so the primary key (site, time)
prunes the scan and DST days have their real 23 h / 25 h.

:func:`stats_by_site` gives many sites' statistics (a weekly or monthly report) with each
statement run once for all of them, grouped by the site a record's host belongs to: the
figures are exactly those :func:`stats` gives each site alone, but the cost no longer grows
with the number of sites (each chDB statement costs about 11 ms before any row is read,
so 50 sites asked one by one were 400 statements, 4.4 s). :func:`stats` is the batch of one.

SPEC §5 figures (unchanged):

- requests: records; bytes: sum of response bytes (absent = 0);
- visitors: distinct (client address, user agent) per Paris day, summed over the days
  (pairs counted by a 64-bit hash, see ``_VISITOR``); a format without a user agent
  counts one visitor per address and day; records without a client address are not
  visitors;
- cdn_share: hit / (hit + miss + pass), in requests and in bytes (``None`` when no
  request has a known class); origin_requests: miss + pass;
- status: classes "1xx".."5xx"; time_taken: exact p50/p90/p99 in seconds over the
  records that have one; top_paths: by requests and by bytes;
- quarantined: rejected lines of the ingested files that delivered days of the period
  (a rejected line has no trustworthy site or day, so it is counted per file).

What GoAccess shows and a CDN client watches (issue 12); lists are the ``top`` first:

- audience: ``{"humans"|"bots": {"requests", "bytes", "visitors"}}``. A bot is a user
  agent of the crawler-user-agents list (:mod:`reports.bots`, which says why that list);
  humans are the other records, those **without a user agent included** (nothing marks
  them as bots, and a CLF log would otherwise be all bots). Visitors split exactly:
  a (client, user agent) pair is either a bot or not, so humans + bots = ``visitors``.
  Each ``days[i]`` has ``bot_requests``, ``human_visitors``, ``bot_visitors``.
- by_hour: 24 × ``{"hour", "requests", "bytes"}``, the Paris clock hour of day summed
  over the period (a 25-hour day adds both 02:00 hours to hour 2; a 23-hour day has no
  hour 2). peak: the busiest real hour (Paris offsets are whole hours, so a UTC hour is
  a Paris clock hour): ``start`` as Paris ISO time with its offset
  (``2026-10-25T02:00:00+01:00`` is the second 02:00 of that day), requests, bytes,
  ``requests_per_s`` = requests / 3600, ``mbit_per_s`` = bytes × 8 / 3600 / 10⁶; the
  earliest of equal hours; ``None`` without a record.
- content: pages and static files by the extension of the path (text after the last
  "." of the last segment, ASCII case-insensitive): :data:`STATIC_EXTENSIONS` are static
  files (GoAccess's default ``static-file`` list plus mjs/map/webp/avif/otf/eot/webm/
  ogv/m4a/wav/flac/mov/avi/odt/ods/odp/7z/bz2); everything else is a page: no
  extension, a directory ("/", "/a/"), html/htm/php/asp/aspx/jsp, unknown extensions,
  and a record without a path. pages + static = requests. The query string is not part
  of the path, so "/a.css?v=2" is static.
- not_found: paths answered 404 ``[{"path", "requests"}]``; server_errors: paths
  answered 5xx ``[{"path", "status", "requests"}]`` (one row per path and status).
- referrers ``[{"referrer", "requests"}]`` and referring_sites ``[{"host", "requests"}]``:
  the Referer header as logged, without "-" / empty ones and without **self-referrals**,
  whose host is the record's own site (``https://www.a.gouv.fr:443/x`` on
  www.a.gouv.fr; ASCII case-insensitive; an alias of the site is another host). The
  host is taken as ``scheme://[userinfo@]HOST[:port]`` (:data:`HOST_RE`); a referrer
  that is no URL has no host: it is listed in referrers, not in referring_sites.
- browsers, os ``[{"family", "requests"}]``: of the human requests (bots are not
  browsers), uap-core family names (:mod:`reports.useragents`), "Other" when unknown or
  absent.
- cache_statuses: every raw ``cache_status`` (``None`` when the log has none) with the
  class it was given, requests and bytes, by requests.
- previous: the period of the same number of days just before (week on week; a month
  of 31 days is compared with the 31 days before it, not with the calendar month):
  from, to, requests, bytes, visitors, cdn_share.

Ties are broken by the name (path, referrer, host, family), then the status, so both
implementations give the same order. :func:`reference_stats` computes every figure in
pure Python from record dicts; the tests run both on the same generated logs and
require equal results.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reports.calendar import PARIS, day_end, day_start, days
from reports.useragents import describe

CLASSES = ("hit", "miss", "pass", "error", "unknown")
QUANTILES = (0.5, 0.9, 0.99)

STATIC_EXTENSIONS = frozenset({
    # GoAccess's default static-file list (goaccess.conf)
    "css", "js", "jpg", "png", "gif", "ico", "jpeg", "pdf", "csv", "mpeg", "mpg", "swf", "woff", "woff2",
    "xls", "xlsx", "doc", "docx", "ppt", "pptx", "txt", "zip", "ogg", "mp3", "mp4", "exe", "iso", "gz",
    "rar", "svg", "bmp", "tar", "tgz", "tiff", "tif", "ttf", "flv", "dmg", "xz", "zst",
    # and what today's sites also serve
    "mjs", "map", "webp", "avif", "otf", "eot", "webm", "ogv", "m4a", "wav", "flac", "mov", "avi",
    "odt", "ods", "odp", "7z", "bz2",
})
# The same expressions run in ClickHouse (RE2, bound as parameters) and in Python.
EXT_RE = r"\.([^./]+)$"
HOST_RE = r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\[[^/?#\]]*\]|[^/?#:]*)"
_EXT = re.compile(EXT_RE.replace("$", r"\Z"))
_HOST = re.compile(HOST_RE)
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # ClickHouse lower()
NO_REFERRER = ("", "-")


def is_static(path: str | None) -> bool:
    """A static file by its extension (:data:`STATIC_EXTENSIONS`); else a page."""
    m = _EXT.search(path or "")
    return m is not None and m.group(1).translate(_LOWER) in STATIC_EXTENSIONS


def referrer_host(referrer: str) -> str:
    """The host of a referrer URL, ASCII-lowercased; "" when it is no ``scheme://`` URL."""
    m = _HOST.match(referrer)
    return m.group(1).translate(_LOWER) if m else ""


def _share(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _quantile_keys(values: list[float | None]) -> dict[str, float | None]:
    return {f"p{round(q * 100)}": v for q, v in zip(QUANTILES, values, strict=True)}


def _cdn_share(t: Mapping[str, int]) -> dict[str, float | None]:
    return {"requests": _share(t["hit"], t["hit"] + t["miss"] + t["pass"]),
            "bytes": _share(t["hit_bytes"], t["hit_bytes"] + t["miss_bytes"] + t["pass_bytes"])}


def _ranked(counts: Mapping[str, int], top: int, key: str) -> list[dict[str, Any]]:
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [{key: k, "requests": v} for k, v in rows]


def _agents(ua_requests: Mapping[str, int], top: int) -> tuple[set[str], dict[str, Any]]:
    """Bot user agents, and the browser and OS families of the human requests."""
    bots: set[str] = set()
    browsers: Counter[str] = Counter()
    systems: Counter[str] = Counter()
    for ua, n in ua_requests.items():
        agent = describe(ua)
        if agent.bot:
            bots.add(ua)
        else:
            browsers[agent.browser] += n
            systems[agent.os] += n
    return bots, {"browsers": _ranked(browsers, top, "family"), "os": _ranked(systems, top, "family")}


def _hours(hours: Mapping[datetime, tuple[int, int]]) -> dict[str, Any]:
    """by_hour and peak from requests and bytes per real hour (UTC hour starts)."""
    by_hour = [{"hour": h, "requests": 0, "bytes": 0} for h in range(24)]
    for start, (n, b) in hours.items():
        row = by_hour[start.astimezone(PARIS).hour]
        row["requests"] += n
        row["bytes"] += b
    peak = None
    if hours:
        start, (n, b) = min(hours.items(), key=lambda kv: (-kv[1][0], kv[0]))
        peak = {"start": start.astimezone(PARIS).isoformat(), "requests": n, "bytes": b,
                "requests_per_s": n / 3600, "mbit_per_s": b * 8 / 3600 / 1e6}
    return {"by_hour": by_hour, "peak": peak}


def _cache_statuses(rows: Iterable[tuple[str | None, str, int, int]]) -> list[dict[str, Any]]:
    out = [{"status": s, "class": c, "requests": n, "bytes": b} for s, c, n, b in rows]
    return sorted(out, key=lambda r: (-r["requests"], -r["bytes"], r["status"] is None, r["status"] or "",
                                      r["class"]))


def _previous(first: date, last: date) -> tuple[date, date]:
    """The period of as many days just before ``first``..``last``."""
    n = (last - first).days + 1
    return first - timedelta(days=n), first - timedelta(days=1)


def _shape(daily: list[dict[str, Any]], quantiles: list[float | None], top_requests: list[dict[str, Any]],
           top_bytes: list[dict[str, Any]], quarantined: int, sites: Sequence[str], first: date,
           last: date, extra: dict[str, Any]) -> dict[str, Any]:
    tot = {k: sum(int(d[k]) for d in daily) for k in
           ("requests", "bytes", "visitors", "timed", *CLASSES, "hit_bytes", "miss_bytes", "pass_bytes",
            "s1xx", "s2xx", "s3xx", "s4xx", "s5xx", "bot_requests", "bot_bytes", "bot_visitors")}
    for d in daily:
        d["human_visitors"] = d["visitors"] - d["bot_visitors"]
        del d["bot_bytes"]      # in audience; the day rows keep the contract's keys
    static = extra.pop("static")
    bots = {"requests": tot["bot_requests"], "bytes": tot["bot_bytes"], "visitors": tot["bot_visitors"]}
    return {
        "sites": list(sites), "from": first.isoformat(), "to": last.isoformat(), "timezone": "Europe/Paris",
        "requests": tot["requests"], "bytes": tot["bytes"], "visitors": tot["visitors"],
        "cdn_share": _cdn_share(tot),
        "origin_requests": tot["miss"] + tot["pass"],
        "cache": {k: tot[k] for k in CLASSES},
        "status": {f"{n}xx": tot[f"s{n}xx"] for n in range(1, 6)},
        "time_taken": {"records": tot["timed"], **_quantile_keys(quantiles)},
        "top_paths": {"by_requests": top_requests, "by_bytes": top_bytes},
        "quarantined": quarantined,
        "days": daily,
        "audience": {"humans": {k: tot[k] - v for k, v in bots.items()}, "bots": bots},
        "content": {"pages": {"requests": tot["requests"] - static[0], "bytes": tot["bytes"] - static[1]},
                    "static": {"requests": static[0], "bytes": static[1]}},
        **extra,
    }


# Every statement runs once for a batch of scopes (issue 12: 50 sites × 8 statements at
# ~11 ms of chDB overhead each were 4.4 s of a monthly report before any figure). A record
# belongs to the scope of its host: ``owner``, the scope's position from 1, looked up with
# ``transform`` in two bound parallel arrays (computed on the LowCardinality dictionary, not
# per row); each statement groups by it. A batch's scopes share no host (see _passes).
_WHERE = "site IN {hosts:Array(String)} AND time >= {lo:DateTime('UTC')} AND time < {hi:DateTime('UTC')}"
_OWNER = "transform(site, {hosts:Array(String)}, {owners:Array(UInt32)}, 0)"

# Three small groupings in one pass (GROUPING SETS: one scan instead of three, about 50 ms
# less over a 625,000-record week): the distinct user agents of the period, each classified
# once in Python (reports.useragents); requests and bytes per real hour; the raw cache
# statuses with their class. grouping() flags with a 1 the keys a row is not grouped by.
_GROUPS_SQL = f"""
WITH {_OWNER} AS owner
SELECT grouping(owner, ua, h, cs, cls), owner, ua, h, cs, cls, count(), sum(ifNull(bytes, 0))
FROM records WHERE {_WHERE}
GROUP BY GROUPING SETS ((owner, ifNull(user_agent, '') AS ua),
                        (owner, toUnixTimestamp(toStartOfHour(time)) AS h),
                        (owner, cache_status AS cs,
                         if(ifNull(cache_class, '') IN ('hit', 'miss', 'pass', 'error'),
                            ifNull(cache_class, ''), 'unknown') AS cls))
SETTINGS force_grouping_standard_compatibility = 1
"""
_BY_AGENT, _BY_HOUR, _BY_CACHE = 0b00111, 0b01011, 0b01100

# One scope's groups: requests per user agent, (requests, bytes) per hour, cache rows.
Groups = tuple[dict[str, int], dict[datetime, tuple[int, int]], list[tuple[str | None, str, int, int]]]


def split_groups_by_owner(rows: Iterable[tuple[Any, ...]]) -> dict[int, Groups]:
    """The ``groups`` statement's rows → each owner's (scope position from 1) groups."""
    out: dict[int, Groups] = {}
    for g, owner, ua, h, cs, cls, n, b in rows:
        agents, hours, cache = out.setdefault(int(owner), ({}, {}, []))
        if g == _BY_AGENT:
            agents[ua] = int(n)
        elif g == _BY_HOUR:
            hours[datetime.fromtimestamp(h, UTC)] = (int(n), int(b))
        elif g == _BY_CACHE:
            cache.append((cs, cls, int(n), int(b)))
    return out


def split_groups(rows: Iterable[tuple[Any, ...]]) -> Groups:
    """The ``groups`` rows of :func:`statements` (one scope) → its :data:`Groups`."""
    return split_groups_by_owner(rows).get(1, ({}, {}, []))


# A visitor, (client, user agent), as one 64-bit hash: uniqExact of UInt64 is about twice as
# fast as of the (String, String) tuple (SipHash-128 of each row's long user agent); the
# user agent is hashed on the LowCardinality dictionary. Two pairs of one day would have to
# share a hash to be counted once (odds about 3 × 10⁻⁸ for a million visitors a day).
_VISITOR = "cityHash64(client, cityHash64(ifNull(user_agent, '')))"

# ``bots``: a user agent is a bot or not whatever the site, so one list serves the batch.
_DAILY_SQL = f"""
WITH ifNull(user_agent, '') IN {{bots:Array(String)}} AS is_bot, {_OWNER} AS owner
SELECT owner,
       toString(toDate(time, 'Europe/Paris')) AS day,
       count() AS requests,
       sum(ifNull(bytes, 0)) AS total_bytes,  -- not `AS bytes`: it would shadow the column
       uniqExactIf({_VISITOR}, client IS NOT NULL) AS visitors,
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
       countIf(is_bot) AS bot_requests,
       sumIf(ifNull(bytes, 0), is_bot) AS bot_bytes,
       uniqExactIf({_VISITOR}, client IS NOT NULL AND is_bot) AS bot_visitors,
       quantilesExactIf(0.5, 0.9, 0.99)(time_taken_us, time_taken_us IS NOT NULL) AS q
FROM records
WHERE {_WHERE}
GROUP BY owner, day ORDER BY owner, day
"""

_TOTALS_SQL = f"""
SELECT {_OWNER} AS owner, quantilesExactIf(0.5, 0.9, 0.99)(time_taken_us, time_taken_us IS NOT NULL),
       countIf(time_taken_us IS NOT NULL)
FROM records WHERE {_WHERE}
GROUP BY owner
"""

# Rejected lines have no trustworthy site, so they are counted per file: the files that
# delivered days of the period, by the hosts they name; a file naming no host (not one
# valid line) counts for every scope. Rows per distinct host list, split in Python
# (:func:`quarantined`) so that overlapping scopes and the daily path share the statement.
_QUARANTINED_SQL = """
SELECT sites, sum(quarantined) FROM files FINAL
WHERE (status = 'done' OR (status = 'refused' AND notes = 'no_records'))
  AND hasAny(days, {days:Array(Date)}) AND (empty(sites) OR hasAny(sites, {hosts:Array(String)}))
GROUP BY sites
"""


def quarantine_statement(hosts: Iterable[str], first: date, last: date) -> tuple[str, dict[str, Any]]:
    """The statement of the quarantined lines of the period's files naming any of ``hosts``."""
    return _QUARANTINED_SQL, {"hosts": list(dict.fromkeys(hosts)), "days": list(days(first, last))}


def quarantined(rows: Iterable[tuple[Sequence[str], int]], hosts: Iterable[str]) -> int:
    """A scope's quarantined lines from the quarantine statement's (host list, lines) rows."""
    mine = set(hosts)
    return sum(int(n or 0) for named, n in rows if not named or not mine.isdisjoint(named))


# One grouping pass by owner and path: both rankings sorted in memory (ties broken by
# path), and the static files by the extension of each distinct path (pages are the rest).
_TOP_SQL = f"""
SELECT owner,
       arraySlice(arraySort(x -> (-toInt64(x.2), -toInt64(x.3), x.1), groupArray((p, r, b))), 1,
                  {{n:UInt32}}),
       arraySlice(arraySort(x -> (-toInt64(x.3), -toInt64(x.2), x.1), groupArray((p, r, b))), 1,
                  {{n:UInt32}}),
       sumIf(r, st), sumIf(b, st)
FROM (SELECT {_OWNER} AS owner, ifNull(path, '') AS p, count() AS r, sum(ifNull(bytes, 0)) AS b,
             lower(extract(p, {{ext_re:String}})) IN {{static:Array(String)}} AS st
      FROM records WHERE {_WHERE} GROUP BY owner, p)
GROUP BY owner
"""

_ERRORS_SQL = f"""
SELECT owner,
       arraySlice(arraySort(x -> (-toInt64(x.2), x.1), groupArrayIf((p, r), s = 404)), 1, {{n:UInt32}}),
       arraySlice(arraySort(x -> (-toInt64(x.3), x.1, x.2), groupArrayIf((p, s, r), s >= 500)), 1,
                  {{n:UInt32}})
FROM (SELECT {_OWNER} AS owner, ifNull(path, '') AS p, assumeNotNull(status) AS s, count() AS r FROM records
      WHERE {_WHERE} AND (status = 404 OR (status >= 500 AND status < 600)) GROUP BY owner, p, s)
GROUP BY owner
"""

# Grouped by (host, referrer) first: the host of the referrer is extracted once per distinct
# referrer, and a self-referral is one whose host is the record's own host. The self test is
# a -If condition, not a WHERE: ClickHouse would push a WHERE down to every row of the scan.
_REFERRERS_SQL = f"""
SELECT owner,
       arraySlice(arraySort(x -> (-toInt64(x.2), x.1), groupArrayIf((ref, r), r > 0)), 1, {{n:UInt32}}),
       sumMapIf([host], [r], host != '' AND r > 0) AS m,
       arraySlice(arraySort(x -> (-toInt64(x.2), x.1), arrayZip(m.1, m.2)), 1, {{n:UInt32}})
FROM (SELECT {_OWNER} AS owner, ref, lower(extract(ref, {{host_re:String}})) AS host,
             sumIf(r, host != lower(site)) AS r
      FROM (SELECT site, assumeNotNull(referer) AS ref, count() AS r FROM records
            WHERE {_WHERE} AND referer IS NOT NULL AND referer NOT IN {{none:Array(String)}}
            GROUP BY site, ref)
      GROUP BY owner, ref, host)
GROUP BY owner
"""

_PREVIOUS_SQL = f"""
SELECT owner, sum(n), sum(b), sum(v), sum(hit), sum(miss), sum(pass), sum(hb), sum(mb), sum(pb)
FROM (SELECT {_OWNER} AS owner, toDate(time, 'Europe/Paris') AS day, count() AS n, sum(ifNull(bytes, 0)) AS b,
             uniqExactIf({_VISITOR}, client IS NOT NULL) AS v,
             countIf(cache_class = 'hit') AS hit, countIf(cache_class = 'miss') AS miss,
             countIf(cache_class = 'pass') AS pass,
             sumIf(ifNull(bytes, 0), cache_class = 'hit') AS hb,
             sumIf(ifNull(bytes, 0), cache_class = 'miss') AS mb,
             sumIf(ifNull(bytes, 0), cache_class = 'pass') AS pb
      FROM records WHERE {_WHERE} GROUP BY owner, day)
GROUP BY owner
"""


def _ordered(first: date, last: date) -> None:
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")


def batch_statements(scopes: Sequence[Sequence[str]], first: date, last: date, top: int = 10,
                     bots: Iterable[str] = ()) -> dict[str, tuple[str, dict[str, Any]]]:
    """The SQL one pass of :func:`stats_by_site` runs for ``scopes`` (host lists that share no
    host), with its bound parameters; rows carry the scope's position from 1 (the benchmarks
    time them bare).

    ``bots``: the bot user agents among those the ``groups`` statement returns (the
    ``daily`` statement splits humans and bots with them).
    """
    _ordered(first, last)
    owner_of: dict[str, int] = {}
    for k, hosts in enumerate(scopes, 1):
        for h in hosts:
            if owner_of.setdefault(h, k) != k:
                raise ValueError(f"host {h!r} is in two scopes of one batch")
    params: dict[str, Any] = {"hosts": list(owner_of), "owners": list(owner_of.values()),
                              "lo": day_start(first), "hi": day_end(last)}
    prev_first, prev_last = _previous(first, last)
    return {"groups": (_GROUPS_SQL, params),
            "daily": (_DAILY_SQL, {**params, "bots": sorted(bots)}),
            "totals": (_TOTALS_SQL, params),
            "quarantined": quarantine_statement(owner_of, first, last),
            "top": (_TOP_SQL, {**params, "n": top, "ext_re": EXT_RE, "static": sorted(STATIC_EXTENSIONS)}),
            "errors": (_ERRORS_SQL, {**params, "n": top}),
            "referrers": (_REFERRERS_SQL, {**params, "n": top, "none": list(NO_REFERRER),
                                           "host_re": HOST_RE}),
            "previous": (_PREVIOUS_SQL, {**params, "lo": day_start(prev_first), "hi": day_end(prev_last)})}


def statements(sites: Sequence[str], first: date, last: date, top: int = 10,
               bots: Iterable[str] = ()) -> dict[str, tuple[str, dict[str, Any]]]:
    """The SQL :func:`stats` runs for one list of hosts (:func:`batch_statements` of one scope)."""
    return batch_statements([sites], first, last, top, bots)


def _passes(scopes: Sequence[Sequence[str]]) -> list[list[int]]:
    """Scope indexes in batches whose scopes share no host: a record has one owner per batch.
    Sites and their aliases never overlap (reports.sites), so that is one batch in practice;
    a host in two scopes (asked for apart and together) costs one more batch, not a wrong count."""
    batches: list[tuple[list[int], set[str]]] = []
    for i, hosts in enumerate(scopes):
        for members, taken in batches:
            if taken.isdisjoint(hosts):
                members.append(i)
                taken.update(hosts)
                break
        else:
            batches.append(([i], set(hosts)))
    return [members for members, _ in batches]


def _seconds(q: Sequence[float], timed: int) -> list[float | None]:
    return [v / 1_000_000 for v in q] if timed else [None] * 3


def _batch(client: Any, scopes: Sequence[Sequence[str]], first: date, last: date,
           top: int) -> list[dict[str, Any]]:
    """:func:`stats` of each scope of one batch, in order, each statement run once."""
    def rows(name: str) -> list[tuple[Any, ...]]:
        text, params = sql[name]
        return client.query(text, parameters=params).result_rows

    def by_owner(name: str) -> dict[int, tuple[Any, ...]]:
        return {int(r[0]): r[1:] for r in rows(name)}

    sql = batch_statements(scopes, first, last, top)
    groups = split_groups_by_owner(rows("groups"))
    agents = {k: _agents(g[0], top) for k, g in groups.items()}
    sql = batch_statements(scopes, first, last, top, set().union(*(bots for bots, _ in agents.values())))
    result = client.query(sql["daily"][0], parameters=sql["daily"][1])
    names = ["bytes" if c == "total_bytes" else c for c in result.column_names]
    daily: dict[int, list[dict[str, Any]]] = {}
    for r in result.result_rows:
        d = dict(zip(names, r, strict=True))
        q = d.pop("q")
        owner = int(d.pop("owner"))
        for k, v in d.items():
            if k != "day":
                d[k] = int(v)
        d.update(_quantile_keys(_seconds(q, d["timed"])))
        daily.setdefault(owner, []).append(d)
    totals, quarantine, tops = by_owner("totals"), rows("quarantined"), by_owner("top")
    errors, refs, prevs = by_owner("errors"), by_owner("referrers"), by_owner("previous")
    prev_first, prev_last = _previous(first, last)
    out = []
    for k, sites in enumerate(scopes, 1):
        hours, cache = groups.get(k, ({}, {}, []))[1:]
        _, extra = agents.get(k) or _agents({}, top)
        q, timed = totals.get(k, ([], 0))
        by_req, by_bytes, static_n, static_b = tops.get(k, ([], [], 0, 0))
        not_found, server_errors = errors.get(k, ([], []))
        referrers, _, hosts = refs.get(k, ([], None, []))
        p_tot = dict(zip(("requests", "bytes", "visitors", "hit", "miss", "pass", "hit_bytes", "miss_bytes",
                          "pass_bytes"), [int(v) for v in prevs.get(k, (0,) * 9)], strict=True))
        extra.update(
            static=(int(static_n), int(static_b)),
            **_hours(hours),
            not_found=[{"path": p, "requests": int(r)} for p, r in not_found],
            server_errors=[{"path": p, "status": int(s), "requests": int(r)} for p, s, r in server_errors],
            referrers=[{"referrer": ref, "requests": int(r)} for ref, r in referrers],
            referring_sites=[{"host": h, "requests": int(r)} for h, r in hosts],
            cache_statuses=_cache_statuses(cache),
            previous={"from": prev_first.isoformat(), "to": prev_last.isoformat(),
                      **{key: p_tot[key] for key in ("requests", "bytes", "visitors")},
                      "cdn_share": _cdn_share(p_tot)},
        )
        out.append(_shape(daily.get(k, []), _seconds(q, int(timed)), _paths(by_req), _paths(by_bytes),
                          quarantined(quarantine, sites), sites, first, last, extra))
    return out


def stats_by_site(client: Any, scopes: Mapping[str, Sequence[str]], first: date, last: date,
                  top: int = 10) -> dict[str, dict[str, Any]]:
    """``{site: stats(client, list(hosts), first, last, top)}`` for each site of ``scopes`` (site →
    its hosts: the site and its aliases, as records keep the host they were served under),
    with each statement run once for all the sites instead of once per site."""
    _ordered(first, last)
    names = list(scopes)
    hosts = [list(scopes[s]) for s in names]
    got: dict[int, dict[str, Any]] = {}
    for members in _passes(hosts):
        got.update(zip(members, _batch(client, [hosts[i] for i in members], first, last, top), strict=True))
    return {s: got[i] for i, s in enumerate(names)}


def stats(client: Any, sites: Sequence[str], first: date, last: date, top: int = 10) -> dict[str, Any]:
    """The §5 metrics and the issue-12 panels of ``sites`` over Paris days ``first``..``last``."""
    return _batch(client, [list(sites)], first, last, top)[0]


def _paths(rows: Iterable[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [{"path": p, "requests": int(r), "bytes": int(b)} for p, r, b in rows]


# --- the pure-Python reference ----------------------------------------------------------


def _exact_quantile(sorted_values: list[int], q: float) -> int:
    # ClickHouse quantileExact: the element at floor(q × n) of the sorted values.
    return sorted_values[min(int(q * len(sorted_values)), len(sorted_values) - 1)]


_DAY_KEYS = ("requests", "bytes", "visitors", "timed", *CLASSES, "hit_bytes", "miss_bytes", "pass_bytes",
             "s1xx", "s2xx", "s3xx", "s4xx", "s5xx", "bot_requests", "bot_bytes", "bot_visitors")


def _reference_previous(records: Iterable[dict[str, Any]], sites: Sequence[str], first: date,
                        last: date) -> dict[str, Any]:
    lo, hi = day_start(first), day_end(last)
    tot = dict.fromkeys(("requests", "bytes", "hit", "miss", "pass", "hit_bytes", "miss_bytes", "pass_bytes"),
                        0)
    visitors: set[tuple[date, str, str]] = set()
    for r in records:
        if r["site"] not in sites or not lo <= r["time"] < hi:
            continue
        size = r.get("bytes") or 0
        tot["requests"] += 1
        tot["bytes"] += size
        if r.get("cache_class") in ("hit", "miss", "pass"):
            tot[r["cache_class"]] += 1
            tot[f"{r['cache_class']}_bytes"] += size
        if r.get("client") is not None:
            visitors.add((r["time"].astimezone(PARIS).date(), r["client"], r.get("user_agent") or ""))
    return {"from": first.isoformat(), "to": last.isoformat(), "requests": tot["requests"],
            "bytes": tot["bytes"], "visitors": len(visitors), "cdn_share": _cdn_share(tot)}


def reference_stats(records: Iterable[dict[str, Any]], sites: Sequence[str], first: date, last: date,
                    top: int = 10, quarantined: int = 0) -> dict[str, Any]:
    """The same figures as :func:`stats` from record dicts (columns of ``records``)."""
    records = list(records)
    lo, hi = day_start(first), day_end(last)
    per_day: dict[str, dict[str, Any]] = {}
    visitors: dict[str, set[tuple[str, str]]] = {}
    bot_visitors: dict[str, set[tuple[str, str]]] = {}
    taken: list[int] = []
    day_taken: dict[str, list[int]] = {}
    paths: Counter[str] = Counter()
    path_bytes: Counter[str] = Counter()
    ua_requests: Counter[str] = Counter()
    hours: dict[datetime, list[int]] = {}
    static = [0, 0]
    not_found: Counter[str] = Counter()
    server_errors: Counter[tuple[str, int]] = Counter()
    referrers: Counter[str] = Counter()
    hosts: Counter[str] = Counter()
    cache: dict[tuple[str | None, str], list[int]] = {}
    for r in records:
        t: datetime = r["time"]
        if r["site"] not in sites or not lo <= t < hi:
            continue
        day = t.astimezone(PARIS).date().isoformat()
        d = per_day.setdefault(day, {"day": day, **dict.fromkeys(_DAY_KEYS, 0)})
        size = r.get("bytes") or 0
        ua = r.get("user_agent") or ""
        bot = describe(ua).bot
        cls = r.get("cache_class")
        cls = cls if cls in ("hit", "miss", "pass", "error") else "unknown"
        d["requests"] += 1
        d["bytes"] += size
        d[cls] += 1
        if cls in ("hit", "miss", "pass"):
            d[f"{cls}_bytes"] += size
        status = r.get("status")
        if status is not None and 1 <= status // 100 <= 5:
            d[f"s{status // 100}xx"] += 1
        if bot:
            d["bot_requests"] += 1
            d["bot_bytes"] += size
        if r.get("client") is not None:
            visitors.setdefault(day, set()).add((r["client"], ua))
            if bot:
                bot_visitors.setdefault(day, set()).add((r["client"], ua))
        if r.get("time_taken_us") is not None:
            d["timed"] += 1
            taken.append(r["time_taken_us"])
            day_taken.setdefault(day, []).append(r["time_taken_us"])
        path = r.get("path") or ""
        paths[path] += 1
        path_bytes[path] += size
        if is_static(path):
            static[0] += 1
            static[1] += size
        if status == 404:
            not_found[path] += 1
        elif status is not None and 500 <= status < 600:
            server_errors[path, status] += 1
        ua_requests[ua] += 1
        hour = hours.setdefault(t.astimezone(UTC).replace(minute=0, second=0, microsecond=0), [0, 0])
        hour[0] += 1
        hour[1] += size
        ref = r.get("referer")
        if ref is not None and ref not in NO_REFERRER:
            host = referrer_host(ref)
            if host != r["site"].translate(_LOWER):
                referrers[ref] += 1
                if host:
                    hosts[host] += 1
        c = cache.setdefault((r.get("cache_status"), cls), [0, 0])
        c[0] += 1
        c[1] += size
    for day, d in per_day.items():
        d["visitors"] = len(visitors.get(day, ()))
        d["bot_visitors"] = len(bot_visitors.get(day, ()))
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
    _, extra = _agents(ua_requests, top)
    errors = sorted(server_errors.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))[:top]
    extra.update(
        static=tuple(static),
        **_hours({h: (n, b) for h, (n, b) in hours.items()}),
        not_found=_ranked(not_found, top, "path"),
        server_errors=[{"path": p, "status": s, "requests": n} for (p, s), n in errors],
        referrers=_ranked(referrers, top, "referrer"),
        referring_sites=_ranked(hosts, top, "host"),
        cache_statuses=_cache_statuses((s, c, n, b) for (s, c), (n, b) in cache.items()),
        previous=_reference_previous(records, sites, *_previous(first, last)),
    )
    return _shape(daily, quantiles, by_req, by_bytes, quarantined, sites, first, last, extra)
