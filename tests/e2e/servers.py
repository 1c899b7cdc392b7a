"""Real servers for the edge tests: a scriptable origin, varnishd and nginx on loopback.

The origin answers any method and path. The test chooses the response through request
headers the edge forwards untouched (the policy ignores the query string, so a header
is the clean channel): ``X-Test-Content-Type`` (urlsafe base64 of the exact header
value; absent = no Content-Type at all), ``X-Test-Status``, ``X-Test-Set-Cookie``.
It counts requests per raw request target, which tells whether the edge went to it.
"""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from cache_rules.targets import TEST_CLOCK_HEADER, Compiled

__all__ = [
    "TEST_CLOCK_HEADER",
    "Edge",
    "Nginx",
    "Origin",
    "Response",
    "Varnish",
    "encode_ct",
    "free_port",
    "request",
    "wire_path",
]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def encode_ct(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")


def wire_path(path: str) -> str:
    """The request target an HTTP client sends for a typed path: fragment dropped,
    non-ASCII and spaces as UTF-8 escapes, existing escapes kept as typed."""
    path = path.split("#", 1)[0]
    return quote(path, safe="/%!$&'()*+,;=:@~-._?")


class _OriginHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _OriginServer

    def _answer(self) -> None:
        self.server.hits[self.path] += 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = f"{self.command} {self.path} #{self.server.hits[self.path]}\n".encode()
        self.send_response(int(self.headers.get("X-Test-Status") or 200))
        ct = self.headers.get("X-Test-Content-Type")
        if ct is not None:
            self.send_header("Content-Type", base64.urlsafe_b64decode(ct).decode("utf-8"))
        if self.headers.get("X-Test-Set-Cookie"):
            self.send_header("Set-Cookie", self.headers["X-Test-Set-Cookie"])
        self.send_header("X-Origin-Count", str(self.server.hits[self.path]))
        self.send_header("X-Origin-Host", self.headers.get("Host", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return


class _OriginServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _OriginHandler)
        self.hits: Counter[str] = Counter()


class Origin:
    def __init__(self) -> None:
        self.server = _OriginServer()
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def hits(self) -> Counter[str]:
        return self.server.hits

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def request(port: int, host: str, path: str, method: str = "GET", headers: dict[str, str] | None = None,
            source: str = "127.0.0.1", timeout: float = 10) -> Response:
    """One HTTP/1.1 request sent exactly as given (no client-side URL rewriting)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s:\n{log.read_text(errors='replace')}")


@dataclass
class Edge:
    """A running edge server on loopback; ``port`` takes the traffic."""

    workdir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / "server.log"
        # Both engines drop root for an unprivileged user who must read the config.
        os.chmod(self.workdir, 0o755)

    def get(self, host: str, path: str, **kw: object) -> Response:
        return request(self.port, host, path, **kw)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Varnish(Edge):
    """``varnishd -F`` with a private work dir (-n) and admin port (-T)."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, free_port())
        self.admin_port = free_port()
        self.name = str(workdir / "varnish")

    def start(self, compiled: Compiled) -> Varnish:
        compiled.write(self.workdir)
        vcl = (self.workdir / compiled.main).resolve()
        cmd = [shutil.which("varnishd") or "varnishd", "-F", "-n", self.name,
               "-a", f"127.0.0.1:{self.port}", "-T", f"127.0.0.1:{self.admin_port}",
               "-f", str(vcl), "-s", "malloc,64m", "-p", "default_grace=0", "-p", "thread_pools=1"]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port, self.proc, "varnishd", self.log)
        return self

    def adm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["varnishadm", "-n", self.name, *args], capture_output=True, text=True, timeout=30)


class Nginx(Edge):
    """``nginx -p PREFIX -c FILE -g 'daemon off;'`` in the foreground."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, free_port())

    def start(self, compiled: Compiled) -> Nginx:
        compiled.write(self.workdir)
        conf = (self.workdir / compiled.main).resolve()
        cmd = [shutil.which("nginx") or "nginx", "-p", str(self.workdir), "-c", str(conf),
               "-e", str(self.workdir / "error.log"), "-g", "daemon off;"]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port, self.proc, "nginx", self.workdir / "error.log")
        return self
