"""`cdnctl report stats` against GoAccess on the same combined log: requests, bytes, status classes.

The log mixes IPv4/IPv6 clients, `-` byte counts, every status class, query strings,
escapes and markup in paths, plus two broken lines (no structure; 32 April) that
GoAccess counts as failed and cdnctl quarantines. Visitors: GoAccess leaves 4xx
requests out of unique visitors by default; with `--4xx-to-unique-count` its figure is
the SPEC §5 one (distinct client + user agent per day) and must be equal too.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli

pytestmark = pytest.mark.skipif(shutil.which("goaccess") is None, reason="goaccess is not installed")


def combined_log(path: Path) -> None:
    rnd = random.Random(3)
    lines = []
    for _ in range(3000):
        ip = rnd.choice([f"192.0.2.{rnd.randrange(256)}", f"2001:db8::{rnd.randrange(9999):x}"])
        stamp = f"{6 + rnd.randrange(3):02d}/Apr/2026:{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:" \
                f"{rnd.randrange(60):02d} +0200"
        status = rnd.choice([200] * 10 + [206, 301, 302, 304, 400, 403, 404, 500, 502, 503, 101])
        size = rnd.choice(["-", str(rnd.randrange(0, 300_000))])
        target = rnd.choice(["/", "/a.html", "/img/x.png", "/q?x=1&y=2", "/%7Euser/", "/<script>"])
        ua = rnd.choice(["Mozilla/5.0 (X11)", "curl/8.0", "Googlebot/2.1"])
        lines.append(f'{ip} - - [{stamp}] "GET {target} HTTP/1.1" {status} {size} "-" "{ua}"')
    lines.insert(100, "garbage line without structure")
    lines.insert(200, '192.0.2.1 - - [32/Apr/2026:10:00:00 +0200] "GET / HTTP/1.1" 200 10 "-" "x"')
    path.write_text("\n".join(lines) + "\n")


def goaccess(log: Path, out: Path, *extra: str) -> dict:
    subprocess.run(["goaccess", str(log), "--log-format=COMBINED", "--no-global-config", "-o", str(out), *extra],
                   check=True, capture_output=True, timeout=120)
    return json.loads(out.read_text())


def test_stats_equal_goaccess(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    combined_log(log)
    env = {"CDNCTL_CLICKHOUSE_URL": f"chdb://{tmp_path}/store"}
    ingest = CliRunner().invoke(cli, ["logs", "ingest", str(log), "--format", "combined", "--site", "www.a.gouv.fr",
                                      "--settle", "0"], env=env)
    assert ingest.exit_code == 0, ingest.output
    result = CliRunner().invoke(cli, ["report", "stats", "--site", "www.a.gouv.fr", "--from", "2026-04-06",
                                      "--to", "2026-04-08", "--json"], env=env)
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)
    ga = goaccess(log, tmp_path / "ga.json")
    general = ga["general"]
    assert ours["requests"] == general["valid_requests"] == 3000
    assert ours["bytes"] == general["bandwidth"]
    assert ours["quarantined"] == general["failed_requests"] == 2
    classes = {row["data"][:3].lower(): row["hits"]["count"] for row in ga["status_codes"]["data"]}
    assert ours["status"] == {k: classes.get(k, 0) for k in ("1xx", "2xx", "3xx", "4xx", "5xx")}
    all_visitors = goaccess(log, tmp_path / "ga4xx.json", "--4xx-to-unique-count")["general"]["unique_visitors"]
    assert ours["visitors"] == all_visitors
    assert general["unique_visitors"] < all_visitors   # the default leaves 4xx out
