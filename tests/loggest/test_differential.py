"""Differential tests: ClickHouse-side parsing (loggest.formats.sql) must give exactly the
records and quarantine decisions of the pure-Python reference parser, line by line.

Inputs: the hand-written tricky samples, synthetic logs, and randomly mutated lines
(quotes, backslashes, spaces, NUL, invalid UTF-8, CR…), plain and gzip.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Iterator, Sequence
from datetime import UTC
from pathlib import Path

import pytest

from loggest.chparse import file_queries
from loggest.formats import resolve_format
from loggest.formats.model import COLUMNS
from loggest.formats.sql import q
from loggest.ingest import IngestOptions, python_lines
from loggest.pseudo import Pseudonymiser
from loggest.store import ClickHouseStore, open_store
from loggest.synth import nginx_cdn_lines
from tests.loggest.samples import CLOUDFRONT, COMBINED, NGINX_CDN, W3C


@pytest.fixture(scope="module")
def ch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseStore]:
    st = open_store(f"chdb://{tmp_path_factory.mktemp('diff') / 'store.chdb'}")
    yield st
    st.close()


def _norm(row: Sequence[object]) -> tuple[object, ...]:
    out = list(row)
    t = out[0]
    if hasattr(t, "tzinfo") and t.tzinfo is not None:  # type: ignore[union-attr]
        out[0] = t.astimezone(UTC).replace(tzinfo=None)  # type: ignore[union-attr]
    return tuple(out)


def python_side(path: Path, opts: IngestOptions) -> dict[int, object]:
    out: dict[int, object] = {}
    for line_no, kind, row, reason, _raw, _size in python_lines(path, opts.fmt, opts):
        out[line_no] = _norm(row) if row is not None else reason if kind == "quarantine" else kind
    return out


def sql_side(ch: ClickHouseStore, path: Path, opts: IngestOptions) -> dict[int, object]:
    source = f"file({q(str(path))}, 'LineAsString', 'line String')"
    queries, _unit = file_queries(ch, source, opts)
    out: dict[int, object] = {}
    for sql in queries:
        rows = ch.client.query(f"SELECT _line_no, {', '.join(COLUMNS)}, _reason, _kind FROM ({sql})",
                               settings={"short_circuit_function_evaluation": "disable"}).result_rows
        for r in rows:
            kind = r[-1]
            out[r[0]] = _norm(r[1:-2]) if kind == "record" else r[-2] if kind == "quarantine" else kind
    return out


def check(ch: ClickHouseStore, tmp: Path, fmt_name: str, lines: Sequence[bytes], site: str | None = None,
          pseudo: Pseudonymiser | None = None, gz: bool = False, raw: bytes | None = None,
          **options: object) -> dict[int, object]:
    """Both engines on the same file: identical records, identical reasons (whole text),
    identical kinds (blank, directive) for every line."""
    opts = IngestOptions(resolve_format(fmt_name), site=site, pseudo=pseudo, **options)  # type: ignore[arg-type]
    path = tmp / ("in.log.gz" if gz else "in.log")
    data = raw if raw is not None else b"".join(line + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data) if gz else data)
    py = python_side(path, opts)
    sq = sql_side(ch, path, opts)
    assert len(py) == len(sq)
    for n in sorted(py):
        assert sq.get(n) == py[n], f"line {n}: {lines[n - 1] if n <= len(lines) else ''!r}"
    return py


def enc(lines: Sequence[str]) -> list[bytes]:
    return [s.encode("utf-8") for s in lines]


def test_combined_samples(ch: ClickHouseStore, tmp_path: Path) -> None:
    out = check(ch, tmp_path, "combined", enc(COMBINED), site="www.a.fr")
    assert [v for v in out.values() if isinstance(v, str)] == [
        "does not match the format",
        "%s: '2x0' is not an HTTP status (3 digits)",
        "%t: '31/Feb/2027:13:55:41 +0000' is not a valid time",
        "%t: '10/Foo/2027:13:55:41 +0000' is not a valid time",
        "%b: 'ten' is not a byte count",
        "does not match the format",
        "blank",
        "%t: '10/Oct/1969:13:55:46 +0000' is not a valid time",
    ]                                                         # the bad ones, the same on both sides


def test_nginx_cdn_samples_gzip(ch: ClickHouseStore, tmp_path: Path) -> None:
    check(ch, tmp_path, "nginx-cdn", enc(NGINX_CDN), gz=True)
    check(ch, tmp_path, "nginx-cdn", enc(NGINX_CDN), site="fallback.fr")


def test_w3c_and_cloudfront(ch: ClickHouseStore, tmp_path: Path) -> None:
    check(ch, tmp_path, "w3c", enc(W3C))
    check(ch, tmp_path, "w3c", enc(W3C), site="www.b.fr")
    check(ch, tmp_path, "w3c", enc(["2027-04-25 00:00:01 1.2.3.4", *W3C]), site="www.b.fr")
    check(ch, tmp_path, "cloudfront", enc(CLOUDFRONT), gz=True)


@pytest.mark.parametrize("spec", [
    "apache:%v %h %l %u %t \"%r\" %>s %B %D \"%{User-Agent}i\" %{X-Cache}o",
    "nginx:$host $remote_addr [$time_iso8601] \"$request_method $uri $args\" $status $bytes_sent $msec",
    "nginx:$remote_addr|$time_local|$request_uri|$status|$request_time|$upstream_cache_status|$hostname",
    "varnishncsa-cdn",
])
def test_user_formats(ch: ClickHouseStore, tmp_path: Path, spec: str) -> None:
    lines = [
        "www.a.fr 192.0.2.1 - - [10/Oct/2027:13:55:36 -0700] \"GET /x?y HTTP/1.1\" 200 12 345 \"UA\" HIT",
        "www.a.fr:8080 192.0.2.1 - - [10/Oct/2027:13:55:36 -0700] \"GET /x HTTP/1.1\" 200 - - \"-\" -",
        "WWW.A.FR 192.0.2.1 [2027-04-25T21:00:00+02:00] \"GET /p a=1\" 200 1 1745607600.123",
        "www.a.fr 192.0.2.1 [2027-04-25T21:00:00+02:00] \"GET /p \" 200 1 1745607600",
        "www.a.fr 192.0.2.1 [2027-13-25T21:00:00+02:00] \"GET /p \" 200 1 99999999999",
        "192.0.2.1|25/Apr/2027:21:00:00 +0200|/a?b=c|200|0.004|STALE|edge-1",
        "192.0.2.1|25/Apr/2027:21:00:00 +0200|-|-|-|-|-",
        "192.0.2.1 - - [25/Apr/2027:21:00:00 +0200] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\" \"www.a.fr\" hit 120",
        "192.0.2.1 - - [25/Apr/2027:21:00:00 +0200] \"GET / HTTP/1.1\" 200 5 \"-\" \"UA\" \"www.a.fr\" synth 1.5",
    ]
    check(ch, tmp_path, spec, enc(lines), site="s.fr")


def mutate(rnd: random.Random, line: bytes) -> bytes:
    pieces = [b'"', b"\\", b" ", b"-", b"x", b"\t", b"[", b"]", b":", b"?", b"\x00", "é".encode(), b"\xff",
              b"\xc3", b"\r", b"9", b"  "]
    data = bytearray(line)
    for _ in range(rnd.randrange(1, 4)):
        at = rnd.randrange(len(data) + 1)
        op = rnd.random()
        if op < 0.5:
            data[at:at] = rnd.choice(pieces)
        elif op < 0.8 and at < len(data):
            del data[at]
        elif at < len(data):
            data[at:at + 1] = rnd.choice(pieces)
    return bytes(data)


@pytest.mark.parametrize("fmt_name", ["nginx-cdn", "combined"])
def test_random_mutations(ch: ClickHouseStore, tmp_path: Path, fmt_name: str) -> None:
    rnd = random.Random(20270425)
    base = list(nginx_cdn_lines(1500, seed=5, combined=fmt_name == "combined"))
    lines = [s.encode() if rnd.random() < 0.4 else mutate(rnd, s.encode()) for s in base]
    out = check(ch, tmp_path, fmt_name, lines, site="s.fr", gz=True)
    bad = sum(isinstance(v, str) and v != "blank" for v in out.values())
    assert 100 < bad < len(lines) - 100                   # both paths exercised, both kinds of outcome


def test_long_line_ipv6_and_pseudonymisation(ch: ClickHouseStore, tmp_path: Path) -> None:
    long_ua = "A" * 1_000_000
    lines = [
        f'2001:db8::1 - - [25/Apr/2027:21:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "{long_ua}" "a.fr" HIT 0.1',
        '192.0.2.77 - - [25/Apr/2027:21:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "u" "a.fr" HIT 0.1',
        '- - - [25/Apr/2027:21:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "u" "a.fr" HIT 0.1',
    ]
    for pseudo in (Pseudonymiser("hmac", b"0123456789abcdef-key"), Pseudonymiser("truncate")):
        out = check(ch, tmp_path, "nginx-cdn", enc(lines), pseudo=pseudo, max_line_bytes=2_000_000)
        clients = [v[COLUMNS.index("client")] for v in out.values()]  # type: ignore[index]
        if pseudo.mode == "hmac":
            assert all(c is None or (c.startswith("h:") and len(c) == 18) for c in clients)
        else:
            assert clients[1] == "192.0.0.0" and clients[0] == "2001:db8::"
        assert clients[2] is None


W3C_DIALECTS = [
    "#Software: Microsoft Internet Information Services 8.5",
    "#Fields: date time c-ip cs-method cs-uri-stem cs(User-Agent) sc-status sc-bytes time-taken cs-host",
    '2027-04-25 00:00:01 192.0.2.1 GET /a "Mozilla/5.0 (iPhone; CPU OS 17_0)" 200 10 125 www.a.fr',
    '2027-04-25 00:00:02 192.0.2.2 GET /b "say ""hi""" 200 10 7 "www.a.fr"',
    "2027-04-25   00:00:03\t192.0.2.3  GET /c - 200 10 1 www.a.fr   ",
    '2027-04-25 00:00:04 192.0.2.4 GET /d "" 200 10 1 www.a.fr',
    '2027-04-25 00:00:05 192.0.2.5 GET /e "unterminated 200 10 1 www.a.fr',
    '2027-04-25 00:00:06 192.0.2.6 GET /f "a"b 200 10 1 www.a.fr',
    "",
    "   \t ",
    "#Software: Oracle Web Cache 11g",
    "#Remark: fields below are the draft's",
    "#Fields: date time c-ip cs-method cs-uri sc-status bytes time-taken x-unknown-thing",
    "2027-04-25 00:00:07     192.0.2.7     GET     /g?x=1     200     55     0.25     whatever",
    "#Fields: date-local time-local c-ip cs-uri-stem sc-status sc(X-Cache)",
    "2027-03-28 01:59:59 192.0.2.8 /h 200 HIT",
    "2027-03-28 02:30:00 192.0.2.9 /i 200 HIT",
    "2027-10-31 02:30:00 192.0.2.10 /j 200 MISS",
    "2027-10-31 03:00:00 192.0.2.11 /k 200 MISS",
    "#Fields: c-ip cs-uri-stem sc-status",
    "192.0.2.12 /l 200",
]


