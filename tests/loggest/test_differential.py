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

from loggest.chparse import _segments
from loggest.formats import LogFormat, resolve_format
from loggest.formats.model import COLUMNS
from loggest.formats.reference import w3c_fields
from loggest.formats.sql import q, token_query, w3c_query
from loggest.ingest import python_rows
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


def python_side(path: Path, fmt: LogFormat, site: str | None, pseudo: Pseudonymiser | None
                ) -> dict[int, object]:
    out: dict[int, object] = {}
    for line_no, row, reason, _raw in python_rows(path, fmt, site, pseudo):
        out[line_no] = _norm(row) if row is not None else reason.split(":")[0]
    return out


def sql_side(ch: ClickHouseStore, path: Path, fmt: LogFormat, site: str | None, pseudo: Pseudonymiser | None
             ) -> dict[int, object]:
    source = f"file({q(str(path))}, 'LineAsString', 'line String')"
    if fmt.is_w3c:
        sep = "\t" if fmt.notation == "cloudfront" else " "
        queries = [w3c_query(n, w3c_fields(n or [], fmt.notation == "cloudfront"), sep, site, pseudo, source, a, b)
                   for n, a, b in _segments(ch, source)]
    else:
        queries = [token_query(fmt.tokens, site, pseudo, source)]
    out: dict[int, object] = {}
    for sql in queries:
        rows = ch.client.query(f"SELECT _line_no, {', '.join(COLUMNS)}, _reason FROM ({sql})",
                               settings={"short_circuit_function_evaluation": "disable"}).result_rows
        for r in rows:
            out[r[0]] = _norm(r[1:-1]) if r[-1] == "" else r[-1].split(":")[0]
    return out


def check(ch: ClickHouseStore, tmp: Path, fmt_name: str, lines: Sequence[bytes], site: str | None = None,
          pseudo: Pseudonymiser | None = None, gz: bool = False) -> dict[int, object]:
    fmt = resolve_format(fmt_name)
    path = tmp / ("in.log.gz" if gz else "in.log")
    data = b"".join(line + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data) if gz else data)
    py = python_side(path, fmt, site, pseudo)
    sq = sql_side(ch, path, fmt, site, pseudo)
    assert len(py) == len(sq)
    for n in sorted(py):
        assert sq.get(n) == py[n], f"line {n}: {lines[n - 1]!r}"
    return py


def enc(lines: Sequence[str]) -> list[bytes]:
    return [s.encode("utf-8") for s in lines]


def test_combined_samples(ch: ClickHouseStore, tmp_path: Path) -> None:
    out = check(ch, tmp_path, "combined", enc(COMBINED), site="www.a.fr")
    assert sum(isinstance(v, str) for v in out.values()) == 8        # the bad ones, quarantined on both sides


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
    bad = sum(isinstance(v, str) for v in out.values())
    assert 100 < bad < len(lines) - 100                   # both paths exercised, both kinds of outcome


def test_long_line_ipv6_and_pseudonymisation(ch: ClickHouseStore, tmp_path: Path) -> None:
    long_ua = "A" * 1_000_000
    lines = [
        f'2001:db8::1 - - [25/Apr/2027:21:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "{long_ua}" "a.fr" HIT 0.1',
        '192.0.2.77 - - [25/Apr/2027:21:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "u" "a.fr" HIT 0.1',
        '- - - [25/Apr/2027:21:00:00 +0200] "GET / HTTP/1.1" 200 5 "-" "u" "a.fr" HIT 0.1',
    ]
    for pseudo in (Pseudonymiser("hmac", b"0123456789abcdef-key"), Pseudonymiser("truncate")):
        out = check(ch, tmp_path, "nginx-cdn", enc(lines), pseudo=pseudo)
        clients = [v[COLUMNS.index("client")] for v in out.values()]  # type: ignore[index]
        if pseudo.mode == "hmac":
            assert all(c is None or (c.startswith("h:") and len(c) == 18) for c in clients)
        else:
            assert clients[1] == "192.0.2.0" and clients[0].startswith("t:")
        assert clients[2] is None
