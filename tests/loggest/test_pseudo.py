"""Pseudonymisation (issue #10 item 10): CNIL-level truncation and daily-rotating HMAC,
the Python reference and the ClickHouse SQL giving the same stored values."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.pseudo import _ADDRESS, ADDRESS_RE, PARIS, PseudoError, Pseudonymiser
from loggest.store import ClickHouseStore, open_store
from loggest.synth import write_log

KEY = b"0123456789abcdef-master-key"
ALL = [Pseudonymiser("truncate"), Pseudonymiser("truncate", level=3), Pseudonymiser("truncate", level=4),
       Pseudonymiser("hmac", KEY), Pseudonymiser("hmac", b"6" * 64), Pseudonymiser("hmac", bytes(range(100)))]


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


# Europe/Paris: 2027-03-28 CET → CEST at 01:00 UTC, 2027-10-31 CEST → CET at 01:00 UTC
TIMES = [utc(s) for s in (
    "2027-03-27 22:59:59", "2027-03-27 23:00:00",     # midnight in Paris (CET)
    "2027-03-28 00:30:00", "2027-03-28 01:30:00",     # either side of the spring change: same Paris day
    "2027-03-28 21:59:59", "2027-03-28 22:00:00",     # midnight in Paris (CEST)
    "2027-10-30 21:59:59", "2027-10-30 22:00:00",
    "2027-10-31 00:30:00", "2027-10-31 01:30:00",     # either side of the autumn change
    "2027-10-31 22:59:59", "2027-10-31 23:00:00",
    "1970-01-01 00:00:00", "2099-12-31 23:59:59",
)]

FIXED = [
    "192.0.2.1", "0.0.0.0", "255.255.255.255", "10.1.2.3",
    "::", "::1", "1::", "2001:db8::", "2001:db8::1", "2001:DB8:ABCD:1234::1", "2001:0db8:0000:0000:0000:0000:0000:0001",
    "2001:db8:0:0:1:0:0:1", "2001:0:0:1::1", "0:0:0:0:0:0:0:0", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::1", "64:ff9b::192.0.2.1",
    "::ffff:192.0.2.1", "::FFFF:192.0.2.1", "::ffff:c000:201", "0:0:0:0:0:ffff:192.0.2.1", "::ffff:0.0.0.0",
    "::192.0.2.1", "1:2:3:4:5:6:192.0.2.1", "2001:db8::1.2.3.4",
    # not addresses (for both sides)
    "fe80::1%eth0", "::ffff:01.2.3.4", "01.2.3.4", "1.2.3.04", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1::2:3:4:5:6:7:8",
    "1:2::3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", ":::", "1::2::3", "12345::", "::00001", "[::1]", "::1.2.3",
    "1:2:3:4:5:6:7:1.2.3.4", "g::", "", " ::1", "::1 ", "1.2.3.4\n", "1.2.3.4\r", "host.example.gouv.fr",
    "localhost", "é", "١.٢.٣.٤", "-x", "unknown",
]


def corpus(seed: int = 20271031) -> list[str]:
    """Fixed cases + a few hundred generated addresses of every shape, and near-misses."""
    rnd = random.Random(seed)
    out = list(FIXED)
    for _ in range(150):
        out.append(str(ipaddress.IPv4Address(rnd.getrandbits(32))))
    for _ in range(200):
        n = rnd.getrandbits(128)
        for _ in range(rnd.randrange(4)):                     # zero runs of every length and place
            a, b = sorted(rnd.sample(range(9), 2))
            n &= ~(((1 << (16 * (b - a))) - 1) << (16 * (8 - b)))
        ip = ipaddress.IPv6Address(n)
        out.append(rnd.choice([str(ip), ip.exploded, str(ip).upper(), ip.exploded.upper()]))
    for _ in range(60):
        v4 = ipaddress.IPv4Address(rnd.getrandbits(32))
        out.append(rnd.choice([f"::ffff:{v4}", f"::FFFF:{v4}", f"::ffff:{int(v4) >> 16:x}:{int(v4) & 0xFFFF:x}"]))
    alphabet = "0123456789abcdefABCDEF:.%"
    for _ in range(200):                                      # mostly garbage, a few valid by chance
        out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 16))))
    return out


@pytest.fixture
def ch(tmp_path: Path) -> Iterator[ClickHouseStore]:
    st = open_store(f"chdb://{tmp_path / 'pseudo.chdb'}")
    yield st
    st.close()


def sql_values(ch: ClickHouseStore, p: Pseudonymiser, clients: list[str], times: list[datetime | None],
               time_sql: str = "t") -> list[str | None]:
    rows = ch.rows(
        f"SELECT i, {p.sql('s', time_sql)} FROM (SELECT tupleElement(x, 1) AS i, tupleElement(x, 2) AS s, "
        "tupleElement(x, 3) AS t FROM (SELECT arrayJoin(arrayZip({i:Array(UInt32)}, {s:Array(String)}, "
        "{t:Array(Nullable(DateTime('UTC')))})) AS x)) ORDER BY i",
        {"i": list(range(len(clients))), "s": clients,
         "t": [None if t is None else t.replace(tzinfo=None) for t in times]},
    )
    assert [r[0] for r in rows] == list(range(len(clients)))
    return [r[1] for r in rows]


def test_python_and_sql_identical(ch: ClickHouseStore) -> None:
    addresses = corpus()
    assert len(addresses) > 600
    clients = [a for a in addresses for _ in range(2)]
    rnd = random.Random(3)
    times: list[datetime | None] = [rnd.choice([*TIMES, None]) for _ in clients]
    for p in ALL:
        got = sql_values(ch, p, clients, times)
        want = [p.apply(c, t) for c, t in zip(clients, times, strict=True)]
        diff = [(c, t, w, g) for c, t, w, g in zip(clients, times, want, got, strict=True) if w != g]
        assert not diff, (p, diff[:10])
    # a format without a time: the SQL gets a literal NULL (the line is quarantined anyway)
    hm = Pseudonymiser("hmac", KEY)
    assert sql_values(ch, hm, ["192.0.2.1"], [TIMES[0]], time_sql="NULL") == [None] == [hm.apply("192.0.2.1", None)]


def test_address_grammar_is_pythons_without_zones() -> None:
    for a in corpus(7):
        try:
            ipaddress.ip_address(a)
            valid = "%" not in a
        except ValueError:
            valid = False
        assert bool(_ADDRESS.fullmatch(a)) == valid, a
    assert ADDRESS_RE.startswith("^") and ADDRESS_RE.endswith("$") and "\\" not in ADDRESS_RE


@pytest.mark.parametrize(("level", "cases"), [
    (2, {"192.0.2.1": "192.0.0.0", "::ffff:192.0.2.1": "192.0.0.0", "::ffff:c000:201": "192.0.0.0",
         "2001:db8:1:2::1": "2001:db8:1::", "2001:DB8:ABCD:1234::": "2001:db8:abcd::", "2001:0:db8::1": "2001:0:db8::",
         "::1": "::", "::192.0.2.1": "::", "64:ff9b::192.0.2.1": "64:ff9b::"}),
    (3, {"192.0.2.1": "192.0.0.0", "198.51.100.7": "198.0.0.0", "2001:db8:1::1": "2001:d00::", "::ffff:10.1.2.3": "10.0.0.0"}),
    (4, {"192.0.2.1": "0.0.0.0", "2001:db8::1": "::", "::ffff:10.1.2.3": "0.0.0.0"}),
])
def test_truncation_levels(level: int, cases: dict[str, str]) -> None:
    p = Pseudonymiser("truncate", level=level)
    for address, want in cases.items():
        assert p.apply(address, None) == want == p.apply(address, TIMES[0]), address


def test_non_addresses_get_an_unkeyed_hash() -> None:
    p = Pseudonymiser("truncate")
    for value in ("host.example.gouv.fr", "fe80::1%eth0", "01.2.3.4", "1::2:3:4:5:6:7:8"):
        assert p.apply(value, None) == "t:" + hmac.new(b"", value.encode(), hashlib.sha256).hexdigest()[:16]
    assert p.apply(None, TIMES[0]) is None


def test_hmac_key_rotates_per_paris_day() -> None:
    p = Pseudonymiser("hmac", KEY)

    def expected(address: str, day: str) -> str:
        day_key = hmac.new(KEY, f"cdnctl-pseudo-v2:{day}".encode(), hashlib.sha256).digest()
        return "h:" + hmac.new(day_key, address.encode(), hashlib.sha256).hexdigest()[:16]

    a = "192.0.2.1"
    assert p.apply(a, utc("2027-03-27 22:59:59")) == expected(a, "2027-03-27")
    assert p.apply(a, utc("2027-03-27 23:00:00")) == expected(a, "2027-03-28")
    # the same Paris day: same pseudonym, across the DST change too
    same = {p.apply(a, utc(t)) for t in ("2027-03-27 23:00:00", "2027-03-28 00:30:00", "2027-03-28 01:30:00",
                                          "2027-03-28 21:59:59")}
    assert same == {expected(a, "2027-03-28")}
    assert p.apply(a, utc("2027-03-28 22:00:00")) == expected(a, "2027-03-29")
    assert p.apply(a, utc("2027-10-30 21:59:59")) != p.apply(a, utc("2027-10-30 22:00:00"))
    assert p.apply(a, utc("2027-10-31 00:30:00")) == p.apply(a, utc("2027-10-31 22:59:59"))
    # an aware time in another zone is the same instant; a naive time is UTC
    assert p.apply(a, utc("2027-03-27 23:00:00").astimezone()) == expected(a, "2027-03-28")
    assert p.apply(a, datetime(2027, 3, 27, 23, 0)) == expected(a, "2027-03-28")
    # another key, another address: other pseudonyms; no time: nothing
    assert Pseudonymiser("hmac", KEY + b"x").apply(a, TIMES[1]) != p.apply(a, TIMES[1])
    assert p.apply("192.0.2.2", TIMES[1]) != p.apply(a, TIMES[1])
    assert p.apply(a, None) is None and p.apply(None, TIMES[1]) is None
    assert KEY.hex() not in repr(p) and str(KEY) not in repr(p)


def test_option_parsing(tmp_path: Path) -> None:
    assert Pseudonymiser.from_option(None) is None and Pseudonymiser.from_option("") is None
    assert Pseudonymiser.from_option("truncate") == Pseudonymiser("truncate", level=2)
    for n in (2, 3, 4):
        assert Pseudonymiser.from_option(f"truncate:{n}") == Pseudonymiser("truncate", level=n)
    with pytest.raises(PseudoError, match="below the CNIL level"):
        Pseudonymiser.from_option("truncate:1")
    with pytest.raises(PseudoError, match="below the CNIL level"):
        Pseudonymiser("truncate", level=1)
    for bad in ("truncate:0", "truncate:5", "truncate:", "truncate:x", "truncate:²", "truncate:-2"):
        with pytest.raises(PseudoError, match="2, 3 or 4"):
            Pseudonymiser.from_option(bad)
    with pytest.raises(PseudoError, match="hmac:KEYFILE or truncate"):
        Pseudonymiser.from_option("rot13")
    key = tmp_path / "key"
    key.write_bytes(KEY + b"\n")
    assert Pseudonymiser.from_option(f"hmac:{key}") == Pseudonymiser("hmac", KEY)
    key.write_bytes(b"short")
    with pytest.raises(PseudoError, match="shorter than 16 bytes"):
        Pseudonymiser.from_option(f"hmac:{key}")
    with pytest.raises(PseudoError, match="cannot read key file"):
        Pseudonymiser.from_option(f"hmac:{tmp_path / 'missing'}")


# ---- through the CLI, both engines ----

SITE = "www.example.gouv.fr"


CLI_CLIENTS = [
    "192.0.2.1", "192.0.2.200", "0.0.0.0", "10.1.2.3", "::", "::1", "2001:db8::1", "2001:DB8:ABCD:1234::1",
    "2001:db8:1:2::abcd", "2001:DB8:1:2::ABCD", "fe80::1", "::ffff:192.0.2.1", "::ffff:c000:201", "::192.0.2.1",
    "64:ff9b::192.0.2.1", "fe80::1%eth0", "01.2.3.4", "1::2:3:4:5:6:7:8", "host.example.gouv.fr", "é",
]


def log_lines() -> list[tuple[str, str, str]]:
    """(line, client, user agent): times around the Paris day changes, in three offsets."""
    rnd = random.Random(11)
    out = []
    for i in range(300):
        t = rnd.choice(TIMES[:12]) + timedelta(seconds=rnd.randrange(-2, 3))
        offset = rnd.choice(["+0000", "+0100", "+0200"])
        stamp = (t + timedelta(hours=int(offset[1:3]))).strftime("%d/%b/%Y:%H:%M:%S ") + offset
        client, ua = rnd.choice(CLI_CLIENTS), f"UA{rnd.randrange(3)}"
        out.append((f'{client} - - [{stamp}] "GET /p{i % 7} HTTP/1.1" 200 {100 + i} "-" "{ua}" "{SITE}" HIT 0.010',
                    client, ua))
    return out


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize("mode", ["truncate", "truncate:3", "hmac"])
def test_cli_ingest_both_engines_store_identical_clients(store_url: str, tmp_path: Path, mode: str) -> None:
    option = mode
    if mode == "hmac":
        (tmp_path / "key").write_bytes(KEY)
        option = f"hmac:{tmp_path / 'key'}"
    p = Pseudonymiser.from_option(option)
    assert p is not None
    lines = [line for line, _c, _ua in log_lines()]
    for engine in ("clickhouse", "python"):
        d = tmp_path / engine
        d.mkdir()
        write_log(d / f"{engine}.log.gz", [*lines, f"an unparseable line for {engine}"])
        code, out = run("logs", "ingest", "--store", store_url, "--format", "nginx-cdn", "--settle", "0",
                        "--engine", engine, "--pseudonymise", option, str(d))
        assert code in (0, 3) and "1 ingested" in out, out   # 3: Paris days missing between the dates
    st = open_store(store_url)
    try:
        stored = {}
        for engine in ("clickhouse", "python"):
            stored[engine] = st.rows(
                "SELECT line_no, client, time FROM records WHERE file_id = (SELECT file_id FROM files FINAL "
                "WHERE name = {n:String}) ORDER BY line_no", {"n": f"{engine}.log.gz"})
        assert len(stored["python"]) == len(lines) and stored["clickhouse"] == stored["python"]
        for (_n, client, when), (_line, address, _ua) in zip(stored["python"], log_lines(), strict=True):
            assert client == p.apply(address, when)
        clients = {c for _n, c, _t in stored["python"]}
        assert "192.0.2.1" not in clients and "2001:db8::1" not in clients
        if mode == "hmac":
            assert all(c.startswith("h:") and len(c) == 18 for c in clients)
            # visitors per Paris day: as many as distinct (address, user agent) that day — nothing lost
            paris = st.rows("SELECT day, visitors FROM daily FINAL WHERE requests > 0 ORDER BY day")
            raw = st.rows("SELECT toDate(time, 'Europe/Paris') AS day, uniqExact(client, user_agent) FROM records "
                          "GROUP BY day ORDER BY day")
            assert paris == raw and len(paris) >= 5
            want: dict[date, set[tuple[str, str]]] = {}
            for (_n, _c, when), (_line, address, ua) in zip(stored["python"], log_lines(), strict=True):
                day = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(PARIS).date()
                want.setdefault(day, set()).add((address, ua))
            assert [(d, len(v)) for d, v in sorted(want.items())] == paris
        elif mode == "truncate":
            assert {"192.0.0.0", "2001:db8::", "2001:db8:abcd::", "0.0.0.0"} <= clients
    finally:
        st.close()


def test_cli_refuses_level_1(store_url: str, logs_dir: Path) -> None:
    code, out = run("logs", "ingest", "--store", store_url, "--format", "nginx-cdn", "--pseudonymise", "truncate:1",
                    str(logs_dir))
    assert code == 2 and "below the CNIL level" in out
