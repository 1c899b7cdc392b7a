"""`cdnctl probe` against a real HTTP server on the loopback, answering per Host header."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from reports.probe import probe

STATUS = {"up.example.fr": 200, "missing.example.fr": 404, "down.example.fr": 503}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        host = self.headers.get("Host", "")
        if host == "slow.example.fr":
            time.sleep(1.5)
        self.send_response(STATUS.get(host, 200))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_probe_verdicts(server: str) -> None:
    assert probe("up.example.fr", server, 1.0).ok is True
    missing = probe("missing.example.fr", server, 1.0)
    assert (missing.ok, missing.status) == (True, 404)      # a content problem, not unavailability
    down = probe("down.example.fr", server, 1.0)
    assert (down.ok, down.status, down.error) == (False, 503, "HTTP 503")
    slow = probe("slow.example.fr", server, 0.3)
    assert (slow.ok, slow.status, slow.error) == (False, None, "no response within 0.3 s")
    refused = probe("up.example.fr", "http://127.0.0.1:9/", 0.5)
    assert refused.ok is False and refused.error.startswith("ConnectionError")


def test_probe_command_stores_results(server: str, tmp_path: Path) -> None:
    env = {"CDNCTL_CLICKHOUSE_URL": f"chdb://{tmp_path}/store"}
    args = ["probe", "--url", server, "--timeout", "0.5"]
    for site in ("up.example.fr", "down.example.fr", "slow.example.fr"):
        args += ["--site", site]
    result = CliRunner().invoke(cli, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    out = {p["site"]: (p["ok"], p["status"]) for p in json.loads(result.stdout)}
    assert out == {"up.example.fr": (True, 200), "down.example.fr": (False, 503), "slow.example.fr": (False, None)}
    again = CliRunner().invoke(cli, args, env=env)
    assert again.exit_code == 0 and "FAILED down.example.fr 503" in again.stdout
    from loggest.store import open_store
    from reports.store import ClickHouseRegisterStore

    with open_store(f"chdb://{tmp_path}/store") as st:
        stored = ClickHouseRegisterStore(st.client).probes()
    assert len(stored) == 6 and sorted({p.site for p in stored}) == sorted(out)


def test_probe_without_sites_uses_the_policy(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--policy-dir", str(tmp_path / "none"), "probe"],
                                env={"CDNCTL_CLICKHOUSE_URL": f"chdb://{tmp_path}/store"})
    assert result.exit_code == 2
