"""Flush 10,000 URLs on 4 local varnishd nodes: cdnctl's drivers vs one PURGE at a time.

    .venv/bin/python bench/bench_flush.py [--urls 10000] [--nodes 4]

Both runs in the same invocation, same nodes, caches empty (purge cost does not depend
on the object being present). Prints wall times, the speed-up, and the number of
HTTP calls each way.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cache_rules.targets import CompileOptions, compile_policy
from cdnctl.flush import plan_flush
from cdnctl.vendors.base import Deadline, RunContext, execute
from cdnctl.vendors.varnish import VarnishTarget
from tests.e2e.servers import Origin, Varnish, write_policy

SITE = "site: bench.example.fr\norigin: http://127.0.0.1:9\nrules:\n  - {id: d, default: true, ttl: 1h}\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cdnctl-bench-flush-"))
    work.chmod(0o755)
    origin = Origin()
    policy = write_policy(work / "sites", {"bench.example.fr": SITE})
    nodes = []
    try:
        for n in range(args.nodes):
            d = work / f"v{n}"
            d.mkdir()
            nodes.append(Varnish(d).start(compile_policy(policy, "varnish",
                                                         options=CompileOptions(origins={"*": origin.url}))))
        site = policy.sites["bench.example.fr"]
        urls = [f"/articles/{n}/page.html?v={n % 7}" for n in range(args.urls)]
        plan = plan_flush(site, urls)

        started = time.perf_counter()
        calls = 0
        for node in nodes:  # baseline: one PURGE per URL per node, one at a time
            conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
            for item in plan.items:
                conn.request("PURGE", item.value, headers={"Host": site.site})
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 200, resp.status
                calls += 1
            conn.close()
        baseline = time.perf_counter() - started

        targets = [VarnishTarget(f"v{n}", f"http://127.0.0.1:{node.port}") for n, node in enumerate(nodes)]
        started = time.perf_counter()
        result = execute(plan, targets, RunContext(deadline=Deadline(120)))
        ours = time.perf_counter() - started
        assert result.status == "ok", result.failed()
        print(f"{args.urls} URLs x {args.nodes} varnishd nodes")
        print(f"baseline (sequential PURGE): {baseline:.2f} s, {calls} HTTP calls")
        print(f"cdnctl flush drivers:        {ours:.2f} s, {result.calls()} HTTP calls")
        print(f"speed-up: {baseline / ours:.1f}x; calls: {calls / max(1, result.calls()):.0f}x fewer")
    finally:
        for node in nodes:
            node.stop()
        origin.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
