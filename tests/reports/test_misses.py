"""Misses by rule: the SQL over the log store equals the pure-Python reference, and a small
hand-counted case gives exactly the figures and the TTLs of the policy."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cache_rules.loader import load_policy_dir
from cache_rules.model import Policy
from reports.misses import misses_by_rule, misses_by_rule_by_site, reference_misses_by_rule, statement

SITE = "www.a.gouv.fr"
EVIL = "evil'); DROP TABLE records; --"
POLICY = {
    SITE: """\
site: www.a.gouv.fr
aliases: [a.gouv.fr]
origin: https://origin.a.gouv.fr
rules:
  - {id: a-default, default: true, ttl: 1h}
  - {id: a-news, directory: /actualites/, ttl: 1m}
  - {id: a-admin, directory: /admin/, cache: false}
overrides:
  - from: 2026-03-28T18:00:00+01:00
    until: 2026-03-29T06:00:00+02:00
    reason: election night
    rules:
      - {id: a-results, directory: /resultats/, ttl: 10s}
""",
    "www.b.gouv.fr": """\
site: www.b.gouv.fr
origin: https://origin.b.gouv.fr
rules:
  - {id: a-news, default: true, ttl: 2h}
""",
}


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    d = tmp_path / "sites"
    d.mkdir()
    for name, text in POLICY.items():
        (d / f"{name}.yaml").write_text(text)
    return load_policy_dir(d).require_valid()


@pytest.fixture
def log_store(tmp_path: Path) -> Iterator[Any]:
    from loggest.store import open_store

    store = open_store(f"chdb://{tmp_path}/logs")
    try:
        yield store
    finally:
        store.close()


def record(t: datetime, site: str, rule: str | None, cache_class: str | None, line: int) -> dict[str, Any]:
    return {"time": t, "tz_offset": 60, "site": site, "client": "192.0.2.1", "method": "GET", "path": "/",
            "query": None, "protocol": "HTTP/1.1", "status": 200, "bytes": 10, "referer": None,
            "user_agent": "UA", "cache_status": None, "cache_class": cache_class, "time_taken_us": None,
            "edge": None, "rule": rule, "file_id": 1, "line_no": line}


def insert(store: Any, records: list[dict[str, Any]]) -> None:
    cols = list(records[0])
    store.client.insert("records", [[r[c] for c in cols] for r in records], column_names=cols)


def generate(n: int, seed: int = 3) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    t0 = datetime(2026, 3, 27, tzinfo=UTC)   # spans Sunday 29 March (23 h in Paris) and the day edges
    return [record(t0 + timedelta(seconds=rnd.randrange(4 * 86400)),
                   rnd.choice([SITE, "a.gouv.fr", "www.b.gouv.fr", EVIL, "www.other.gouv.fr"]),
                   rnd.choice([None, "a-default", "a-news", "a-admin", "a-results", "gone", EVIL]),
                   rnd.choice(["hit", "hit", "miss", "pass", "error", "unknown", None]), i + 1)
            for i in range(n)]


@pytest.mark.parametrize(("sites", "first", "last", "top"), [
    ([SITE, "a.gouv.fr"], date(2026, 3, 27), date(2026, 3, 30), 10),
    ([SITE, "a.gouv.fr", "www.b.gouv.fr", EVIL], date(2026, 3, 28), date(2026, 3, 29), 3),
    ([EVIL], date(2026, 3, 29), date(2026, 3, 29), 10),
    (["www.nobody.fr"], date(2026, 3, 27), date(2026, 3, 30), 10),
])
def test_sql_equals_reference(log_store: Any, policy: Policy, sites: list[str], first: date, last: date,
                              top: int) -> None:
    records = generate(3000)
    insert(log_store, records)
    for pol in (policy, None):
        got = misses_by_rule(log_store.client, sites, first, last, pol, top)
        assert got == reference_misses_by_rule(records, sites, first, last, pol, top)
    assert log_store.rows("SELECT count() FROM records") == [(3000,)]      # the hostile name was only a value


def test_by_site_equals_each_site_alone_in_one_statement(log_store: Any, policy: Policy) -> None:
    records = generate(3000)
    insert(log_store, records)
    scopes = {SITE: [SITE, "a.gouv.fr"], "www.b.gouv.fr": ["www.b.gouv.fr"], EVIL: [EVIL],
              "www.nobody.fr": ["www.nobody.fr"], "a and b": ["a.gouv.fr", "www.b.gouv.fr"]}   # overlapping
    sent = []

    class Spy:
        def query(self, sql: str, parameters: dict[str, Any]) -> Any:
            sent.append(sql)
            return log_store.client.query(sql, parameters=parameters)

    first, last = date(2026, 3, 28), date(2026, 3, 29)
    for pol in (policy, None):
        got = misses_by_rule_by_site(Spy(), scopes, first, last, pol, 3)
        assert list(got) == list(scopes)
        assert got == {s: misses_by_rule(log_store.client, h, first, last, pol, 3) for s, h in scopes.items()}
        assert got == {s: reference_misses_by_rule(records, h, first, last, pol, 3) for s, h in scopes.items()}
    assert len(sent) == 2 and got[SITE]["rows"] and got["www.nobody.fr"]["with_rule"] == 0
    assert misses_by_rule_by_site(Spy(), {}, first, last) == {} and len(sent) == 2


def test_hand_counted(log_store: Any, policy: Policy) -> None:
    day = datetime(2026, 3, 28, 12, tzinfo=UTC)
    rows = [
        *[(SITE, "a-news", "miss")] * 3, (SITE, "a-news", "hit"), ("a.gouv.fr", "a-news", "pass"),  # alias merges
        *[(SITE, "a-admin", "pass")] * 4,
        (SITE, "a-results", "miss"), (SITE, "a-results", "hit"),
        *[(SITE, "gone", "miss")] * 2,                     # a rule the policy no longer has
        (SITE, "a-default", "hit"), (SITE, "a-default", "error"),  # no miss: not listed, still counted
        (SITE, None, "miss"), (SITE, None, "hit"),          # no rule logged
        ("www.b.gouv.fr", "a-news", "miss"),                # same id, other site, other TTL
    ]
    records = [record(day, s, r, c, i) for i, (s, r, c) in enumerate(rows)]
    # Paris day bounds: 28 March 00:00 +01:00 is 27 March 23:00 UTC; 29 March is 23 h long
    records.append(record(datetime(2026, 3, 27, 22, 59, 59, tzinfo=UTC), SITE, "a-news", "miss", 90))  # 27th
    records.append(record(datetime(2026, 3, 27, 23, 0, 0, tzinfo=UTC), SITE, "a-news", "miss", 91))    # 28th
    records.append(record(datetime(2026, 3, 29, 22, 0, 0, tzinfo=UTC), SITE, "a-news", "miss", 92))    # 30th
    insert(log_store, records)
    got = misses_by_rule(log_store.client, [SITE, "a.gouv.fr", "www.b.gouv.fr"], date(2026, 3, 28),
                         date(2026, 3, 29), policy, top=4)
    assert got == {
        "rows": [
            {"site": SITE, "rule": "a-news", "rule_exists": True, "ttl_s": 60, "override": None,
             "misses": 5, "miss": 4, "pass": 1, "requests": 6},
            {"site": SITE, "rule": "a-admin", "rule_exists": True, "ttl_s": 0, "override": None,
             "misses": 4, "miss": 0, "pass": 4, "requests": 4},
            {"site": SITE, "rule": "gone", "rule_exists": False, "ttl_s": None, "override": None,
             "misses": 2, "miss": 2, "pass": 0, "requests": 2},
            {"site": SITE, "rule": "a-results", "rule_exists": True, "ttl_s": 10, "override": "election night",
             "misses": 1, "miss": 1, "pass": 0, "requests": 2},
        ],                                                   # www.b.gouv.fr's a-news (1 miss) is 5th: cut
        "with_rule": 17, "without_rule": 2, "misses_with_rule": 13, "misses_without_rule": 1,
    }
    unknown = misses_by_rule(log_store.client, ["www.b.gouv.fr"], date(2026, 3, 28), date(2026, 3, 29))
    assert unknown["rows"] == [{"site": "www.b.gouv.fr", "rule": "a-news", "rule_exists": None, "ttl_s": None,
                                "override": None, "misses": 1, "miss": 1, "pass": 0, "requests": 1}]
    b = misses_by_rule(log_store.client, ["www.b.gouv.fr"], date(2026, 3, 28), date(2026, 3, 29), policy)
    assert b["rows"][0]["ttl_s"] == 7200                     # looked up in its own site's rules


def test_ingested_logs_without_the_field(log_store: Any, policy: Policy, tmp_path: Path) -> None:
    """A format without a rule field: every request is without_rule, no row is invented."""
    from loggest.formats import resolve_format
    from loggest.ingest import IngestOptions, ingest
    from loggest.sources.local import local_files
    from loggest.synth import nginx_cdn_lines, write_log

    logs = tmp_path / "in"
    logs.mkdir()
    write_log(logs / f"{SITE}_2027-04-25.log", list(nginx_cdn_lines(300, SITE)))
    write_log(logs / f"{SITE}_2027-04-26.log", list(nginx_cdn_lines(
        200, SITE, datetime(2027, 4, 26, tzinfo=UTC), rules=["a-news", "a-default", "-"])))
    ingest(log_store, local_files([logs], 0), IngestOptions(resolve_format("nginx-cdn")))
    old = misses_by_rule(log_store.client, [SITE], date(2027, 4, 25), date(2027, 4, 25), policy)
    assert old["rows"] == [] and old["with_rule"] == 0 and old["without_rule"] > 250
    new = misses_by_rule(log_store.client, [SITE], date(2027, 4, 26), date(2027, 4, 27), policy)
    assert {r["rule"] for r in new["rows"]} == {"a-news", "a-default"}
    assert [r["ttl_s"] for r in new["rows"] if r["rule"] == "a-news"] == [60]
    assert new["with_rule"] + new["without_rule"] + old["with_rule"] + old["without_rule"] == 500


def test_parameters_are_bound() -> None:
    sql, params = statement([EVIL], date(2026, 3, 29), date(2026, 3, 29))
    assert EVIL not in sql and "{sites:Array(String)}" in sql and params["sites"] == [EVIL]
    assert (params["lo"], params["hi"]) == (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22,
                                                                                            tzinfo=UTC))
    with pytest.raises(ValueError, match="before it starts"):
        statement([SITE], date(2026, 3, 2), date(2026, 3, 1))
