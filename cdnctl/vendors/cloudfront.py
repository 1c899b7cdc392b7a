"""CloudFront: CreateInvalidation per batch, within the in-progress limits; ``--wait`` polls.

API reference: https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
Limits: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html
(invalidations in progress per distribution: 3,000 file paths, 15 wildcard paths).

- A path is invalidated once per distribution (hosts share it); a prefix becomes the
  wildcard path ``<prefix>*``, "everything" ``/*``. Cache tags: unsupported.
- Each batch has ``CallerReference`` ``cdnctl-<run id>-<batch>``: a retry of the same
  batch (after a timeout, say) is answered with the invalidation already created
  instead of a second one.
- Batches go one at a time: before each, the paths of our invalidations still in
  progress are counted; if the batch would pass 3,000 paths or 15 wildcards, the driver
  waits for earlier ones to complete (bounded by the time budget), then continues.
  ``TooManyInvalidationsInProgress`` (someone else's invalidations) is retried.
- Status comparison is case-insensitive: AWS says ``Completed``, moto ``COMPLETED``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from cdnctl.flush import FlushPlan, Item
from cdnctl.vendors.base import Batch, Outcome, Permanent, RunContext, Target, Transient

MAX_PATHS = 3000
MAX_WILDCARDS = 15
POLL = 2.0  # seconds between status checks
_RETRYABLE = {"TooManyInvalidationsInProgress", "Throttling", "ThrottlingException", "ServiceUnavailable",
              "InternalError", "RequestTimeout"}


def path_of(item: Item) -> str:
    if item.kind == "prefix":
        return item.value + "*"
    if item.kind == "all":
        return "/*"
    return item.value


class CloudFrontTarget(Target):
    vendor = "cloudfront"
    kinds = frozenset({"url", "prefix", "all"})
    parallel = 1  # in-progress limits are per distribution: batches wait for each other

    def __init__(self, name: str, distribution: str, endpoint_url: str | None = None,
                 region: str = "us-east-1", client: object | None = None) -> None:
        super().__init__(name)
        import boto3
        from botocore.config import Config

        self.distribution = distribution
        self.client = client or boto3.client(
            "cloudfront", endpoint_url=endpoint_url, region_name=region,
            # one attempt per call: with_retry does the retrying, inside the flush's time budget
            config=Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=30))
        self.in_progress: dict[str, tuple[int, int]] = {}  # invalidation id -> (paths, wildcards)
        self.counter = 0
        self.lock = threading.Lock()

    def unsupported_reason(self, item: Item) -> str:
        return "cloudfront has no cache tags" if item.kind == "tag" else super().unsupported_reason(item)

    def batch(self, plan: FlushPlan, items: Sequence[Item]) -> list[Batch]:
        out: list[Batch] = []
        current: list[Item] = []
        wild = 0
        for item in items:
            is_wild = item.kind in ("prefix", "all")
            if current and (len(current) >= MAX_PATHS or (is_wild and wild >= MAX_WILDCARDS)):
                out.append(Batch("mixed", current, "CreateInvalidation"))
                current, wild = [], 0
            current.append(item)
            wild += is_wild
        if current:
            out.append(Batch("mixed", current, "CreateInvalidation"))
        return out

    def _call(self, method: str, **kw: object) -> dict[str, object]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(**kw)  # type: ignore[no-any-return]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", str(exc))
            if code in _RETRYABLE or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
                raise Transient(f"{code}: {message}") from None
            raise Permanent(f"{code}: {message}") from None
        except BotoCoreError as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from None

    def _status(self, ident: str) -> str:
        data = self._call("get_invalidation", DistributionId=self.distribution, Id=ident)
        return str(data["Invalidation"]["Status"])  # type: ignore[index]

    def _make_room(self, paths: int, wildcards: int, ctx: RunContext) -> None:
        while True:
            for ident in list(self.in_progress):
                if self._status(ident).lower() == "completed":
                    del self.in_progress[ident]
            used_p = sum(p for p, _ in self.in_progress.values())
            used_w = sum(w for _, w in self.in_progress.values())
            if used_p + paths <= MAX_PATHS and used_w + wildcards <= MAX_WILDCARDS:
                return
            if ctx.deadline.remaining() < POLL:
                raise Transient(f"{used_p} paths / {used_w} wildcards still in progress on "
                                f"{self.distribution}")
            ctx.sleep(POLL)

    def send(self, plan: FlushPlan, batch: Batch, ctx: RunContext) -> tuple[str, str, str | None]:
        paths = [path_of(i) for i in batch.items]
        wildcards = sum(p.endswith("*") for p in paths)
        if not batch.key:
            with self.lock:
                self.counter += 1
                batch.key = f"cdnctl-{ctx.run_id}-{self.counter}"
        self._make_room(len(paths), wildcards, ctx)
        data = self._call("create_invalidation", DistributionId=self.distribution, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": batch.key})
        inv = data["Invalidation"]  # type: ignore[index]
        ident, status = str(inv["Id"]), str(inv["Status"])  # type: ignore[index]
        if status.lower() == "completed":
            return "done", "", ident
        self.in_progress[ident] = (len(paths), wildcards)
        return "accepted", f"invalidation {ident} {status}", ident

    def wait(self, plan: FlushPlan, outcomes: list[Outcome], ctx: RunContext) -> None:
        pending = [o for o in outcomes if o.status == "accepted" and o.ref]
        while pending:
            for o in list(pending):
                if self._status(str(o.ref)).lower() == "completed":
                    o.status, o.message = "done", f"invalidation {o.ref} completed"
                    pending.remove(o)
            if pending:
                if ctx.deadline.remaining() < POLL:
                    raise RuntimeError(f"{len(pending)} invalidation(s) still in progress at the time limit")
                ctx.sleep(POLL)