def test_w3c_dialects_quotes_spaces_units_local_time(ch: ClickHouseStore, tmp_path: Path) -> None:
    out = check(ch, tmp_path, "w3c", enc(W3C_DIALECTS), site="s.fr")
    tt = COLUMNS.index("time_taken_us")
    assert out[3][COLUMNS.index("user_agent")] == "Mozilla/5.0 (iPhone; CPU OS 17_0)"  # type: ignore[index]
    assert out[3][tt] == 125_000                    # IIS: milliseconds  # type: ignore[index]
    assert out[4][COLUMNS.index("user_agent")] == 'say "hi"'  # type: ignore[index]
    assert out[4][COLUMNS.index("site")] == "www.a.fr"  # type: ignore[index]
    assert out[5][COLUMNS.index("path")] == "/c"  # type: ignore[index]
    assert out[6][COLUMNS.index("user_agent")] == ""  # type: ignore[index]
    assert out[7][COLUMNS.index("user_agent")] == '"unterminated'  # kept verbatim  # type: ignore[index]
    assert out[8] == "11 values for 10 #Fields"
    assert out[9] == out[10] == "blank" and out[11] == out[12] == out[13] == "directive"
    g = out[14]
    assert (g[COLUMNS.index("bytes")], g[tt], g[COLUMNS.index("query")]) == (55, 250_000, "x=1")  # type: ignore[index]
    assert out[16][COLUMNS.index("tz_offset")] == 60  # type: ignore[index]
    assert out[17] == "date-local time-local: '2027-03-28 02:30:00' does not exist in Europe/Paris (DST change)"
    assert out[18][COLUMNS.index("tz_offset")] == 120 and out[19][COLUMNS.index("tz_offset")] == 60  # type: ignore[index]
    assert out[21] == "time: no time field in the format (c-ip cs-uri-stem sc-status)"
    # the user says the unit; a BOM before the first directive is not data
    check(ch, tmp_path, "w3c", enc(W3C_DIALECTS), site="s.fr", time_unit="s")
    bom = b"\xef\xbb\xbf" + b"".join(x + b"\r\n" for x in enc(W3C_DIALECTS))
    out = check(ch, tmp_path, "w3c", enc(W3C_DIALECTS), site="s.fr", raw=bom, gz=True)
    assert out[1] == "directive" and out[3][tt] == 125_000  # type: ignore[index]


