"""Probes: check each site through the CDN (``cdnctl probe``, run by cron every minute).

One probe is one HTTP GET of the site's home page through the CDN, without following
redirects. It is **ok** when an HTTP response with a status below 500 arrives within
the timeout: a 5xx (502/503/504 are what a failing edge or origin returns), a timeout,
a refused connection or a TLS error make it **failed**. A 404 on the home page is a
content problem, not unavailability, so it does not count.

How failures become unavailable time is ``reports.qs.probe_outages``: a run of
consecutive failed probes is unavailable from its first failure to the next successful
probe, at most one probe interval (60 s) after its last failure.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests

from reports.registers import Probe

USER_AGENT = "cdnctl-probe/1 (+quality indicators QS-02)"
DEFAULT_URL = "https://{site}/"


def probe(site: str, url_template: str = DEFAULT_URL, timeout: float = 10.0,
          session: requests.Session | None = None) -> Probe:
    """Probe one site now. ``{site}`` in the URL is replaced; the Host header is always the site."""
    url = url_template.replace("{site}", site)
    at = datetime.now(UTC)
    start = time.perf_counter()
    getter = session or requests
    try:
        response = getter.get(url, headers={"Host": site, "User-Agent": USER_AGENT}, timeout=timeout,
                              allow_redirects=False, stream=True)
        # The status line is the verdict; the body is not needed.
        response.close()
        status: int | None = response.status_code
        ok = response.status_code < 500
        error = "" if ok else f"HTTP {response.status_code}"
    except requests.Timeout:
        status, ok, error = None, False, f"no response within {timeout:g} s"
    except requests.RequestException as exc:
        status, ok, error = None, False, f"{type(exc).__name__}: {str(exc)[:200]}"
    return Probe(site=site, at=at, ok=ok, status=status, duration_s=round(time.perf_counter() - start, 6),
                 error=error)


def probe_all(sites: Sequence[str], url_template: str = DEFAULT_URL, timeout: float = 10.0,
              workers: int = 16) -> list[Probe]:
    """Probe every site concurrently (a run must end well within the cron minute)."""
    if not sites:
        return []
    with requests.Session() as session, ThreadPoolExecutor(max_workers=min(workers, len(sites))) as pool:
        return list(pool.map(lambda s: probe(s, url_template, timeout, session), sites))
