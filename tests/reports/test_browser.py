"""The weekly report as a person sees it: rendered by a real Chromium, headless.

The HTML must stand alone (no network, no script): Chromium is started with the
network disabled, and what it renders — the DOM after parsing, and a screenshot — must
show the charts and the figures.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image

from reports import documents
from reports.metrics import reference_stats
from tests.reports.test_documents import EVIL, SITE, records

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]  # any fetch would fail


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.skip("chromium not installed (.ci/run installs it)")
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def weekly_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    stats = reference_stats(records(), [SITE], date(2026, 4, 6), date(2026, 4, 12))
    data = documents.weekly_data({SITE: stats}, "2026-W15", datetime(2026, 4, 13, 8, tzinfo=UTC))
    path = tmp_path_factory.mktemp("weekly") / "weekly.html"
    path.write_text(documents.render_html(data, lang="fr"))
    return path


def test_rendered_dom_has_charts_and_figures(weekly_html: Path, tmp_path: Path) -> None:
    done = chromium(tmp_path, "--dump-dom", weekly_html.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert len(re.findall(r"<svg\b", dom)) >= 5  # traffic, bytes, CDN share, statuses, time taken
    assert "7 021" in dom.replace("\u202f", " ").replace("\xa0", " ")  # requests of the week, French grouping
    assert "<script>alert" not in dom  # the hostile path stays text
    assert EVIL.replace("<", "&lt;").replace(">", "&gt;") in dom


def test_screenshot_is_a_drawn_page(weekly_html: Path, tmp_path: Path) -> None:
    shot = tmp_path / "weekly.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", weekly_html.as_uri())
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    colours = image.getcolors(maxcolors=1 << 16) or []
    # A blank or error page has a handful of colours; text and charts give hundreds.
    assert len(colours) > 200