VARNISHNCSA = [
    '192.0.2.1 - - [25/Apr/2027:21:00:00 +0200] "GET http://WWW.Example.COM:80/index.html?a=1 HTTP/1.1" 200 5 "-" "UA"',
    '192.0.2.2 - - [25/Apr/2027:21:00:01 +0200] "GET https://www.example.com HTTP/1.1" 200 5 "-" "UA"',
    '192.0.2.3 - - [25/Apr/2027:21:00:02 +0200] "GET https://www.example.com?x HTTP/1.1" 200 5 "-" "UA"',
    '192.0.2.4 - - [25/Apr/2027:21:00:03 +0200] "GET /relative HTTP/1.1" 200 5 "-" "UA"',
    '192.0.2.5 - - [25/Apr/2027:21:00:04 +0200] "GET /r?u=http://evil.example/ HTTP/1.1" 200 5 "-" "UA"',
    '192.0.2.6 - - [25/Apr/2027:21:00:05 +0200] "GET ftp://x.example/a HTTP/1.1" 200 5 "-" "UA"',
    '\xef\xbb\xbf192.0.2.7 - - [25/Apr/2027:21:00:06 +0200] "GET http:///a HTTP/1.1" 200 5 "-" "UA"',
]


@pytest.mark.parametrize("site", [None, "fallback.fr"])
def test_varnishncsa_absolute_urls(ch: ClickHouseStore, tmp_path: Path, site: str | None) -> None:
    out = check(ch, tmp_path, "varnishncsa", enc(VARNISHNCSA), site=site)
    s, p, qy = COLUMNS.index("site"), COLUMNS.index("path"), COLUMNS.index("query")
    assert (out[1][s], out[1][p], out[1][qy]) == ("www.example.com", "/index.html", "a=1")  # type: ignore[index]
    assert (out[2][p], out[3][p], out[3][qy]) == ("/", "/", "x")  # type: ignore[index]
    if site is None:
        assert isinstance(out[4], str) and out[4].startswith("no site")
    else:
        assert out[4][s] == "fallback.fr" and out[5][p] == "/r"  # type: ignore[index]
        assert out[6][p] == "ftp://x.example/a"  # type: ignore[index]


