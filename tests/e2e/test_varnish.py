"""varnishd runs the compiled VCL: the shared case table and the edge scenarios."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cache_rules.targets import CompileOptions
from cache_rules.targets.varnish import VARNISHNCSA_FORMAT
from tests.e2e.servers import Edge, EdgeSuite, Origin, Varnish

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
