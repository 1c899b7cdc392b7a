"""A threaded HTTP server on a free loopback port that records every request.

Vendor fakes subclass :class:`FakeServer` and implement ``handle(req) -> Reply``. Tests
script failures with :meth:`FakeServer.fail_next` (status, body, headers — e.g. a 429
with Retry-After, or a 503 in the middle of a batch) and read ``requests`` afterwards.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    target: str = ""  # the raw request target (path and query as sent)

    def json(self) -> object:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body (Fastly's config API)."""
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Reply:
    status: int = 200
    body: object = None  # dict/list → JSON, bytes/str as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Req(self.command, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()},
                  body, self.path)
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(req)
            scripted = fake.script.popleft() if fake.script and fake.matches(req) else None
        reply = scripted or fake.handle(req)
        if reply.delay:
            threading.Event().wait(reply.delay)
        data = reply.body if isinstance(reply.body, bytes) else (
            reply.body.encode() if isinstance(reply.body, str) else json.dumps(reply.body).encode())
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json", **reply.headers}
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_PURGE = do_BAN = _any

    def log_message(self, format: str, *args: object) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer


class FakeServer:
    """Start with ``with Fake() as fake:``; ``fake.url`` is its base URL."""

    def __init__(self) -> None:
        self.requests: list[Req] = []
        self.script: deque[Reply] = deque()
        self.script_filter: str | None = None
        self.script_skip = 0
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, *replies: Reply, path_contains: str | None = None, after: int = 0) -> None:
        """The next requests (optionally only those whose path contains a string), once ``after``
        more have been answered normally, get these replies — e.g. a 503 in the middle of a batch."""
        with self.lock:
            self.script.extend(replies)
            self.script_filter = path_contains
            self.script_skip = after

    def matches(self, req: Req) -> bool:
        if self.script_filter is not None and self.script_filter not in req.path:
            return False
        if self.script_skip:
            self.script_skip -= 1
            return False
        return True

    def handle(self, req: Req) -> Reply:
        raise NotImplementedError
