"""varnishd runs the compiled VCL: the shared case table and the edge scenarios."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cache_rules.targets import CompileOptions
from cache_rules.targets.varnish import VARNISHNCSA_FORMAT
from cdnctl.cli import cli
from tests.e2e.servers import Edge, EdgeSuite, Nginx, Origin, Varnish, require

pytestmark = [pytest.mark.e2e]


class TestVarnish(EdgeSuite):
    engine = "varnish"
    executable = "varnishd"
    caps_at_boundary = True
    ban = True
    time_unit = 1e-6  # %D is microseconds

    @classmethod
    def make_edge(cls, workdir: Path) -> Edge:
        return Varnish(workdir)

    @classmethod
    def options(cls, edge: Edge, origin: Origin, **kw: object) -> CompileOptions:
        return CompileOptions(origins={"*": origin.url}, **kw)  # type: ignore[arg-type]

    def access_log(self, edge: Edge) -> list[str]:
        assert isinstance(edge, Varnish)
        out = subprocess.run(["varnishncsa", "-n", edge.name, "-d", "-F", VARNISHNCSA_FORMAT],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()

    def test_hot_reload_keeps_serving(self, cases_edge: tuple[Edge, object]) -> None:
        """vcl.load + vcl.use, the way `cdnctl apply` deploys to a running varnishd."""
        edge, _ = cases_edge
        assert isinstance(edge, Varnish)
        vcl = next(edge.workdir.glob("*.vcl")).resolve()
        assert edge.adm("vcl.load", "reload1", str(vcl)).returncode == 0
        assert edge.adm("vcl.use", "reload1").returncode == 0
        assert edge.get("www.cases.example.fr", "/index.html?reload").status == 200


FLEET_SITE = """\
# fleet e2e site
site: fleet.example.fr
enabled: true   # switched by cdnctl site enable|disable
origin: http://127.0.0.1:9
rules:
  - {id: fl-default, default: true, ttl: 1h}
  - {id: fl-news, directory: /news/, ttl: 5m}
