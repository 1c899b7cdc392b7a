"""`cdnctl flush` on a real fleet: two varnishd and two nginx on loopback, one origin.

Each test fills the caches, flushes through the CLI, and proves on every node that the
purged pages are fetched again from the origin (MISS and the origin's counter moves)
while the other pages stay cached.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from cache_rules.targets import CompileOptions, compile_policy
from cdnctl.cli import cli
from tests.e2e.servers import Edge, Nginx, Origin, Varnish, require, write_policy

pytestmark = [pytest.mark.e2e]

SITE = """\
site: flush.example.fr
aliases: [www.flush.example.fr]
origin: http://127.0.0.1:9
rules:
  - {id: fl-default, default: true, ttl: 1h}
"""
HOST = "flush.example.fr"


@dataclass
class Fleet:
    nodes: dict[str, Edge]
    policy_dir: Path
    fleet_file: Path
    work: Path

    def cli(self, *args: str, fleet: Path | None = None) -> Result:
        return CliRunner().invoke(cli, ["--policy-dir", str(self.policy_dir), "flush",
                                        "--fleet", str(fleet or self.fleet_file), "--vendors", "/nonexistent",
                                        *args], catch_exceptions=False)


def node_entry(name: str, edge: Edge) -> dict[str, object]:
    if isinstance(edge, Varnish):
        return {"name": name, "engine": "varnish", "admin": f"127.0.0.1:{edge.admin_port}",
                "secret": str(edge.secret), "vcl_dir": str(edge.workdir / "vcl"),
                "purge": f"http://127.0.0.1:{edge.port}"}
    return {"name": name, "engine": "nginx", "config": str(edge.workdir / "nginx.conf"),
            "purge": f"http://127.0.0.1:{edge.port}"}


def write_fleet(path: Path, nodes: dict[str, Edge], extra: list[dict[str, object]] | None = None) -> Path:
    entries = [node_entry(n, e) for n, e in nodes.items()] + (extra or [])
    path.write_text(yaml.safe_dump({"purgers": ["127.0.0.1"], "nodes": entries}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fleet(origin: Origin, workdir_factory: Callable[[str], Path]) -> Iterator[Fleet]:
    require("varnishd")
    require("nginx")
    work = workdir_factory("flush")
    policy = write_policy(work / "sites", {HOST: SITE})
    nodes: dict[str, Edge] = {}
    try:
        for n in (1, 2):
            v = Varnish(Path(workdir_factory(f"flush-v{n}")))
            v.start(compile_policy(policy, "varnish", options=CompileOptions(origins={"*": origin.url})))
            nodes[f"varnish-{n}"] = v
        for n in (1, 2):
            g = Nginx(Path(workdir_factory(f"flush-n{n}")))
            g.start(compile_policy(policy, "nginx", options=CompileOptions(
                origins={"*": origin.url}, listen=f"127.0.0.1:{g.port}", state_dir=str(g.workdir),
                access_log=str(g.workdir / "access.log"))))
            nodes[f"nginx-{n}"] = g
        yield Fleet(nodes, work / "sites", write_fleet(work / "fleet.yaml", nodes), work)
    finally:
        for edge in nodes.values():
            edge.stop()


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CDNCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CDNCTL_WHO", "webmaster")
    return tmp_path / "state"


def fill(edge: Edge, path: str) -> int:
    """Fetch until the page is a HIT; returns the origin's count for it."""
    for _ in range(100):
        r = edge.get(HOST, path)
        if r.header("X-Cache") == "HIT":
            return int(r.body.decode().rsplit("#", 1)[1])
        time.sleep(0.02)
    raise AssertionError(f"{path} never became a HIT")


def refetched(edge: Edge, path: str, before: int) -> bool:
    """The next request goes to the origin again (MISS, origin count up)."""
    r = edge.get(HOST, path)
    count = r.header("X-Origin-Count")
    return r.header("X-Cache") == "MISS" and count is not None and int(count) > before


def still_cached(edge: Edge, path: str) -> bool:
    return edge.get(HOST, path).header("X-Cache") == "HIT"


