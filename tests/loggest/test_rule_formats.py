"""The rule id (X-Cache-Rule) in log records: which format specifiers carry it, NULL when a
format has none, the presets that read lines with and without it, and both engines giving
the same rows (the differential harness of test_differential)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from loggest.formats import OPTIONAL_TAILS, resolve_format
from loggest.formats.convert import LineError
from loggest.formats.model import COL, COLUMNS, Field
from loggest.formats.reference import diagnose, w3c_fields
from loggest.formats.sql import fast_plan
from loggest.store import ClickHouseStore, open_store
from loggest.synth import nginx_cdn_lines
from tests.loggest.samples import CLOUDFRONT, COMBINED, NGINX_CDN
from tests.loggest.test_differential import check, enc, mutate

RULE = COLUMNS.index("rule")


@pytest.fixture(scope="module")
def ch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseStore]:
    st = open_store(f"chdb://{tmp_path_factory.mktemp('rule') / 'store.chdb'}")
    yield st
    st.close()


def kinds(spec: str) -> dict[str, str]:
    return {t.name: t.kind for t in resolve_format(spec).tokens if isinstance(t, Field)}


@pytest.mark.parametrize(("spec", "name", "kind"), [
    ('apache:%h %t "%r" %{X-Cache-Rule}o', "%{X-Cache-Rule}o", "rule"),
    ('apache:%h %t "%r" %{x-cache-rule}o', "%{x-cache-rule}o", "rule"),
    ('apache:%h %t "%r" %{X-Cache-Rule}i', "%{X-Cache-Rule}i", "skip"),       # a client's header: not ours
    ('apache:%h %t "%r" %{VCL_Log:cdn-rule}x', "%{VCL_Log:cdn-rule}x", "rule"),
    ('apache:%h %t "%r" %{VCL_Log:other}x', "%{VCL_Log:other}x", "skip"),
    ('nginx:$remote_addr [$time_local] "$request" $sent_http_x_cache_rule', "$sent_http_x_cache_rule", "rule"),
    ('nginx:$remote_addr [$time_local] "$request" $upstream_http_x_cache_rule', "$upstream_http_x_cache_rule",
     "rule"),
    ('nginx:$remote_addr [$time_local] "$request" $http_x_cache_rule', "$http_x_cache_rule", "skip"),
])
def test_specifiers(spec: str, name: str, kind: str) -> None:
    assert kinds(spec)[name] == kind


def test_w3c_specifiers() -> None:
    got = {f.name: f.kind for f in w3c_fields(["sc(X-Cache-Rule)", "x-cache-rule", "cs(X-Cache-Rule)",
                                               "s(x-cache-rule)"])}
    assert got == {"sc(X-Cache-Rule)": "rule", "x-cache-rule": "rule", "cs(X-Cache-Rule)": "skip",
                   "s(x-cache-rule)": "rule"}


@pytest.mark.parametrize("name", ["clf", "combined", "varnishncsa"])
def test_presets_without_the_field(name: str) -> None:
    assert "rule" not in kinds(name).values() and resolve_format(name).optional == 0


@pytest.mark.parametrize("name", sorted(OPTIONAL_TAILS))
def test_cdn_presets_end_with_an_optional_rule(name: str) -> None:
    fmt = resolve_format(name)
    fields = [t for t in fmt.tokens if isinstance(t, Field)]
    assert fields[-1].kind == "rule" and fmt.optional == 3    # ' "', the field, '"'


def test_python_parser_reads_both_shapes() -> None:
    p = resolve_format("nginx-cdn").parser()
    old = NGINX_CDN[1]
    assert p.parse(old)[RULE] is None                                                  # type: ignore[index]
    assert p.parse(old + ' "news"')[RULE] == "news"                                    # type: ignore[index]
    assert p.parse(old + ' "-"')[RULE] is None                                         # type: ignore[index]
    assert p.parse(old + ' ""')[RULE] is None                                          # type: ignore[index]
    row = p.parse(old + ' "o1.r2"')
    assert row is not None and row[COL["time_taken_us"]] == 1_500_000 and row[COL["cache_class"]] == "miss"
    with pytest.raises(LineError, match=r"^\$request_time: '1.5 extra' is not a duration$"):
        p.parse(old + " extra")                 # unquoted text after the last field: as before the tail
    with pytest.raises(LineError, match=r"^\$request_time: '1.5 \"news' is not a duration$"):
        p.parse(old + ' "news')
    # `logs rejects` explains a line that matches neither shape with the one that reads further
    tokens = list(resolve_format("nginx-cdn").tokens)
    bad = old.replace('"UA"', "UA")
    assert diagnose(tokens, bad, 3) == diagnose(tokens[:-3], bad) == (
        "expected '\" \"' after $http_referer at column 72, found '\" UA \"www.a.fr\" EXPIRED '")


# varnishncsa-cdn: '%h %l %u %t "%r" %s %b "%{Referer}i" "%{User-agent}i" "%{Host}i"
#                   %{Varnish:handling}x %D' + ' "%{X-Cache-Rule}o"'
VARNISH = [
    '192.0.2.1 - - [25/Apr/2027:21:00:00 +0200] "GET http://www.a.fr/x HTTP/1.1" 200 5 "-" "UA" "www.a.fr" hit 120',
    '192.0.2.1 - - [25/Apr/2027:21:00:01 +0200] "GET http://www.a.fr/x HTTP/1.1" 200 5 "-" "UA" "www.a.fr" miss 99 '
    '"a-default"',
    '192.0.2.1 - - [25/Apr/2027:21:00:02 +0200] "GET http://www.a.fr/x HTTP/1.1" 200 5 "-" "UA" "www.a.fr" pass 9 "-"',
    '192.0.2.1 - - [25/Apr/2027:21:00:03 +0200] "GET http://www.a.fr/x HTTP/1.1" 200 5 "-" "UA" "www.a.fr" miss 9 '
    '"o1.r1" x',
    '192.0.2.1 - - [25/Apr/2027:21:00:04 +0200] "GET http://www.a.fr/x HTTP/1.1" 200 5 "-" "UA" "www.a.fr" miss 9x '
    '"r2"',
]


def test_both_engines_cdn_presets(ch: ClickHouseStore, tmp_path: Path) -> None:
    lines = [*NGINX_CDN, *(line + f' "{r}"' for line, r in zip(NGINX_CDN, ["r1", "-", "", "a b", 'q\\"t', "x", "y",
                                                                              "o1.r1"], strict=True))]
    out = check(ch, tmp_path, "nginx-cdn", enc(lines), gz=True)
    rules = [v[RULE] if isinstance(v, tuple) else v for v in out.values()]
    assert rules[8:] == ["r1", None, None, "no site: the line has no host (host field '-' or absent, no absolute "
                         "URL) and no --site was given", 'q\\"t', "$request_time: '1e3' is not a duration",
                         "$request_time: '0.5 extra' is not a duration", "o1.r1"]
    assert rules[0] is None
    out = check(ch, tmp_path, "varnishncsa-cdn", enc(VARNISH))
    assert [v[RULE] if isinstance(v, tuple) else v for v in out.values()] == [
        None, "a-default", None, "%D: '9 \"o1.r1\" x' is not a duration", "%D: '9x' is not a duration"]


@pytest.mark.parametrize("spec", [
    'apache:%h %l %u %t "%r" %>s %b %{X-Cache}o %{X-Cache-Rule}o %D',
    'apache:%h %t "%r" %s %b "%{Host}i" "%{VCL_Log:cdn-rule}x"',
    'nginx:$remote_addr [$time_local] "$request" $status $bytes_sent $upstream_http_x_cache_rule|$host',
])
def test_both_engines_user_formats(ch: ClickHouseStore, tmp_path: Path, spec: str) -> None:
    lines = [
        '192.0.2.1 - - [25/Apr/2027:21:00:00 +0200] "GET /a HTTP/1.1" 200 5 MISS news 12',
        '192.0.2.1 - - [25/Apr/2027:21:00:00 +0200] "GET /a HTTP/1.1" 200 5 HIT - 12',
        '192.0.2.1 [25/Apr/2027:21:00:00 +0200] "GET /a HTTP/1.1" 200 5 "www.a.fr" "r-1.x_y"',
        '192.0.2.1 [25/Apr/2027:21:00:00 +0200] "GET /a HTTP/1.1" 200 5 "www.a.fr" "-"',
        '192.0.2.1 [25/Apr/2027:21:00:00 +0200] "GET /a HTTP/1.1" 200 5 img|www.a.fr',
        '192.0.2.1 [25/Apr/2027:21:00:00 +0200] "GET /a HTTP/1.1" 200 5 -|www.a.fr',
    ]
    out = check(ch, tmp_path, spec, enc(lines), site="s.fr")
    rules = {v[RULE] for v in out.values() if isinstance(v, tuple)}
    assert rules in ({"news", None}, {"r-1.x_y", None}, {"img", None})


def test_both_engines_w3c_and_formats_without_the_field(ch: ClickHouseStore, tmp_path: Path) -> None:
    w3c = [
        "#Fields: date time c-ip cs-uri-stem sc-status x-cache-status sc(X-Cache-Rule) cs-host",
        "2027-04-25 00:00:01 192.0.2.1 /a 200 MISS news www.a.fr",
        '2027-04-25 00:00:02 192.0.2.1 /a 200 HIT "o1.r1" www.a.fr',
        "2027-04-25 00:00:03 192.0.2.1 /a 200 HIT - www.a.fr",
        "#Fields: date time c-ip cs-uri-stem sc-status x-cache-rule",
        "2027-04-25 00:00:04 192.0.2.1 /b 200 img",
        "#Fields: date time c-ip cs-uri-stem sc-status",
        "2027-04-25 00:00:05 192.0.2.1 /c 200",
    ]
    out = check(ch, tmp_path, "w3c", enc(w3c), site="www.a.fr")
    assert [v[RULE] for v in out.values() if isinstance(v, tuple)] == ["news", "o1.r1", None, "img", None]
    for name, lines, site in (("cloudfront", CLOUDFRONT, None), ("combined", COMBINED, "www.a.fr")):
        out = check(ch, tmp_path, name, enc(lines), site=site)
        assert {v[RULE] for v in out.values() if isinstance(v, tuple)} == {None}      # never invented


def test_both_shapes_stay_on_the_split_path(ch: ClickHouseStore) -> None:
    """Old archives (no rule) and new lines (rule) are split, not regex-parsed: same speed."""
    fmt = resolve_format("nginx-cdn")
    plan = fast_plan(fmt.tokens, fmt.optional)
    assert plan is not None
    test = " AND ".join(["position(_l, '\\\\') = 0", *plan[0]])
    old = list(nginx_cdn_lines(20, seed=3))
    new = list(nginx_cdn_lines(20, seed=3, rules=["r1", "-", "o1.news"]))
    assert all(b.startswith(a) for a, b in zip(old, new, strict=True))
    rows = ch.rows(f"SELECT ({test}) FROM (SELECT _l, splitByChar('\"', _l) AS _q "
                   "FROM (SELECT arrayJoin({ls:Array(String)}) AS _l))", {"ls": [*old, *new, old[0] + " x"]})
    assert [bool(r[0]) for r in rows] == [True] * 40 + [False]


def test_random_mutations_with_rules(ch: ClickHouseStore, tmp_path: Path) -> None:
    rnd = random.Random(12)
    base = [*nginx_cdn_lines(800, seed=8, rules=["r1", "-", "news", "o1.r2", ""]), *nginx_cdn_lines(400, seed=9)]
    rnd.shuffle(base)
    lines = [s.encode() if rnd.random() < 0.4 else mutate(rnd, s.encode()) for s in base]
    out = check(ch, tmp_path, "nginx-cdn", lines, site="s.fr", gz=True)
    got = [v[RULE] for v in out.values() if isinstance(v, tuple)]
    assert {"r1", "news", "o1.r2", None} <= set(got)
