"""Policy engine benchmark (issue 2): load + validate a big site, then resolve requests.

    .venv/bin/python bench/bench_resolve.py [--requests 1000000] [--baseline-requests 2000]

Baseline, measured in the same run: ``cache_rules.resolve.linear_decide``, the naive
scan of every rule (the executable definition of SPEC §2). The indexed resolver must
agree with it on every baseline request; the run fails otherwise.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policygen import random_requests, write_big_site

from cache_rules.loader import load_policy_dir
from cache_rules.model import PathRank
from cache_rules.resolve import SiteResolver, linear_decide


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--baseline-requests", type=int, default=2_000)
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--directories", type=int, default=1_000)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        write_big_site(Path(tmp), args.pages, args.directories)
        loads = []
        for _ in range(3):
            t0 = time.perf_counter()
            result = load_policy_dir(tmp)
            loads.append(time.perf_counter() - t0)
    if result.errors:
        print("generated policy is invalid:", result.errors[:3], file=sys.stderr)
        return 1
    site = next(iter(result.policy.sites.values()))
    dirs = [r.path for r in site.rules if r.path_rank is PathRank.DIRECTORY and r.path]
    pages = [r.path for r in site.rules if r.path_rank is PathRank.PAGE and r.path]
    rng = random.Random(42)
    requests = random_requests(rng, dirs, pages, args.requests)
    at = datetime(2027, 1, 1, tzinfo=UTC)

    t0 = time.perf_counter()
    resolver = SiteResolver(site)
    build = time.perf_counter() - t0

    decide = resolver.decide
    t0 = time.perf_counter()
    for path, ctype in requests:
        decide(path, ctype, at)
    indexed = time.perf_counter() - t0

    sample = requests[: args.baseline_requests]
    t0 = time.perf_counter()
    reference = [linear_decide(site, p, c, at) for p, c in sample]
    linear = time.perf_counter() - t0
    mismatches = sum(1 for (p, c), ref in zip(sample, reference, strict=True)
                     if decide(p, c, at).rule is not ref.rule)

    idx_rate = len(requests) / indexed
    lin_rate = len(sample) / linear
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"policy: 1 site, {len(site.rules)} rules ({len(pages)} pages, {len(dirs)} directory rules)")
    print(f"load + validate: best {min(loads):.3f} s, worst {max(loads):.3f} s of 3 (target < 1 s)")
    print(f"index build: {build * 1000:.1f} ms")
    print(f"indexed resolver: {len(requests):,} decisions in {indexed:.2f} s = {idx_rate:,.0f} decisions/s "
          "(target >= 200,000)")
    print(f"baseline linear scan: {len(sample):,} decisions in {linear:.2f} s = {lin_rate:,.0f} decisions/s")
    print(f"ratio indexed / linear: {idx_rate / lin_rate:,.0f}x")
    print(f"agreement with the linear reference: {len(sample) - mismatches}/{len(sample)}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
