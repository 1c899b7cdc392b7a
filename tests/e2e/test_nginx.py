"""nginx runs the compiled config: the shared case table and the edge scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_rules.targets import CompileOptions
from tests.e2e.servers import Edge, EdgeSuite, Nginx, Origin

pytestmark = [pytest.mark.e2e]


class TestNginx(EdgeSuite):
    engine = "nginx"
    executable = "nginx"
    caps_at_boundary = False  # the window is part of the cache key instead
    ban = False  # ngx_cache_purge has no prefix/regex purge: 501
    time_unit = 1.0  # $request_time is seconds

    @classmethod
    def make_edge(cls, workdir: Path) -> Edge:
        return Nginx(workdir)

    @classmethod
    def options(cls, edge: Edge, origin: Origin, **kw: object) -> CompileOptions:
        return CompileOptions(origins={"*": origin.url}, listen=f"127.0.0.1:{edge.port}",
                              state_dir=str(edge.workdir), access_log=str(edge.workdir / "access.log"),
                              **kw)  # type: ignore[arg-type]

    def access_log(self, edge: Edge) -> list[str]:
        path = edge.workdir / "access.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []
