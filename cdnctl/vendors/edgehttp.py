"""Purge requests to edge nodes: raw HTTP/1.1 with keep-alive, one connection per worker thread.

``http.client`` rather than requests: a purge is a tiny request and a fleet flush sends
thousands of them; reusing a connection per thread is several times faster and the
request target is sent exactly as normalised (no client-side URL rewriting).
"""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

from cdnctl.vendors.base import Permanent, Transient, parse_retry_after


class EdgeHTTP:
    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        parts = urlsplit(endpoint if "://" in endpoint else "http://" + endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"purge endpoint {endpoint!r}: expected http(s)://HOST:PORT")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.timeout = timeout
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            conn = cls(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def request(self, method: str, target: str, host: str, headers: dict[str, str] | None = None
                ) -> tuple[int, str]:
        """(status, body text); connection problems are :class:`Transient`."""
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once at once
            conn = self._conn()
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", host)
                for k, v in (headers or {}).items():
                    conn.putheader(k, v)
                conn.putheader("Content-Length", "0")
                conn.endheaders()
                resp = conn.getresponse()
                body = resp.read().decode("utf-8", "replace")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self._local.conn = None
                if resp.status == 429 or resp.status >= 500:
                    raise Transient(f"HTTP {resp.status} {resp.reason}",
                                    parse_retry_after(resp.getheader("Retry-After")))
                return resp.status, body
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise Transient(f"connection lost: {exc}") from None
            except TimeoutError:
                conn.close()
                self._local.conn = None
                raise Transient(f"no answer within {self.timeout:.0f}s") from None
            except OSError as exc:
                conn.close()
                self._local.conn = None
                raise Transient(f"cannot reach {self.host}:{self.port}: {exc.strerror or exc}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def refuse(status: int, body: str, node: str) -> Permanent:
    """Statuses a retry will not change, explained."""
    text = " ".join(body.split())[:200]
    if status == 403:
        return Permanent(f"HTTP 403: this machine is not in {node}'s purge ACL (fleet `purgers`)")
    if status == 404:
        return Permanent(f"HTTP 404: {node} does not serve this site ({text})")
    if status in (405, 501):
        return Permanent(f"HTTP {status}: {node} does not accept this purge method ({text})")
    return Permanent(f"HTTP {status}: {text}")
