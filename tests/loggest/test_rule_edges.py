"""Real varnishd and nginx (the tests/e2e harness) log the rule that decided each request:
the access log line written with cdnctl's own log format carries the rule id that
`cdnctl explain` gives for that URL, and `logs ingest` stores it in the record."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import tests.e2e.test_nginx as e2e_nginx
import tests.e2e.test_varnish as e2e_varnish
from cache_rules.loader import load_policy_dir
from cache_rules.targets import compile_policy
from cache_rules.targets.nginx import LOG_FORMAT
from cache_rules.targets.varnish import VARNISHNCSA_FORMAT
from cdnctl.cli import cli
from loggest.formats import resolve_format
from loggest.formats.model import Field
from loggest.store import open_store
from reports.calendar import PARIS
from reports.misses import misses_by_rule
from tests.e2e.conftest import origin, workdir_factory  # noqa: F401  (fixtures of the harness)
from tests.e2e.servers import Edge, Origin, Varnish, encode_ct, require, write_policy

pytestmark = [pytest.mark.e2e]

SITE = "rules.example.fr"
POLICY = {
    SITE: """\
site: rules.example.fr
aliases: [www.rules.example.fr]
origin: http://127.0.0.1:9
content_type_groups:
  images: [image/*]
rules:
  - {id: rl-default, default: true, ttl: 1h}
  - {id: rl-images, content_type_group: images, ttl: 7d}
  - {id: rl-news, directory: /news/, ttl: 5m}
  - {id: rl-news-html, directory: /news/, content_type: text/html, ttl: 30s}
  - {id: rl-page, page: /index.html, ttl: 30s}
  - {id: rl-admin, directory: /admin/, cache: false}
overrides:
  - from: 2031-01-01T00:00:00+00:00
    until: 2031-01-02T00:00:00+00:00
    reason: not yet
    rules:
      - {id: rl-later, directory: /news/, ttl: 10s}
""",
    "off.example.fr": """\
site: off.example.fr
origin: http://127.0.0.1:9
enabled: false
rules:
  - {id: off-default, default: true, ttl: 1h}
""",
}
# (host, path, content type): each asked twice (a miss then a hit; admin: two passes)
REQUESTS = [
    ("www.rules.example.fr", "/index.html", "text/html; charset=utf-8"),
    (SITE, "/news/a", "text/html"),
    (SITE, "/news/b.png", "image/png"),
    (SITE, "/img/logo.png", "image/png"),
    (SITE, "/other.css", "text/css"),
    (SITE, "/admin/x", "text/html"),
    ("off.example.fr", "/x", "text/html"),
]
# the same line as varnishncsa-cdn, the rule read from the shared log's std.log record instead
VCL_LOG_FORMAT = VARNISHNCSA_FORMAT.replace('"%{X-Cache-Rule}o"', '"%{VCL_Log:cdn-rule}x"')

ENGINES = {"varnish": e2e_varnish.TestVarnish, "nginx": e2e_nginx.TestNginx}


@pytest.fixture(scope="module", params=sorted(ENGINES))
def edge(request: pytest.FixtureRequest, origin: Origin,  # noqa: F811
         workdir_factory: Callable[[str], Path]) -> Iterator[tuple[str, Edge, Path]]:  # noqa: F811
    engine = str(request.param)
    suite = ENGINES[engine]
    require(suite.executable)
    work = workdir_factory(f"rule-{engine}")
    policy = write_policy(work / "sites", POLICY)
    server = suite.make_edge(work)
    server.start(compile_policy(policy, engine, options=suite.options(server, origin, check=False)))
    for host, path, ctype in REQUESTS:
        for _ in range(2):
            assert server.get(host, path, headers={"X-Test-Content-Type": encode_ct(ctype)}).status == 200
    assert server.get("unknown.example.fr", "/nobody").status == 404
    yield engine, server, work / "sites"
    server.stop()


def access_log(engine: str, server: Edge, fmt: str | None = None) -> list[str]:
    """The edge's log lines, once the last request's line is written (they follow the response)."""
    lines: list[str] = []
    for _ in range(100):
        if engine == "varnish":
            assert isinstance(server, Varnish)
            out = subprocess.run(["varnishncsa", "-n", server.name, "-d", "-F", fmt or VARNISHNCSA_FORMAT],
                                 capture_output=True, text=True, timeout=30, check=True)
            lines = out.stdout.splitlines()
        else:
            lines = e2e_nginx.TestNginx().access_log(server)
        if sum("/nobody" in ln for ln in lines) == 1 and len(lines) >= 2 * len(REQUESTS) + 1:
            return lines
        time.sleep(0.1)
    raise AssertionError(f"incomplete access log: {lines[-5:]}")


def readable(varnishncsa: str) -> str:
    """The request line as cdnctl reads it: ``"%m %U%q %H"`` prints what ``"%r"`` reads (a path,
    not varnishncsa's absolute URL), but %U%q have no separator for a parser to split on."""
    return varnishncsa.replace('"%m %U%q %H"', '"%r"')


def shape(spec: str) -> list[str]:
    return [t.kind if isinstance(t, Field) else t.text for t in resolve_format(spec).tokens]


def explain(policy_dir: Path, host: str, path: str, ctype: str) -> str | None:
    result = CliRunner().invoke(cli, ["--policy-dir", str(policy_dir), "explain", "--site", host, "--path", path,
                                      "--content-type", ctype, "--json"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    return decision["rule"]["id"] if decision["enabled"] else None


def ingest(tmp_path: Path, lines: list[str], fmt: str) -> list[tuple[str | None, str | None, str | None]]:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    for old in logs.iterdir():
        old.unlink()
    (logs / "edge-1_access.log").write_text("".join(ln + "\n" for ln in lines))
    url = f"chdb://{tmp_path / 'store.chdb'}"
    result = CliRunner().invoke(cli, ["logs", "ingest", "--store", url, "--format", fmt, "--settle", "0",
                                      "--replay", "--json", str(logs)])
    assert result.exit_code == 0, result.output
    with open_store(url) as st:
        return [(r[0], r[1], r[2]) for r in st.rows("SELECT site, path, rule FROM records ORDER BY line_no")]


def test_log_lines_carry_the_rule_explain_gives(edge: tuple[str, Edge, Path], tmp_path: Path) -> None:
    engine, server, policy_dir = edge
    lines = access_log(engine, server)
    preset = {"varnish": "varnishncsa-cdn", "nginx": "nginx-cdn"}[engine]
    spec = {"varnish": readable(VARNISHNCSA_FORMAT), "nginx": LOG_FORMAT}[engine]
    # what the edge writes is what the preset reads, field kind by field kind (the preset's
    # rule is its optional tail; its request and cache fields may be other specifiers)
    assert shape(preset) == shape(spec)
    parser = resolve_format(preset).parser()
    by_path: dict[str, set[str | None]] = {}
    for line in lines:
        row = parser.parse(line)
        assert row is not None and line.endswith('"'), line
        by_path.setdefault(str(row[5]), set()).add(row[-1])        # path, rule (raw line: rule last)
    want = {path: explain(policy_dir, host, path, ctype) for host, path, ctype in REQUESTS}
    assert want == {"/index.html": "rl-page", "/news/a": "rl-news-html", "/news/b.png": "rl-news",
                    "/img/logo.png": "rl-images", "/other.css": "rl-default", "/admin/x": "rl-admin", "/x": None}
    assert by_path == {**{p: {r} for p, r in want.items()}, "/nobody": {None}}     # misses and hits alike
    nobody = next(ln for ln in lines if "/nobody" in ln)
    assert nobody.endswith(' "-"')                                  # nothing decided: no rule, never a guess
    # logs ingest stores it, with the preset and with the edge's own spec
    stored = ingest(tmp_path, lines, preset)
    assert {(p, r) for _s, p, r in stored} == {*want.items(), ("/nobody", None)} and len(stored) == len(lines)
    assert ingest(tmp_path, lines, spec) == stored
    # and the report of misses by rule reads it, with each rule's TTL from the policy
    with open_store(f"chdb://{tmp_path / 'store.chdb'}") as st:
        today = datetime.now(PARIS).date()
        report = misses_by_rule(st.client, [SITE, "www.rules.example.fr", "off.example.fr"],
                                today - timedelta(days=1), today, load_policy_dir(policy_dir).require_valid())
    # (the second request is a hit, or a miss when nginx had not finished storing the first)
    assert {r["rule"]: (r["ttl_s"], r["miss"] > 0, r["pass"], r["requests"]) for r in report["rows"]} == {
        "rl-page": (30, True, 0, 2), "rl-news-html": (30, True, 0, 2), "rl-news": (300, True, 0, 2),
        "rl-images": (604800, True, 0, 2), "rl-default": (3600, True, 0, 2), "rl-admin": (0, False, 2, 2)}
    assert (report["with_rule"], report["without_rule"], report["misses_without_rule"]) == (12, 2, 2)
    if engine == "varnish":   # the std.log copy of the id, for an operator who strips the header
        vcl_log = access_log(engine, server, VCL_LOG_FORMAT)
        assert ingest(tmp_path, vcl_log, "apache:" + readable(VCL_LOG_FORMAT)) == stored
