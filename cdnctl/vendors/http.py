"""JSON-over-HTTPS calls to vendor APIs: one requests.Session per worker thread, errors classified.

429 and 5xx (and connection problems, timeouts) are :class:`Transient` with the
``Retry-After`` the vendor sent; other 4xx are :class:`Permanent` with the vendor's own
message (``describe`` extracts it from the vendor's error body).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from cdnctl.vendors.base import Permanent, Transient, parse_retry_after


class VendorHTTP:
    def __init__(self, base: str, headers: dict[str, str], describe: Callable[[requests.Response], str],
                 auth: requests.auth.AuthBase | None = None, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self.headers = headers
        self.describe = describe
        self.auth = auth
        self.timeout = timeout
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update({"User-Agent": "cdnctl", "Accept": "application/json", **self.headers})
            if self.auth is not None:
                session.auth = self.auth
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def post(self, path: str, json: object = None, headers: dict[str, str] | None = None,
             data: bytes | None = None) -> requests.Response:
        try:
            resp = self._session().post(self.base + path, json=json, data=data, headers=headers,
                                        timeout=self.timeout)
        except requests.Timeout:
            raise Transient(f"no answer within {self.timeout:.0f}s") from None
        except requests.ConnectionError as exc:
            raise Transient(f"cannot reach {self.base}: {type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500 or resp.status_code == 408:
            raise Transient(f"HTTP {resp.status_code}: {self.describe(resp)}",
                            parse_retry_after(resp.headers.get("Retry-After")))
        if resp.status_code >= 400:
            raise Permanent(f"HTTP {resp.status_code}: {self.describe(resp)}")
        return resp

    def close(self) -> None:
        with self._lock:
            for s in self._sessions:
                s.close()
            self._sessions.clear()


def json_message(resp: requests.Response, *keys: str) -> str:
    """The first of ``keys`` found in a JSON error body, else the start of the body."""
    try:
        data = resp.json()
    except ValueError:
        return " ".join(resp.text.split())[:200] or resp.reason
    if isinstance(data, dict):
        for key in keys:
            value = data.get(key)
            if value:
                return str(value)[:300]
    return str(data)[:200]
