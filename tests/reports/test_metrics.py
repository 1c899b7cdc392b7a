"""SPEC §5 metrics and the issue-12 panels: the SQL over the log store equals the pure-Python reference.

The generated logs mix real browsers and real bots (uap-core test fixtures and the
crawler-user-agents list, see tests/reports/test_bots.py), records without a user agent,
self-referrals (same host, other case, with a port), referrers that are no URL, pages and
static files, raw cache statuses, and both DST changes of 2026 (29 March: 23 h;
25 October: 25 h, two 02:00 hours).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loggest.formats.cache_status import cache_class
from reports.calendar import day_start
from reports.metrics import is_static, reference_stats, referrer_host, stats, stats_by_site
from tests.reports.test_bots import INSTANCES, UAP_BOTS, UAP_HUMANS

SITES = ["www.a.gouv.fr", "evil'); DROP TABLE records; --"]
CACHE = ["HIT", "hit", "STALE", "MISS", "TCP_MISS", "PASS", "BYPASS", "ERROR", "SYNTH", "WEIRD", None]
# plus user agents that a bound Array(String) parameter must carry intact (quotes, backslashes,
# tab, newline, braces, non-ASCII): the bots among them are split from the humans by value
NASTY = "x' OR '1'='1 \\ \t \n {bots:Array(String)} é"
HUMANS = [*(ua for ua, _ in UAP_HUMANS[:12]), NASTY]
BOTS = [*UAP_BOTS[:8], *INSTANCES[:: len(INSTANCES) // 6], f"Googlebot/2.1 {NASTY}", f"curl/8.0 [{NASTY}]"]
PATHS = [None, "/", "/a", "/b", "/<script>", "/dir/", "/index.html", "/p.php", "/a.css", "/js/app.js",
         "/img/X.PNG", "/doc.pdf", "/.htaccess", "/a.b/c", "/f.woff2", *(f"/p{k}" for k in range(20))]
# Two windows: around 29 March 2026 (23-hour Paris day) and 25 October 2026 (25 hours).
WINDOWS = [datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC)]


@pytest.fixture
def log_store(tmp_path: Path) -> Iterator[Any]:
    from loggest.store import open_store

    store = open_store(f"chdb://{tmp_path}/logs")
    try:
        yield store
    finally:
        store.close()


def referer(rnd: random.Random, site: str) -> str | None:
    return rnd.choice([
        None, None, "", "-",
        f"https://{site}/a", f"http://{site.upper()}:443/b?x=1",                   # self-referrals
        "https://www.google.com/", "https://www.google.com/search?q=impots", "https://duckduckgo.com/",
        "https://user@Www.Service-Public.fr:8443/particuliers", "https://www.other.gouv.fr/",
        "android-app://com.google.android.gm/", "not a url", "https://[2001:db8::1]/x",
    ])


def generate(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        site = rnd.choice([*SITES, "www.other.gouv.fr"])
        raw_cache = rnd.choice(CACHE)
        out.append({
            "time": rnd.choice(WINDOWS) + timedelta(seconds=rnd.randrange(5 * 86400)),
            "tz_offset": 60,
            "site": site,
            "client": rnd.choice([None, *(f"192.0.2.{k}" for k in range(20))]),
            "method": "GET",
            "path": rnd.choice(PATHS),
            "query": None, "protocol": "HTTP/1.1",
            "status": rnd.choice([None, 101, 200, 200, 200, 204, 301, 304, 404, 404, 500, 502, 503]),
            "bytes": rnd.choice([None, 0, rnd.randrange(1, 2_000_000)]),
            "referer": referer(rnd, site),
            "user_agent": rnd.choice([None, "", *HUMANS, *HUMANS, *BOTS]),
            "cache_status": raw_cache,
            "cache_class": None if raw_cache is None else cache_class(raw_cache),
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
    ([SITES[0]], date(2026, 10, 25), date(2026, 10, 25)),  # the 25-hour day
    (SITES, date(2026, 10, 24), date(2026, 10, 27)),      # previous period: 20..23 October
    (["nobody.gouv.fr"], date(2026, 3, 27), date(2026, 3, 31)),
])
def test_sql_equals_reference(log_store: Any, sites: list[str], first: date, last: date) -> None:
    records = generate(4000)
    insert(log_store, records)
    got = stats(log_store.client, sites, first, last, top=5)
    want = reference_stats(records, sites, first, last, top=5)
    assert got == want
    assert log_store.rows("SELECT count() FROM records")[0][0] == 4000
    if sites[0] == "nobody.gouv.fr":
        assert got["requests"] == 0 and got["peak"] is None and got["referrers"] == []
        return
    # the data exercise every panel (an empty list on both sides would prove nothing)
    assert got["requests"] > 0 and got["time_taken"]["p50"] is not None
    assert got["audience"]["bots"]["requests"] > 0 and got["audience"]["humans"]["requests"] > 0
    assert got["content"]["static"]["requests"] > 0 and got["content"]["pages"]["requests"] > 0
    assert got["not_found"] and got["server_errors"] and got["referrers"] and got["referring_sites"]
    assert got["browsers"] and got["os"] and len(got["cache_statuses"]) > 5
    assert got["peak"] is not None
    n_days = (last - first).days + 1
    prev_lo, prev_hi = day_start(first - timedelta(days=n_days)), day_start(first)
    assert got["previous"]["requests"] == sum(1 for r in records if r["site"] in sites
                                              and prev_lo <= r["time"] < prev_hi)
    # the self-referrals are left out; the other sites and the non-URL referrer are kept
    hosts = {r["host"] for r in got["referring_sites"]} | {referrer_host(r["referrer"]) for r in got["referrers"]}
    assert not hosts & {s.lower() for s in sites}
    # the figures add up
    aud = got["audience"]
    for k in ("requests", "bytes", "visitors"):
        assert aud["humans"][k] + aud["bots"][k] == got[k]
    for k in ("requests", "bytes"):
        assert got["content"]["pages"][k] + got["content"]["static"][k] == got[k]
    assert sum(h["requests"] for h in got["by_hour"]) == got["requests"]
    assert sum(h["bytes"] for h in got["by_hour"]) == got["bytes"]
    assert sum(c["requests"] for c in got["cache_statuses"]) == got["requests"]
    assert sum(d["bot_requests"] for d in got["days"]) == aud["bots"]["requests"]
    assert sum(d["human_visitors"] for d in got["days"]) == aud["humans"]["visitors"]


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


FIREFOX = "Mozilla/5.0 (X11; U; Linux x86_64; en-US; rv:1.9.2.12) Gecko/20101027 Ubuntu/10.04 (lucid) Firefox/3.6.12"
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 4.4.2; Nexus 5 Build/KOT49H) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/35.0.1916.122 Mobile Safari/537.36")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_hand_counted_panels_on_the_25_hour_day(log_store: Any) -> None:
    base = {"tz_offset": 60, "site": "www.a.gouv.fr", "method": "GET", "query": None, "protocol": "HTTP/1.1",
            "edge": None, "file_id": 1, "time_taken_us": None}
    utc = datetime.fromisoformat

    def row(t: str, client: str, ua: str | None, path: str, status: int, size: int, ref: str | None,
            cache: str | None) -> dict[str, Any]:
        return {"time": utc(t), "client": client, "user_agent": ua, "path": path, "status": status, "bytes": size,
                "referer": ref, "cache_status": cache, "cache_class": cache and cache_class(cache)}
    rows = [
        # 25 October 2026: 00:00–01:00 UTC is 02:00 CEST, 01:00–02:00 UTC is 02:00 CET again
        row("2026-10-25T00:30:00+00:00", "a", FIREFOX, "/index.html", 200, 1000, "https://www.google.com/search?q=x", "HIT"),
        row("2026-10-25T00:40:00+00:00", "a", FIREFOX, "/a.css", 200, 500, "https://www.a.gouv.fr/index.html", "HIT"),
        row("2026-10-25T01:10:00+00:00", "b", GOOGLEBOT, "/missing", 404, 100, None, "MISS"),
        row("2026-10-25T01:20:00+00:00", "b", GOOGLEBOT, "/missing", 404, 100, "-", "MISS"),
        row("2026-10-25T01:50:00+00:00", "c", None, "/api", 503, 0, "https://WWW.A.GOUV.FR:443/", None),
        row("2026-10-25T12:00:00+00:00", "a", CHROME_ANDROID, "/img/Logo.PNG", 502, 2000, "https://duckduckgo.com/", "STALE"),
        # the day before (the previous period) and the next Paris day (outside)
        row("2026-10-24T10:00:00+00:00", "z", FIREFOX, "/", 200, 300, None, "MISS"),
        row("2026-10-25T23:00:00+00:00", "z", FIREFOX, "/", 200, 999, None, "HIT"),
    ]
    insert(log_store, [{**base, **r, "line_no": i} for i, r in enumerate(rows)])
    got = stats(log_store.client, ["www.a.gouv.fr"], date(2026, 10, 25), date(2026, 10, 25))
    assert (got["requests"], got["bytes"], got["visitors"]) == (6, 3700, 4)
    # bots: the two Googlebot requests, one visitor (b, Googlebot); no user agent counts as human
    assert got["audience"] == {"humans": {"requests": 4, "bytes": 3500, "visitors": 3},
                               "bots": {"requests": 2, "bytes": 200, "visitors": 1}}
    assert [{k: d[k] for k in ("day", "bot_requests", "human_visitors", "bot_visitors")} for d in got["days"]] == [
        {"day": "2026-10-25", "bot_requests": 2, "human_visitors": 3, "bot_visitors": 1}]
    # hour 2 of the day holds both 02:00 hours; the peak is the second one (3 requests)
    by_hour = {h["hour"]: (h["requests"], h["bytes"]) for h in got["by_hour"] if h["requests"]}
    assert len(got["by_hour"]) == 24 and by_hour == {2: (5, 1700), 13: (1, 2000)}
    assert got["peak"] == {"start": "2026-10-25T02:00:00+01:00", "requests": 3, "bytes": 200,
                           "requests_per_s": 3 / 3600, "mbit_per_s": 200 * 8 / 3600 / 1e6}
    # /a.css and /img/Logo.PNG are static (extension case-insensitive)
    assert got["content"] == {"pages": {"requests": 4, "bytes": 1200}, "static": {"requests": 2, "bytes": 2500}}
    assert got["not_found"] == [{"path": "/missing", "requests": 2}]
    assert got["server_errors"] == [{"path": "/api", "status": 503, "requests": 1},
                                    {"path": "/img/Logo.PNG", "status": 502, "requests": 1}]
    # self-referrals (same host, other case, port) and "-" / none are left out
    assert got["referrers"] == [{"referrer": "https://duckduckgo.com/", "requests": 1},
                                {"referrer": "https://www.google.com/search?q=x", "requests": 1}]
    assert got["referring_sites"] == [{"host": "duckduckgo.com", "requests": 1},
                                      {"host": "www.google.com", "requests": 1}]
    assert got["browsers"] == [{"family": "Firefox", "requests": 2}, {"family": "Chrome Mobile", "requests": 1},
                               {"family": "Other", "requests": 1}]
    assert got["os"] == [{"family": "Ubuntu", "requests": 2}, {"family": "Android", "requests": 1},
                         {"family": "Other", "requests": 1}]
    assert got["cache_statuses"] == [
        {"status": "HIT", "class": "hit", "requests": 2, "bytes": 1500},
        {"status": "MISS", "class": "miss", "requests": 2, "bytes": 200},
        {"status": "STALE", "class": "hit", "requests": 1, "bytes": 2000},
        {"status": None, "class": "unknown", "requests": 1, "bytes": 0}]
    assert got["cdn_share"] == {"requests": 3 / 5, "bytes": 3500 / 3700}
    assert got["previous"] == {"from": "2026-10-24", "to": "2026-10-24", "requests": 1, "bytes": 300,
                               "visitors": 1, "cdn_share": {"requests": 0.0, "bytes": 0.0}}


def test_spring_forward_peak_has_the_real_hour(log_store: Any) -> None:
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST; 01:30 UTC is 03:30+02:00
    base = {"tz_offset": 120, "site": "s", "client": "a", "method": "GET", "path": "/", "query": None,
            "protocol": "HTTP/1.1", "status": 200, "bytes": 10, "referer": None, "user_agent": None,
            "cache_status": None, "cache_class": None, "time_taken_us": None, "edge": None, "file_id": 1}
    times = ["2026-03-29T00:59:59+00:00", "2026-03-29T01:00:00+00:00", "2026-03-29T01:30:00+00:00"]
    insert(log_store, [{**base, "time": datetime.fromisoformat(t), "line_no": i} for i, t in enumerate(times)])
    got = stats(log_store.client, ["s"], date(2026, 3, 29), date(2026, 3, 29))
    assert got["peak"]["start"] == "2026-03-29T03:00:00+02:00" and got["peak"]["requests"] == 2
    assert [h["requests"] for h in got["by_hour"]][1:4] == [1, 0, 2]     # no 02:00 that day


@pytest.mark.parametrize(("path", "static"), [
    ("/a.css", True), ("/img/X.PNG", True), ("/f.woff2", True), ("/doc.pdf", True), ("/v.webm", True),
    ("/", False), ("/dir/", False), ("/index.html", False), ("/p.php", False), ("/api", False),
    ("/a.css/", False), ("/a.b/c", False), ("/.htaccess", False), ("/data.json", False), (None, False),
    ("", False), ("/x.", False),
])
def test_pages_and_static_files(path: str | None, static: bool) -> None:
    assert is_static(path) is static


@pytest.mark.parametrize(("ref", "host"), [
    ("https://www.google.com/search?q=a", "www.google.com"), ("http://WWW.A.GOUV.FR:443/x", "www.a.gouv.fr"),
    ("https://user:pw@host.fr/", "host.fr"), ("https://[2001:db8::1]:8080/x", "[2001:db8::1]"),
    ("android-app://com.google.android.gm/", "com.google.android.gm"), ("https://h.fr?x", "h.fr"),
    ("not a url", ""), ("www.google.com/x", ""), ("//host/x", ""),
])
def test_referrer_host(ref: str, host: str) -> None:
    assert referrer_host(ref) == host


def test_sql_extracts_hosts_and_extensions_like_python(log_store: Any) -> None:
    from reports.metrics import EXT_RE, HOST_RE, STATIC_EXTENSIONS

    refs = ["https://www.google.com/search?q=a", "http://WWW.A.GOUV.FR:443/x", "https://user:pw@host.fr/",
            "https://[2001:db8::1]:8080/x", "android-app://x.y/", "not a url", "//host/x", "HTTPS://É.fr/"]
    paths = ["/a.css", "/img/X.PNG", "/a.css/", "/a.b/c", "/.htaccess", "", "/x.", "/K.\u212aSS", "/é.pdf"]
    got = log_store.rows("SELECT arrayMap(x -> lower(extract(x, {h:String})), {refs:Array(String)}), "
                         "arrayMap(x -> lower(extract(x, {e:String})) IN {s:Array(String)}, {paths:Array(String)})",
                         {"h": HOST_RE, "e": EXT_RE, "s": sorted(STATIC_EXTENSIONS), "refs": refs, "paths": paths})
    assert got[0][0] == [referrer_host(r) for r in refs]
    assert [bool(v) for v in got[0][1]] == [is_static(p) for p in paths]


def test_user_agents_with_quotes_and_control_characters_split_by_value(log_store: Any) -> None:
    base = {"tz_offset": 120, "site": "s", "method": "GET", "path": "/", "query": None, "protocol": "HTTP/1.1",
            "status": 200, "bytes": 10, "referer": None, "cache_status": None, "cache_class": None,
            "time_taken_us": None, "edge": None, "file_id": 1, "time": datetime(2026, 4, 1, 10, tzinfo=UTC)}
    uas = [f"Googlebot/2.1 {NASTY}", NASTY, NASTY, f"curl/8.0 [{NASTY}]"]
    insert(log_store, [{**base, "client": f"c{i}", "user_agent": ua, "line_no": i} for i, ua in enumerate(uas)])
    got = stats(log_store.client, ["s"], date(2026, 4, 1), date(2026, 4, 1))
    assert got["audience"] == {"humans": {"requests": 2, "bytes": 20, "visitors": 2},
                               "bots": {"requests": 2, "bytes": 20, "visitors": 2}}


class CountingClient:
    """A client that counts the statements sent through it (the batch's point)."""

    def __init__(self, client: Any) -> None:
        self.client, self.statements = client, 0

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return self.client.query(*args, **kwargs)


ALIAS = "a.gouv.fr"
SCOPES = {SITES[0]: [SITES[0], ALIAS],           # a site and its alias: two hosts, one site
          SITES[1]: [SITES[1]],
          "www.other.gouv.fr": ["www.other.gouv.fr"],
          "nobody.gouv.fr": ["nobody.gouv.fr"]}  # no record, no file


@pytest.mark.parametrize(("first", "last"), [
    (date(2026, 3, 29), date(2026, 3, 29)),     # the 23-hour day
    (date(2026, 3, 27), date(2026, 3, 31)),
    (date(2026, 10, 24), date(2026, 10, 27)),   # the 25-hour day; previous period 20..23 October
])
def test_stats_by_site_equals_each_site_alone(log_store: Any, first: date, last: date) -> None:
    from loggest.store.clickhouse import FileEntry

    records = generate(4000)
    for r in records[::3]:
        if r["site"] == SITES[0]:
            r["site"] = ALIAS    # records keep the host they were served under
    insert(log_store, records)
    for n, (sites, q) in enumerate([([SITES[0]], 1), ([ALIAS], 2), ([SITES[0], ALIAS], 4), ([SITES[1]], 8),
                                    ([], 16), ([SITES[1], "www.other.gouv.fr"], 32)], 1):
        log_store.put_file(FileEntry(f"{n:064x}", n, f"f{n}.log", status="done", quarantined=q, sites=sites,
                                     days=[first]))
    spy = CountingClient(log_store.client)
    got = stats_by_site(spy, SCOPES, first, last, top=5)
    assert spy.statements == 8      # 8 statements for the 4 sites (stats: the same 8 for one)
    assert list(got) == list(SCOPES)
    assert got == {s: stats(log_store.client, hosts, first, last, top=5) for s, hosts in SCOPES.items()}
    quarantined = {SITES[0]: 1 + 2 + 4 + 16, SITES[1]: 8 + 16 + 32, "www.other.gouv.fr": 16 + 32,
                   "nobody.gouv.fr": 16}
    for s, hosts in SCOPES.items():
        assert got[s] == reference_stats(records, hosts, first, last, top=5, quarantined=quarantined[s])
    a = got[SITES[0]]
    assert a["requests"] > 0 and a["referring_sites"] and a["sites"] == [SITES[0], ALIAS]
    assert got["nobody.gouv.fr"]["requests"] == 0 and got["nobody.gouv.fr"]["peak"] is None


def test_overlapping_scopes_are_counted_in_each(log_store: Any) -> None:
    """A host in two scopes (a site asked for alone and with another) counts in both: one
    more batch, never a record given to only one of them."""
    records = generate(2000)
    insert(log_store, records)
    first, last = date(2026, 10, 24), date(2026, 10, 27)
    scopes = {"one": [SITES[0]], "both": [SITES[0], SITES[1]], "other": [SITES[1]], "dup": [SITES[1], SITES[1]]}
    spy = CountingClient(log_store.client)
    got = stats_by_site(spy, scopes, first, last, top=3)
    assert spy.statements == 8 * 3   # {one, other}, {both}, {dup}
    assert got == {s: stats(log_store.client, h, first, last, top=3) for s, h in scopes.items()}
    assert got["both"]["requests"] == got["one"]["requests"] + got["other"]["requests"] > 0
    assert stats_by_site(spy, {}, first, last) == {} and spy.statements == 8 * 3
    with pytest.raises(ValueError, match="ends"):
        stats_by_site(log_store.client, scopes, last, first)