def test_bom_on_clf_is_not_part_of_the_client(ch: ClickHouseStore, tmp_path: Path) -> None:
    lines = enc(COMBINED[:2])
    out = check(ch, tmp_path, "combined", lines, site="a.fr", raw=b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    assert out[1][COLUMNS.index("client")] == "192.0.2.1"  # type: ignore[index]


@pytest.mark.parametrize("gz", [False, True])
def test_lines_over_the_limit_are_quarantined_cut(ch: ClickHouseStore, tmp_path: Path, gz: bool) -> None:
    ok = '192.0.2.1 - - [25/Apr/2027:21:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "u" "a.fr" HIT 0.1'
    long_ua = ok.replace('"u"', '"' + "é" * 40_000 + '"')           # 80,000 bytes of UTF-8
    lines = [b"\xef\xbb\xbf#" + b"x" * 5000, ok.encode(), long_ua.encode() + b"\r", ok.encode(),
             b"\xff" * 5000, b"y" * 4096]
    out = check(ch, tmp_path, "nginx-cdn", lines, gz=gz, max_line_bytes=4096)
    limit = "line longer than the limit of 4096 bytes (--max-line-bytes): "
    assert out[1] == limit + "5004 bytes" and out[5] == limit + "5000 bytes"
    assert out[3] == limit + f"{len(long_ua.encode()) + 1} bytes"
    assert isinstance(out[2], tuple) and isinstance(out[4], tuple) and out[6] == "does not match the format"
