"""Server mode: the store's HTTP client path (``http://…:8123/db``), same SQL.

Against ``CDNCTL_TEST_CLICKHOUSE_URL`` when set (a real ClickHouse server: each test gets
its own database); otherwise against ``tests/chdb_http.py``, a minimal HTTP front of
chDB (the real ClickHouse engine) in a subprocess. A representative subset of the
ingest tests runs unchanged on it (the Python engine: a server cannot read the client's
files), then the CLI — ingest, logs stats/status/export, report stats — on both the
HTTP and the embedded store must give identical results.
"""

from __future__ import annotations

import itertools
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import loggest.ingest
from cdnctl.cli import cli
from loggest.store import ClickHouseStore, open_store
from loggest.synth import nginx_cdn_lines, write_log
from tests.chdb_http import ChdbHttp
from tests.loggest import test_ingest as ti

SITE = ti.SITE
_counter = itertools.count(1)


class Server:
    def __init__(self, base: str | None, front: ChdbHttp | None) -> None:
        self.base, self.front = base, front

    def database(self) -> str:
        name = f"cdnctl_test_{os.getpid()}_{next(_counter)}"
        if self.front is not None:
            return self.front.create_database(name)
        assert self.base is not None
        parts = urllib.parse.urlsplit(self.base)
        with open_store(self.base) as st:        # creates the schema in the default db too (harmless)
            st.client.command(f"CREATE DATABASE IF NOT EXISTS {name}")
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    real = os.environ.get("CDNCTL_TEST_CLICKHOUSE_URL")
    if real:
        yield Server(real, None)
        return
    front = ChdbHttp(tmp_path_factory.mktemp("chdb_http") / "engine.chdb")
    try:
        yield Server(None, front)
    finally:
        front.close()


@pytest.fixture
def http_url(server: Server) -> str:
    return server.database()


@pytest.fixture
def store(http_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClickHouseStore]:
    """Overrides tests/loggest/conftest.py's embedded store for the tests run here."""
    st = open_store(http_url)
    assert st.embedded_path is None
    # the ingest tests name an engine; a server store always parses in Python
    monkeypatch.setattr(loggest.ingest, "choose_engine", lambda _store, _opts: "python")
    yield st
    st.close()


def test_front_answers_ping_and_errors_like_clickhouse(server: Server, http_url: str) -> None:
    if server.front is None:
        pytest.skip("front-specific")
    port = server.front.port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=10) as resp:
        assert resp.read() == b"Ok.\n"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/?query=SELECT+nope", timeout=10)
    assert err.value.code == 500 and err.value.headers["X-ClickHouse-Exception-Code"] == "47"
    st = open_store(http_url)
    try:
        assert st.rows("SELECT {s:String}, {n:UInt32}, {a:Array(String)}",
                       {"s": "l'a\\b\t", "n": 7, "a": ["x", "y'"]}) == [("l'a\\b\t", 7, ["x", "y'"])]
        assert st.schema_version() >= 1
    finally:
        st.close()


# ---- existing ingest tests, unchanged, through the HTTP client path ----

def test_ingest_then_skip_same_checksum(store: ClickHouseStore, logs_dir: Path) -> None:
    ti.test_ingest_then_skip_same_checksum(store, logs_dir, "python")


def test_corrupt_and_truncated_refused_whole(store: ClickHouseStore, logs_dir: Path) -> None:
    ti.test_corrupt_and_truncated_refused_whole_next_files_proceed(store, logs_dir, "python")


def test_empty_file_is_valid(store: ClickHouseStore, logs_dir: Path) -> None:
    ti.test_empty_file_is_valid_and_counts_as_a_day(store, logs_dir)


def test_missing_day_alarm(store: ClickHouseStore, logs_dir: Path) -> None:
    ti.test_missing_day_raises_an_alarm(store, logs_dir)


def test_replay_replaces_rows(store: ClickHouseStore, logs_dir: Path) -> None:
    ti.test_replay_replaces_rows(store, logs_dir, "python")


def test_quarantine(store: ClickHouseStore, logs_dir: Path) -> None:
    ti.test_quarantine_has_file_line_reason(store, logs_dir, "python")


def test_pseudonymisation(store: ClickHouseStore, logs_dir: Path) -> None:
    ti.test_pseudonymisation_at_ingest(store, logs_dir, "python")


def test_huge_bad_line(store: ClickHouseStore, logs_dir: Path) -> None:
    ti.test_huge_bad_line_is_quarantined_cut_not_lost(store, logs_dir, "python")


# ---- the CLI on both stores: identical answers ----

def _cli(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(cli, list(args))
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, result.output


def test_cli_same_results_over_http_and_embedded(http_url: str, logs_dir: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    for i, day in enumerate(("2027-04-24", "2027-04-25", "2027-04-26")):
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        write_log(logs_dir / f"{SITE}_{day}.log.gz", [*nginx_cdn_lines(400, SITE, start, seed=i), "bad line"])
    embedded = f"chdb://{tmp_path / 'embedded.chdb'}"
    out: dict[str, dict[str, Any]] = {}
    for name, url in (("http", http_url), ("embedded", embedded)):
        code, ing = _cli("logs", "ingest", "--store", url, "--format", "nginx-cdn", "--settle", "0", "--json",
                         str(logs_dir))
        assert code == 0, ing
        assert ing["totals"]["records"] == 1200 and ing["totals"]["quarantined"] == 3
        code, again = _cli("logs", "ingest", "--store", url, "--format", "nginx-cdn", "--settle", "0", "--json",
                           str(logs_dir))
        assert code == 0 and again["totals"]["skipped"] == 3
        res: dict[str, Any] = {}
        res["stats"] = _cli("logs", "stats", "--store", url, "--json")
        code, status = _cli("logs", "status", "--store", url, "--json")
        res["status"] = (code, status["sites"])
        res["rejects"] = _cli("logs", "rejects", "--store", url, "--json")
        code, report = _cli("report", "stats", "--store", url, "--site", SITE, "--from", "2027-04-24",
                            "--to", "2027-04-27", "--json")
        # when the last file was received is each store's own ingest time; the rest must be equal
        assert report["coverage"]["last_file"].pop("received_at")
        res["report"] = (code, report)
        export = tmp_path / f"{name}.log"
        code, exp = _cli("logs", "export", "--store", url, "--site", SITE, "--from", "2027-04-24",
                         "--to", "2027-04-27", "-o", str(export), "--json")
        res["export"] = (code, exp["records"], [ln for ln in export.read_text().splitlines()
                                                 if not ln.startswith("#Date")])
        out[name] = res
    assert out["http"]["report"][0] == 0 and out["http"]["report"][1]["requests"] == 1200
    assert out["http"]["stats"][0] == 0
    assert len(out["http"]["stats"][1]) >= 3 and out["http"]["export"][1] == 1200
    for key in ("stats", "status", "rejects", "report", "export"):
        assert out["http"][key] == out["embedded"][key], key