def test_flush_urls_on_every_node(fleet: Fleet, state: Path) -> None:
    counts = {name: (fill(e, "/t1/a.html"), fill(e, "/t1/b.html")) for name, e in fleet.nodes.items()}
    # an alias URL, a duplicate in another spelling and a fragment: one item
    res = fleet.cli("https://www.flush.example.fr/t1/a.html", "http://FLUSH.example.fr:80/t1/%61.html#top",
                    "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["items"] == [{"kind": "url", "value": "/t1/a.html"}]
    assert out["targets"] == {n: {"done": 1} for n in fleet.nodes}
    for name, edge in fleet.nodes.items():
        assert refetched(edge, "/t1/a.html", counts[name][0]), name
        assert still_cached(edge, "/t1/b.html"), name
    entry = json.loads(CliRunner().invoke(cli, ["audit", "--json"]).output)[-1]
    assert (entry["action"], entry["result"], entry["who"], entry["site"]) == ("flush", "ok", "user:webmaster", HOST)
    assert entry["what"]["per_target"] == out["targets"]
    assert CliRunner().invoke(cli, ["audit", "verify"]).exit_code == 0


def test_many_urls_batched_into_bans(fleet: Fleet, tmp_path: Path) -> None:
    paths = [f"/t2/page-{n}.html?v={n}" for n in range(30)]
    counts = {name: [fill(e, p) for p in paths] for name, e in fleet.nodes.items()}
    kept = {name: fill(e, "/t2/page-keep.html") for name, e in fleet.nodes.items()}
    url_file = tmp_path / "urls.txt"
    url_file.write_text("# published pages\n" + "\n".join(f"https://{HOST}{p}" for p in paths) + "\n")
    res = fleet.cli("--from-file", str(url_file), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    varnish_calls = [o for o in out["outcomes"] if o["target"] == "varnish-1"]
    assert {o["method"] for o in varnish_calls} == {"BAN regex"} and len(varnish_calls) == 1
    assert len([o for o in out["outcomes"] if o["target"] == "nginx-1"]) == 30  # one PURGE per URL
    for name, edge in fleet.nodes.items():
        assert all(refetched(edge, p, c) for p, c in zip(paths, counts[name], strict=True)), name
        assert still_cached(edge, "/t2/page-keep.html") and kept[name] > 0


def test_prefix_is_partial_on_nginx(fleet: Fleet) -> None:
    counts = {name: fill(e, "/t3/x/1.html") for name, e in fleet.nodes.items()}
    for e in fleet.nodes.values():
        fill(e, "/t3/y/1.html")
    res = fleet.cli("--site", "www.flush.example.fr", "--prefix", "/t3/x/", "--json")
    assert res.exit_code == 3, res.output
    out = json.loads(res.output)
    assert out["status"] == "partial"
    assert out["failed"] == {"nginx-1": [{"kind": "prefix", "value": "/t3/x/"}],
                             "nginx-2": [{"kind": "prefix", "value": "/t3/x/"}]}
    for name in ("varnish-1", "varnish-2"):
        assert refetched(fleet.nodes[name], "/t3/x/1.html", counts[name])
        assert still_cached(fleet.nodes[name], "/t3/y/1.html")
    for name in ("nginx-1", "nginx-2"):
        assert still_cached(fleet.nodes[name], "/t3/x/1.html")  # honest: nothing was purged there


def test_dead_node_then_rerun_flushes_only_what_failed(fleet: Fleet, workdir_factory: Callable[[str], Path],
                                                       origin: Origin) -> None:
    late = Varnish(Path(workdir_factory("flush-late")))  # its port is chosen, nothing listens yet
    fleet_file = write_fleet(fleet.work / "fleet-late.yaml", fleet.nodes, [node_entry("varnish-late", late)])
    counts = {name: fill(e, "/t4/a.html") for name, e in fleet.nodes.items()}
    started = time.monotonic()
    res = fleet.cli(f"https://{HOST}/t4/a.html", "--timeout", "3", "--json", fleet=fleet_file)
    assert time.monotonic() - started < 8  # the time budget bounds the retries
    assert res.exit_code == 3, res.output
    out = json.loads(res.output)
    assert out["failed"] == {"varnish-late": [{"kind": "url", "value": "/t4/a.html"}]}
    (bad,) = [o for o in out["outcomes"] if o["status"] != "done"]
    assert bad["attempts"] > 1 and "cannot reach" in bad["message"]
    for name, edge in fleet.nodes.items():
        assert refetched(edge, "/t4/a.html", counts[name])
    # the node comes up; the pages are cached again everywhere; the re-run purges only the late node
    policy = write_policy(fleet.work / "sites", {HOST: SITE})
    late.start(compile_policy(policy, "varnish", options=CompileOptions(origins={"*": origin.url})))
    try:
        counts = {name: fill(e, "/t4/a.html") for name, e in fleet.nodes.items()}
        late_count = fill(late, "/t4/a.html")
        res = fleet.cli(f"https://{HOST}/t4/a.html", "--json", fleet=fleet_file)
        assert res.exit_code == 0, res.output
        out = json.loads(res.output)
        assert out["resumed"] is True and out["targets"]["varnish-late"] == {"done": 1}
        assert refetched(late, "/t4/a.html", late_count)
        for edge in fleet.nodes.values():
            assert still_cached(edge, "/t4/a.html")
        # nothing left to resume: the next run flushes everything again
        res = fleet.cli(f"https://{HOST}/t4/a.html", "--json", fleet=fleet_file)
        assert json.loads(res.output)["resumed"] is False
    finally:
        late.stop()


def test_foreign_host_refused_before_any_call(fleet: Fleet) -> None:
    counts = {name: fill(e, "/t5/a.html") for name, e in fleet.nodes.items()}
    res = fleet.cli("--site", HOST, f"https://{HOST}/t5/a.html", "https://evil.example.org/t5/a.html", "--json")
    assert res.exit_code == 1, res.output
    assert "evil.example.org" in json.loads(res.stdout)["error"]
    for edge in fleet.nodes.values():
        assert still_cached(edge, "/t5/a.html")
    assert counts
    entry = json.loads(CliRunner().invoke(cli, ["audit", "--json"]).output)[-1]
    assert entry["result"] == "refused"


def test_dry_run_sends_nothing(fleet: Fleet) -> None:
    for e in fleet.nodes.values():
        fill(e, "/t6/a.html")
    res = fleet.cli(f"https://{HOST}/t6/a.html", "--dry-run")
    assert res.exit_code == 0, res.output
    assert "dry run" in res.output
    for edge in fleet.nodes.values():
        assert still_cached(edge, "/t6/a.html")