"""

BOOT_VCL = """vcl 4.1;
backend none none;
sub vcl_recv { return (synth(503, "not configured")); }
"""

BOOT_NGINX = """pid {state}/nginx.pid;
events {{}}
http {{ server {{ listen 127.0.0.1:{port}; return 503; }} }}
"""


class TestFleet:
    """plan/apply on two varnishd and one nginx: idempotent, journaled, rolled back on failure."""

    @pytest.fixture(scope="class")
    @classmethod
    def fleet(cls, origin: Origin, workdir_factory: Callable[[str], Path]) -> Iterator[FleetRig]:
        yield from fleet_rig(origin, workdir_factory)

    def test_plan_apply_idempotent_site_switch_and_rollback(self, fleet: FleetRig) -> None:
        run = fleet.cli
        # plan: every node needs the config; nothing changes on the nodes
        planned = run("plan", "--json")
        assert [n["action"] for n in planned["nodes"]] == ["update", "update", "update"]
        assert fleet.rules("/news/a") == [None, None, None]
        # apply: every node serves the policy; the change is journaled
        applied = run("apply", "--requested-at", "2027-03-01T09:00:00+01:00", "--who", "alice", "--json")
        assert applied["status"] == "applied", applied
        assert fleet.wait_rules("/news/a", "fl-news")
        journal = fleet.journal()
        assert len(journal) == 1 and journal[0]["who"] == "alice"
        assert journal[0]["requested_at"] == "2027-03-01T09:00:00+01:00" and journal[0]["effective_at"]
        assert journal[0]["sites"] == ["fleet.example.fr"] and journal[0]["status"] == "applied"
        # idempotent: same policy, nothing to do, nothing journaled
        assert [n["action"] for n in run("plan", "--json")["nodes"]] == ["unchanged"] * 3
        again = run("apply", "--json")
        assert again["status"] == "unchanged" and [n["status"] for n in again["nodes"]] == ["unchanged"] * 3
        assert len(fleet.journal()) == 1
        # a policy edit shows up in the plan as decisions
        site_file = fleet.policy_dir / "fleet.example.fr.yaml"
        site_file.write_text(FLEET_SITE.replace("ttl: 5m", "ttl: 2m"))
        decisions = run("plan", "--json")["decisions"]
        assert {"site": "fleet.example.fr", "path": "/news/", "content_type": None,
                "before": "fl-news (ttl 300s)", "after": "fl-news (ttl 120s)"} in decisions
        assert run("apply", "--json")["status"] == "applied"
        # site disable / enable: policy file edited, every node passes through, journaled
        off = run("site", "disable", "fleet.example.fr", "--json")
        assert off["status"] == "applied" and off["change"]["kind"] == "site-disable"
        assert "enabled: false   # switched by" in site_file.read_text()
        assert fleet.wait_rules("/news/b", None, cache="PASS")
        on = run("site", "enable", "fleet.example.fr", "--json")
        assert on["status"] == "applied" and "enabled: true" in site_file.read_text()
        assert fleet.wait_rules("/news/c", "fl-news")
        # a node that fails on load (its origin does not resolve there): everyone rolls back
        before = [fleet.deployed(i) for i in range(3)]
        nodes = [*fleet.nodes, {**fleet.nodes[0], "name": "v-bad", "origins": {"*": "http://no-such-origin.invalid"}}]
        fleet.fleet_file.write_text(yaml.safe_dump({"purgers": ["127.0.0.1"],
                                                    "origins": {"*": fleet.origin_url}, "nodes": nodes}))
        site_file.write_text(FLEET_SITE.replace("ttl: 5m", "ttl: 1m"))
        failed = run("apply", "--json", code=1)
        assert failed["status"] == "rolled-back"
        assert [n["status"] for n in failed["nodes"]] == ["rolled-back"] * 3 + ["failed"]
        assert [fleet.deployed(i) for i in range(3)] == before
        assert fleet.wait_rules("/news/d", "fl-news", ttl="120")
        assert fleet.journal()[-1]["status"] == "rolled-back"


def fleet_rig(origin: Origin, workdir_factory: Callable[[str], Path],
              extra: dict[str, object] | None = None) -> Iterator[FleetRig]:
    """Two varnishd and one nginx on loopback, a fleet file for them (``extra``: more keys)."""
    require("varnishd")
    require("nginx")
    work = workdir_factory("fleet")
    policy_dir = work / "sites"
    policy_dir.mkdir()
    (policy_dir / "fleet.example.fr.yaml").write_text(FLEET_SITE)
    (work / "boot.vcl").write_text(BOOT_VCL)
    edges: list[Edge] = []
    nodes = []
    try:
        for n in (1, 2):
            v = Varnish(workdir_factory(f"fleet-v{n}")).launch(work / "boot.vcl")
            edges.append(v)
            nodes.append({"name": f"v{n}", "engine": "varnish", "admin": f"127.0.0.1:{v.admin_port}",
                          "secret": str(v.secret), "vcl_dir": str(v.workdir / "vcl")})
        ng = Nginx(workdir_factory("fleet-n"))
        conf = ng.workdir / "cdnctl.conf"
        conf.write_text(BOOT_NGINX.format(state=ng.workdir, port=ng.port))
        ng.launch(conf)
        edges.append(ng)
        nodes.append({"name": "n1", "engine": "nginx", "config": str(conf), "prefix": str(ng.workdir),
                      "listen": f"127.0.0.1:{ng.port}", "state_dir": str(ng.workdir),
                      "access_log": str(ng.workdir / "access.log"),
                      "error_log": str(ng.workdir / "error.log")})
        fleet_file = work / "fleet.yaml"
        fleet_file.write_text(yaml.safe_dump({"purgers": ["127.0.0.1"], "origins": {"*": origin.url},
                                              "nodes": nodes, **(extra or {})}))
        yield FleetRig(work, policy_dir, fleet_file, edges, nodes)
    finally:
        for edge in edges:
            edge.stop()


@dataclass
class FleetRig:
    work: Path
    policy_dir: Path
    fleet_file: Path
    edges: list[Edge]
    nodes: list[dict[str, object]]

    @property
    def origin_url(self) -> str:
        data = yaml.safe_load(self.fleet_file.read_text())
        return str(data["origins"]["*"])

    @property
    def env(self) -> dict[str, str]:
        # the audit journal and the change register stay inside the rig, not in $HOME
        return {"CDNCTL_STATE_DIR": str(self.work / "state"),
                "CDNCTL_CLICKHOUSE_URL": f"chdb://{self.work / 'store'}"}

    def cli(self, *args: str, code: int = 0) -> dict[str, object]:
        result = CliRunner(env=self.env).invoke(cli, ["--policy-dir", str(self.policy_dir), *args[:1],
                                          *(["--fleet", str(self.fleet_file)] if args[0] != "site" else []),
                                          *args[1:], *(["--fleet", str(self.fleet_file)] if args[0] == "site"
                                                       else [])])
        assert result.exit_code == code, result.output
        return json.loads(result.stdout)

    def rules(self, path: str, header: str = "X-Cache-Rule") -> list[str | None]:
        return [edge.get("fleet.example.fr", path).header(header) for edge in self.edges]

    def wait_rules(self, path: str, rule: str | None, cache: str | None = None, ttl: str | None = None) -> bool:
        # nginx reloads asynchronously: its new workers take a moment
        for n in range(100):
            responses = [edge.get("fleet.example.fr", f"{path}?w={n}") for edge in self.edges]
            if all(r.header("X-Cache-Rule") == rule and (cache is None or r.header("X-Cache") == cache)
                   and (ttl is None or r.header("X-Cache-TTL") == ttl) for r in responses):
                return True
            time.sleep(0.05)
        return False

    def deployed(self, index: int) -> str | None:
        from cdnctl.fleet import DRIVERS, load_fleet

        node = load_fleet(self.fleet_file).nodes[index]
        return DRIVERS[node.engine](node).deployed().text

    def journal(self) -> list[dict[str, object]]:
        path = self.work / ".cdnctl" / "changes.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
