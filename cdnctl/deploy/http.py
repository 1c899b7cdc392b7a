"""Config-API calls: :class:`cdnctl.vendors.http.VendorHTTP` (one session per thread, 429/5xx
→ :class:`Transient` with ``Retry-After``, other 4xx → :class:`Permanent` with the vendor's
message) with every method, not only POST, each call retried by
:func:`cdnctl.vendors.base.with_retry` inside the run's time budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import requests

from cdnctl.vendors.base import GaveUp, Permanent, RunContext, Transient, parse_retry_after, with_retry
from cdnctl.vendors.http import VendorHTTP

T = TypeVar("T")


class Conflict(Permanent):
    """409 / 412: someone else changed the configuration since we read it."""


class ApiError(Exception):
    """A call failed for good (after retries for transient failures); ``status`` when known."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def retried(once: Callable[[], T], ctx: RunContext) -> T:
    """``once()`` retried while transient; gives up as :class:`ApiError`, except a
    :class:`Conflict`, which callers handle apart (someone else changed the config)."""
    try:
        return with_retry(once, ctx)[0]
    except GaveUp as exc:
        raise ApiError(str(exc)) from None
    except Conflict:
        raise
    except Permanent as exc:
        raise ApiError(str(exc)) from None


class ConfigHTTP(VendorHTTP):
    ctx: RunContext

    def __init__(self, base: str, headers: dict[str, str], describe: Any, ctx: RunContext,
                 auth: requests.auth.AuthBase | None = None, timeout: float = 30.0) -> None:
        super().__init__(base, headers, describe, auth=auth, timeout=timeout)
        self.ctx = ctx
        self.calls: list[str] = []  # "METHOD path" of every call sent (tests, audit counts)

    def once(self, method: str, path: str, accept: tuple[int, ...] = (), **kw: Any) -> requests.Response:
        self.calls.append(f"{method} {path}")
        try:
            resp = self._session().request(method, self.base + path, timeout=self.timeout, **kw)
        except requests.Timeout:
            raise Transient(f"{method} {path}: no answer within {self.timeout:.0f}s") from None
        except requests.ConnectionError as exc:
            raise Transient(f"cannot reach {self.base}: {type(exc).__name__}") from None
        if resp.status_code in accept:
            return resp
        if resp.status_code in (408, 429) or resp.status_code >= 500:
            raise Transient(f"{method} {path}: HTTP {resp.status_code}: {self.describe(resp)}",
                            parse_retry_after(resp.headers.get("Retry-After")))
        if resp.status_code in (409, 412):
            raise Conflict(f"{method} {path}: HTTP {resp.status_code} (conflict: the configuration was "
                           f"changed by someone else): {self.describe(resp)}")
        if resp.status_code >= 400:
            raise Permanent(f"{method} {path}: HTTP {resp.status_code}: {self.describe(resp)}")
        return resp

    def call(self, method: str, path: str, accept: tuple[int, ...] = (), **kw: Any) -> requests.Response:
        """One call, retried while transient; raises :class:`ApiError` (or :class:`Conflict`).
        Statuses in ``accept`` (e.g. 404 for "not there yet") are returned, not raised."""
        return retried(lambda: self.once(method, path, accept, **kw), self.ctx)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        return self.call(method, path, **kw).json()
