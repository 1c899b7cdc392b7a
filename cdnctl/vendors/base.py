"""The purge driver interface, retries, and the runner that flushes every target at once.

A :class:`Target` is one place that caches the site: an edge node (Varnish, nginx) or a
vendor service (Fastly service, Cloudflare zone, CloudFront distribution, Akamai
network). A driver only says what it can purge (``kinds``, ``soft``), how it splits
items into calls (:meth:`Target.batch`, under the vendor's limits) and how to send one
call (:meth:`Target.send`, raising :class:`Transient` for what is worth retrying).

:func:`execute` runs every target concurrently (and each target's calls with
``target.parallel`` workers), retries transient failures with exponential backoff and
full jitter — never sooner than a ``Retry-After`` — inside one total time budget, and
returns one :class:`Outcome` per call: nothing is summarised away, so a caller can list
exactly which item failed where.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

from cdnctl.flush import FlushPlan, Item

T = TypeVar("T")

OK_STATUSES = ("done", "accepted")
STATUSES = ("done", "accepted", "failed", "unsupported", "dry-run")


class Transient(Exception):
    """Worth retrying (5xx, 429, timeouts, connection refused); ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    """Retrying will not help (4xx other than 408/429, bad credentials, refused content)."""


class GaveUp(Exception):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After``: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # calls in all, first one included
    base: float = 0.2  # first backoff ceiling, doubled each retry
    cap: float = 10.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        # Full jitter (AWS architecture blog): spreads retries of concurrent workers apart.
        backoff = rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
        return max(backoff, retry_after or 0.0)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())


@dataclass
class RunContext:
    wait: bool = False
    deadline: Deadline = field(default_factory=lambda: Deadline(120))
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    run_id: str = ""
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)


def with_retry(fn: Callable[[], T], ctx: RunContext) -> tuple[T, int]:
    """``fn()`` until it succeeds, raises :class:`Permanent`, or retrying would break the budget."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn(), attempt
        except Transient as exc:
            if attempt >= ctx.retry.attempts:
                raise GaveUp(f"{exc} (gave up after {attempt} attempts)", attempt) from None
            delay = ctx.retry.delay(attempt, exc.retry_after, ctx.rng)
            if delay > ctx.deadline.remaining():
                why = (f"Retry-After {exc.retry_after:.0f}s" if exc.retry_after
                       else f"next retry in {delay:.1f}s")
                raise GaveUp(f"{exc} ({why} is past the {ctx.deadline.total:.0f}s time limit; "
                             f"{attempt} attempt(s))", attempt) from None
            ctx.sleep(delay)


@dataclass
class Batch:
    kind: str
    items: list[Item]
    method: str = ""  # how it is sent, for people: "PURGE", "BAN regex", "purge_cache files"…
    key: str = ""  # idempotency key a driver sets on the first attempt and reuses on retries


@dataclass
class Outcome:
    target: str
    items: list[Item]
    status: str  # one of STATUSES
    message: str = ""
    attempts: int = 0
    method: str = ""
    ref: str | None = None  # vendor's purge / invalidation id

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def to_json(self) -> dict[str, object]:
        return {"target": self.target, "status": self.status, "message": self.message,
                "attempts": self.attempts, "method": self.method, "ref": self.ref,
                "items": [i.to_json() for i in self.items]}


class Target:
    """One purge destination. Subclasses set ``kinds``/``soft`` and implement batch + send."""

    vendor = ""
    kinds: frozenset[str] = frozenset()
    soft = False  # supports soft purge (mark stale) as well as hard purge
    parallel = 4  # concurrent calls to this target
    broken: str | None = None  # why this target cannot be used at all (a dry run says so too)

    def __init__(self, name: str) -> None:
        self.name = name

    def batch(self, plan: FlushPlan, items: Sequence[Item]) -> list[Batch]:
        raise NotImplementedError

    def send(self, plan: FlushPlan, batch: Batch, ctx: RunContext) -> tuple[str, str, str | None]:
        """Send one call; returns (status ``done``/``accepted``, message, vendor reference)."""
        raise NotImplementedError

    def wait(self, plan: FlushPlan, outcomes: list[Outcome], ctx: RunContext) -> None:
        """``--wait``: turn ``accepted`` outcomes into ``done`` (or ``failed``) when the vendor says so."""

    def unsupported_reason(self, item: Item) -> str:
        return f"{self.vendor} cannot purge by {item.kind}"

    def close(self) -> None:
        """Release connections."""


@dataclass
class FlushResult:
    plan: FlushPlan
    outcomes: list[Outcome]
    targets: list[str]
    resumed: bool = False

    @property
    def status(self) -> str:
        if all(o.ok or o.status == "dry-run" for o in self.outcomes):
            return "ok"
        return "failed" if not any(o.ok for o in self.outcomes) else "partial"

    def failed(self) -> dict[str, list[Item]]:
        out: dict[str, list[Item]] = {}
        for o in self.outcomes:
            if not o.ok and o.status != "dry-run":
                out.setdefault(o.target, []).extend(o.items)
        return out

    def calls(self) -> int:
        return sum(o.attempts for o in self.outcomes)

    def per_target(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {t: {} for t in self.targets}
        for o in self.outcomes:
            counts = out.setdefault(o.target, {})
            counts[o.status] = counts.get(o.status, 0) + len(o.items)
        return out


def _send(target: Target, plan: FlushPlan, batch: Batch, ctx: RunContext) -> Outcome:
    try:
        (status, message, ref), attempts = with_retry(lambda: target.send(plan, batch, ctx), ctx)
    except GaveUp as exc:
        return Outcome(target.name, batch.items, "failed", str(exc), exc.attempts, batch.method)
    except Permanent as exc:
        return Outcome(target.name, batch.items, "failed", str(exc), 1, batch.method)
    except Exception as exc:  # a driver bug must not hide the other targets' results
        return Outcome(target.name, batch.items, "failed", f"{type(exc).__name__}: {exc}", 1, batch.method)
    if plan.soft and not target.soft:
        message = (message + "; " if message else "") + "no soft purge here: purged hard"
    return Outcome(target.name, batch.items, status, message, attempts, batch.method, ref)


def run_target(target: Target, plan: FlushPlan, items: Sequence[Item], ctx: RunContext,
               dry_run: bool = False) -> list[Outcome]:
    outcomes = [Outcome(target.name, [i], "unsupported", target.unsupported_reason(i))
                for i in items if i.kind not in target.kinds]
    supported = [i for i in items if i.kind in target.kinds]
    if not supported:
        return outcomes
    try:
        todo = target.batch(plan, supported)
    except ValueError as exc:  # an item over a vendor limit: refused before any call
        return [*outcomes, Outcome(target.name, supported, "failed", str(exc))]
    if dry_run:
        if target.broken:
            return [*outcomes, Outcome(target.name, supported, "failed", target.broken)]
        return [*outcomes, *(Outcome(target.name, b.items, "dry-run", "", 0, b.method) for b in todo)]
    with ThreadPoolExecutor(max_workers=max(1, min(target.parallel, len(todo)))) as pool:
        sent = list(pool.map(lambda b: _send(target, plan, b, ctx), todo))
    if ctx.wait and any(o.status == "accepted" for o in sent):
        try:
            target.wait(plan, sent, ctx)
        except Exception as exc:  # waiting failed: the purge itself was accepted, say both
            for o in sent:
                if o.status == "accepted":
                    o.message = f"accepted; waiting for completion failed: {exc}"
    return outcomes + sent


def execute(plan: FlushPlan, targets: Sequence[Target], ctx: RunContext,
            pending: dict[str, list[Item]] | None = None, dry_run: bool = False) -> FlushResult:
    """Flush ``plan`` on every target at once; with ``pending``, only those items per target."""
    work = [(t, list(pending.get(t.name, [])) if pending is not None else list(plan.items)) for t in targets]
    work = [(t, items) for t, items in work if items]
    results: list[list[Outcome]] = []
    lock = threading.Lock()

    def one(target: Target, items: list[Item]) -> None:
        try:
            got = run_target(target, plan, items, ctx, dry_run)
        finally:
            target.close()
        with lock:
            results.append(got)

    if work:
        with ThreadPoolExecutor(max_workers=len(work)) as pool:
            for future in [pool.submit(one, t, items) for t, items in work]:
                future.result()
    order = {t.name: n for n, t in enumerate(targets)}
    outcomes = sorted((o for r in results for o in r), key=lambda o: order.get(o.target, 0))
    return FlushResult(plan, outcomes, [t.name for t in targets], pending is not None)


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up. Thread-safe.

    Used client-side to stay under a vendor's documented purge rate (Cloudflare) and
    server-side for the flush API's per-token rate limit.
    """

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = burst
        self.stamp = clock()
        self.lock = threading.Lock()

    def try_take(self, n: float = 1) -> float:
        """Take ``n`` now and return 0, or take nothing and return the seconds to wait."""
        n = min(n, self.burst)  # a request bigger than the bucket waits for a full bucket
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= n:
                self.tokens -= n
                return 0.0
            return (n - self.tokens) / self.rate

    def take(self, n: float, deadline: Deadline, sleep: Callable[[float], None] = time.sleep) -> None:
        while True:
            wait = self.try_take(n)
            if wait == 0:
                return
            if wait > deadline.remaining():
                raise Transient(f"client-side rate limit: {wait:.1f}s to wait, past the time limit")
            sleep(wait)
