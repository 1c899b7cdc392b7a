"""The definition dossier: what it says, that it says it as text, and how a browser shows it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "sites"
SITE = "www.interieur.gouv.fr"
EVIL = """<script>alert("x")</script> & 'quoted' | {{ 7*7 }} ${HOME}"""
HOSTILE_SITE = f"""\
site: hostile.example.fr
origin: http://127.0.0.1:9
rules:
  - {{default: true, ttl: 1h}}
overrides:
  - from: 2027-01-01T00:00:00+01:00
    until: 2027-01-02T00:00:00+01:00
    reason: {json.dumps(EVIL)}
    rules:
      - {{directory: /a/, ttl: 10s}}
"""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def run(*args: str, policy_dir: Path = EXAMPLES) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["--policy-dir", str(policy_dir), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dossier")
    done = run("dossier", "-o", str(out), "--fleet", str(ROOT / "examples" / "fleet.yaml"), "--json")
    assert len(done["files"]) == 6  # type: ignore[arg-type]
    # the examples are not the policy applied to examples/fleet.yaml: said, not silent
    assert done["register"]["updated"] is False and done["warnings"]  # type: ignore[index]
    return out


def test_markdown_has_site_rules_ttls_acl_and_nodes(examples: Path) -> None:
    md = (examples / f"{SITE}.md").read_text()
    assert "| Aliases | interieur.gouv.fr |" in md
    assert "| Origin | https://origin.interieur.gouv.fr |" in md
    assert f"| r8 | directory /actualites/ + type text/html | cache 1m | {EXAMPLES.relative_to(ROOT)}" \
           f"/{SITE}.yaml:20 |" in md.replace(str(EXAMPLES), str(EXAMPLES.relative_to(ROOT)))
    assert "| vigipirate | page /alertes/vigipirate.html | no cache |" in md
    assert "127.0.0.1, ::1, 10.20.0.0/24" in md
    assert "| edge-par-1 | varnish | yes |" in md and "through the node's TLS proxy 127.0.0.1:4443" in md
    assert "### 2027-04-25T18:00:00+02:00 → 2027-04-26T06:00:00+02:00: presidential election" in md
    assert re.search(r"^Generated \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ", md, re.M)


@pytest.mark.parametrize(("row", "column", "path", "content_type"), [
    ("directory /actualites/", "text/html", "/actualites/une", "text/html"),
    ("directory /actualites/", "image/*", "/actualites/photo.jpg", "image/png"),
    ("directory /publications/", "application/pdf", "/publications/rapport.pdf", "application/pdf"),
    ("rest of the site", "other or none", "/contact", None),
    ("page /alertes/vigipirate.html", "text/html", "/alertes/vigipirate.html", "text/html"),
])
def test_effective_ttl_matches_explain(examples: Path, row: str, column: str, path: str,
                                       content_type: str | None) -> None:
    md = (examples / f"{SITE}.md").read_text()
    table = md.split("## Effective TTL", 1)[1].split("## Override windows", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    cells = next([c.strip() for c in line.strip("|").split("|")] for line in lines[2:]
                 if line.startswith(f"| {row} |"))
    cell = cells[header.index(column)]
    explained = run("explain", "--site", SITE, "--path", path, *(["--content-type", content_type]
                                                                  if content_type else []),
                    "--at", "2027-03-01T10:00:00+01:00", "--json")
    rule = explained["rule"]
    assert isinstance(rule, dict)
    ttl = {0: "no cache", 60: "1m", 600: "10m", 604800: "7d", 3600: "1h"}[int(str(explained["ttl"]))]
    assert cell == f"{ttl} ({rule['id']})"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sites = tmp_path_factory.mktemp("hostile-sites")
    (sites / "hostile.example.fr.yaml").write_text(HOSTILE_SITE)
    out = tmp_path_factory.mktemp("hostile-out")
    run("dossier", "-o", str(out), "--json", policy_dir=sites)
    return out / "hostile.example.fr.html"


def test_html_escapes_policy_text(hostile: Path) -> None:
    html = hostile.read_text()
    assert "<script>" not in html and "{{ 7*7 }}" in html  # text, not a template either
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;quoted&#39;" in html
    md = (hostile.parent / "hostile.example.fr.md").read_text()
    assert EVIL.replace("|", "\\|") in md  # a pipe would split the Markdown heading's table neighbours


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--no-first-run", "--proxy-server=127.0.0.1:9", f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


def test_chromium_renders_tables_and_keeps_hostile_text_inert(examples: Path, hostile: Path,
                                                                tmp_path: Path) -> None:
    done = chromium(tmp_path, "--dump-dom", (examples / f"{SITE}.html").as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert '<span id="site">www.interieur.gouv.fr</span>' in dom
    assert re.search(r'<table id="ttl">.*<th scope="row">directory /actualites/</th>', dom, re.S)
    assert "<td>r8</td><td>directory /actualites/ + type text/html</td><td>cache 1m</td>" in dom
    evil = chromium(tmp_path, "--dump-dom", hostile.as_uri())
    assert evil.returncode == 0, evil.stderr[-2000:]
    assert "<script>alert" not in evil.stdout
    assert "&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; 'quoted'" in evil.stdout
