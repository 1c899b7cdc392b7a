"""CloudFront, interpreted as documented, with the generated Lambda@Edge code run by node.

- Behaviors: path patterns are matched in order on the request path as received,
  case-sensitively; ``*`` is zero or more characters, ``?`` exactly one; no match →
  the default behavior.
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html)
- A behavior without the function: its cache policy decides (MinTTL = MaxTTL = TTL;
  CachingDisabled: not cached).
- With the function: the origin-response event
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html)
  goes through ``handler``; the returned ``Cache-Control`` decides with MinTTL 0:
  ``no-store`` → not cached, ``s-maxage=N`` → N seconds.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

RUNNER = r"""
const events = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const out = [];
  for (const e of events) {
    const mod = require(e.file);
    Date.now = () => e.now;
    const headers = {};
    if (e.contentType !== null) headers['content-type'] = [{key: 'Content-Type', value: e.contentType}];
    headers['cache-control'] = [{key: 'Cache-Control', value: 'max-age=600, private'}];
    const event = {Records: [{cf: {config: {eventType: 'origin-response'},
      request: {uri: e.uri, querystring: '', method: 'GET', headers: {host: [{key: 'Host', value: e.host}]}},
      response: {status: '200', statusDescription: 'OK', headers}}}]};
    const r = await mod.handler(event);
    const get = (n) => (r.headers[n] ? r.headers[n][0].value : null);
    out.push({cacheControl: get('cache-control'), rule: get('x-cache-rule'), ttl: get('x-cache-ttl')});
  }
  process.stdout.write(JSON.stringify(out));
})().catch((err) => { console.error(err); process.exit(1); });
"""


def pattern_matches(pattern: str, uri: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, uri, re.DOTALL) is not None


def behavior_for(config: dict, uri: str) -> dict:
    for b in config["behaviors"]:
        if pattern_matches(b["PathPattern"], uri):
            return b
    return config["default"]


@dataclass
class Result:
    cache: bool
    ttl: int
    rule: str | None
    behavior: str
    cache_control: str | None = None


def run_node(events: list[dict]) -> list[dict]:
    proc = subprocess.run(["node", "-e", RUNNER], input=json.dumps(events), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def decide_all(config: dict[str, dict], directory: Path, requests: list[tuple[str, str, str, str | None, float]]
               ) -> list[Result]:
    """requests: (site, host, uri, content type, now in ms) → decisions, one node process for all."""
    out: list[Result | None] = []
    events, slots = [], []
    for site, host, uri, ct, now in requests:
        b = behavior_for(config[site], uri)
        if not b["Lambda"]:
            ttl = int(b.get("TTL", 0)) if b["CachePolicy"] != "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" else 0
            out.append(Result(ttl > 0, ttl, b.get("Rule"), b["PathPattern"]))
            continue
        slots.append(len(out))
        out.append(None)
        events.append({"file": str(directory / config[site]["function"]), "uri": uri, "host": host,
                       "contentType": ct, "now": now})
    for slot, r in zip(slots, run_node(events) if events else [], strict=True):
        cc = r["cacheControl"] or ""
        m = re.search(r"s-maxage=(\d+)", cc)
        ttl = 0 if "no-store" in cc or not m else int(m[1])
        b = behavior_for(config[requests[slot][0]], requests[slot][2])
        out[slot] = Result(ttl > 0, ttl, r["rule"], b["PathPattern"], cc)
    return out  # type: ignore[return-value]
