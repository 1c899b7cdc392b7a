"""The flush API over a real socket: uvicorn on a free loopback port, real HTTP requests.

The site's target is a stand-in purge endpoint (tests/fakes/edge.py) so every test can
see exactly what was (or was not) sent.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import uvicorn
import yaml

from cdnctl.api import ApiConfig, create_app
from cdnctl.audit import Journal
from cdnctl.tokens import TokenStore
from tests.fakes.edge import FakeEdge

POLICY_DIR = Path("tests/cases/sites").resolve()
SITE = "www.cases.example.fr"
OTHER = "fete.example.fr"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, config: ApiConfig, **ssl: object) -> None:
        self.port = free_port()
        scheme = "https" if ssl else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=self.port,
                                                    log_level="warning", server_header=False, timeout_graceful_shutdown=1,
                                                    **ssl))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Api:
    url: str
    edge: FakeEdge
    tokens: dict[str, str]
    state: Path

    def flush(self, body: object, token: str | None = "good", site: str = SITE, **kw: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens.get(token, token)}"} if token else {}
        return requests.post(f"{self.url}/api/v1/sites/{site}/flush", json=body, headers=headers, timeout=10, **kw)  # type: ignore[arg-type]

    def audit(self) -> list[dict[str, object]]:
        return list(Journal(self.state).entries())


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    state = tmp_path_factory.mktemp("api-state")
    store = TokenStore(state / "tokens.json")
    tokens = {
        "good": store.create("cms-cases", [SITE], "admin")[0],
        "other": store.create("cms-fete", [OTHER], "admin")[0],
        "expired": store.create("cms-old", [SITE], "admin", timedelta(seconds=-1))[0],
        "revoked": store.create("cms-gone", [SITE], "admin")[0],
        "limited": store.create("cms-busy", [SITE], "admin")[0],
    }
    store.revoke(next(r.id for r in store.list() if r.name == "cms-gone"))
    with FakeEdge() as edge:
        fleet = state / "fleet.yaml"
        fleet.write_text(yaml.safe_dump({"nodes": [
            {"name": "edge-1", "engine": "varnish", "admin": "127.0.0.1:1", "secret": "/dev/null",
             "vcl_dir": str(state), "purge": edge.url}]}))
        config = ApiConfig(policy_dir=POLICY_DIR, fleet=fleet, state_dir=state, rate_per_minute=600, burst=1000,
                           max_body=4096, timeout=10)
        with Server(config) as server:
            yield Api(server.url, edge, tokens, state)


@pytest.fixture(autouse=True)
def reset(api: Api) -> None:
    api.edge.requests.clear()


def assert_security_headers(resp: requests.Response) -> None:
    h = resp.headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in h["Content-Security-Policy"]
    assert h["Cache-Control"] == "no-store"
    assert h["Referrer-Policy"] == "no-referrer"
    assert "server" not in {k.lower() for k in h}


def test_flush_with_a_good_token(api: Api) -> None:
    resp = api.flush({"urls": [f"https://{SITE}/a.html", "/a.html", "/b?x=1"]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ok"] is True and body["targets"] == {"edge-1": {"done": 2}}
    assert sorted(api.edge.purged()) == [("PURGE", "/a.html", SITE), ("PURGE", "/b?x=1", SITE)]
    assert_security_headers(resp)
    entry = api.audit()[-1]
    assert (entry["action"], entry["who"], entry["result"], entry["site"]) == ("api-flush", "token:cms-cases", "ok", SITE)
    assert entry["source"]["via"] == "api" and entry["source"]["client"] == "127.0.0.1"  # type: ignore[index]
    assert entry["seq"] == body["audit_seq"]


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("not-a-token", 401), ("expired", 401),
                                               ("revoked", 401), ("other", 403)])
def test_refused_tokens_flush_nothing(api: Api, token: str | None, status: int) -> None:
    before = len(api.audit())
    resp = api.flush({"urls": ["/a.html"]}, token=token)
    assert resp.status_code == status, resp.text
    assert api.edge.requests == []
    assert_security_headers(resp)
    if status == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    entries = api.audit()
    assert len(entries) == before + 1 and entries[-1]["result"] == "denied"


def test_a_good_token_of_a_known_id_but_wrong_secret_is_refused(api: Api) -> None:
    good = api.tokens["good"]
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert api.flush({"urls": ["/a"]}, token=forged).status_code == 401
    assert api.edge.requests == []


@pytest.mark.parametrize(("body", "why"), [
    ({"urls": ["https://evil.example.org/a"]}, "evil.example.org"),
    ({"urls": ["/a"], "unknown": 1}, "unknown"),
    ({"urls": "/a"}, "urls"),
    ({}, "nothing to flush"),
    # a whole-site flush only from a JSON true: no coercion of "yes", 1 or "true"
    ({"all": "yes"}, "all"),
    ({"all": 1}, "all"),
    ({"all": "true"}, "all"),
    ({"urls": ["/a"], "soft": 1}, "soft"),
])
def test_bad_bodies_are_422_and_flush_nothing(api: Api, body: object, why: str) -> None:
    resp = api.flush(body)
    assert resp.status_code == 422, resp.text
    assert why in json.dumps(resp.json())
    assert api.edge.requests == []
    assert_security_headers(resp)


def test_malformed_json(api: Api) -> None:
    resp = requests.post(f"{api.url}/api/v1/sites/{SITE}/flush", data=b"{not json",
                         headers={"Authorization": f"Bearer {api.tokens['good']}",
                                  "Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == 422
    assert api.edge.requests == []


def test_oversized_bodies_are_413(api: Api) -> None:
    big = {"urls": [f"/page-{n}" for n in range(1000)]}
    resp = api.flush(big)
    assert resp.status_code == 413
    assert_security_headers(resp)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"urls": ['
        for n in range(1000):
            yield f'"/p{n}",'.encode()
        yield b'"/end"]}'

    resp = requests.post(f"{api.url}/api/v1/sites/{SITE}/flush", data=chunks(), timeout=10,
                         headers={"Authorization": f"Bearer {api.tokens['good']}", "Content-Type": "application/json"})
    assert resp.status_code == 413
    assert api.edge.requests == []
    assert api.audit()[-1]["what"]["http_status"] == 413  # type: ignore[index]


def test_unknown_site_for_a_token_is_403_not_a_site_oracle(api: Api) -> None:
    assert api.flush({"urls": ["/a"]}, site="nosuch.example.fr").status_code == 403


def test_openapi_document_and_headers_everywhere(api: Api) -> None:
    resp = requests.get(f"{api.url}/api/v1/openapi.json", timeout=10)
    assert resp.status_code == 200
    doc = resp.json()
    op = doc["paths"]["/api/v1/sites/{site}/flush"]["post"]
    assert {"200", "401", "403", "413", "422", "429"} <= set(op["responses"])
    assert_security_headers(resp)
    missing = requests.get(f"{api.url}/nowhere", timeout=10)
    assert missing.status_code == 404
    assert_security_headers(missing)
    assert requests.get(f"{api.url}/docs", timeout=10).status_code == 404


def test_rate_limit_per_token(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    busy = store.create("busy", [SITE], "admin")[0]
    calm = store.create("calm", [SITE], "admin")[0]
    with FakeEdge() as edge:
        fleet = tmp_path / "fleet.yaml"
        fleet.write_text(yaml.safe_dump({"nodes": [
            {"name": "e", "engine": "nginx", "config": "/dev/null", "purge": edge.url}]}))
        config = ApiConfig(policy_dir=POLICY_DIR, fleet=fleet, state_dir=tmp_path, rate_per_minute=6, burst=3)
        with Server(config) as server:
            def call(token: str) -> requests.Response:
                return requests.post(f"{server.url}/api/v1/sites/{SITE}/flush", json={"urls": ["/a"]},
                                     headers={"Authorization": f"Bearer {token}"}, timeout=10)

            assert [call(busy).status_code for _ in range(4)] == [200, 200, 200, 429]
            limited = call(busy)
            assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 10
            assert call(calm).status_code == 200  # per token, not global
            assert len(edge.requests) == 4
    assert Journal(tmp_path).entries().__next__()["who"] == "token:busy"


def test_https_with_a_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                           "-out", str(cert)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("openssl cannot make a test certificate")
    config = ApiConfig(policy_dir=POLICY_DIR, state_dir=tmp_path, https=True)
    with Server(config, ssl_certfile=str(cert), ssl_keyfile=str(key)) as server:
        with requests.Session() as session:  # closed before the server stops: no lingering TLS connection
            resp = session.post(f"{server.url}/api/v1/sites/{SITE}/flush", json={"urls": ["/a"]},
                                verify=str(cert), timeout=10)
        assert resp.status_code == 401
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_zero_lifetime_is_refused_not_read_as_no_expiry(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cdnctl.cli import cli

    sites = Path(__file__).resolve().parents[2] / "examples" / "sites"
    env = {"CDNCTL_STATE_DIR": str(tmp_path / "state"), "CDNCTL_POLICY_DIR": str(sites)}
    for value in ("0h", "0d"):
        result = CliRunner().invoke(cli, ["token", "create", "--name", "cms", "--site", "www.interieur.gouv.fr",
                                          "--expires", value], env=env)
        assert result.exit_code == 2 and "a lifetime is at least 1h" in result.stderr, result.output
    assert not (tmp_path / "state" / "tokens.json").exists()    # nothing was written
    ok = CliRunner().invoke(cli, ["token", "create", "--name", "cms", "--site", "www.interieur.gouv.fr",
                                  "--expires", "1h", "--json"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "cms" in (tmp_path / "state" / "tokens.json").read_text()
