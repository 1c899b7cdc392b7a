"""The HTML reports pass axe-core (WCAG 2.0 A/AA, 2.1 AA) in a real headless Chromium.

axe-core comes from the npm registry at a pinned version and integrity (``npm pack``,
checked against the sha512 below, kept in a cache directory so later runs read it from
disk); Chromium is Debian's (.ci/run installs it). Chromium is driven through its
DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON messages ended by NUL on
file descriptors 3 and 4), so nothing but the standard library is needed on the Python
side and no browser is downloaded. The page itself stays script-free: axe is evaluated
by the DevTools protocol, not loaded by the report.

In CI a missing Chromium or npm fails the test (tests/conftest.py turns skips into failures).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from reports import documents
from reports.qs import qs_report
from reports.registers import DetectedBy, Impact, Incident
from tests.reports.test_documents import (
    APRIL,
    GAPPED_WEEK,
    GENERATED,
    SITE,
    WEEK,
    full_stats,
    older_stats,
    rich_records,
    with_previous,
)

AXE_VERSION = "4.14.1"
AXE_INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--font-render-hinting=none",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]  # any fetch would fail


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cdnctl-tests" / f"axe-core-{AXE_VERSION}"


def axe_source() -> str:
    """axe.min.js of the pinned axe-core, fetched once with ``npm pack`` and checked."""
    cached = _cache_dir() / "axe.min.js"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm not found: it fetches axe-core from the npm registry for the accessibility test")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", f"axe-core@{AXE_VERSION}", "--silent", "--pack-destination", tmp],
                              capture_output=True, text=True, timeout=300, check=False, cwd=tmp)
        tarballs = list(Path(tmp).glob("axe-core-*.tgz"))
        if done.returncode != 0 or not tarballs:
            pytest.fail(f"npm pack axe-core@{AXE_VERSION} failed: {done.stderr[-2000:]}")
        data = tarballs[0].read_bytes()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    assert integrity == AXE_INTEGRITY, f"axe-core {AXE_VERSION} tarball integrity {integrity}"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile("package/axe.min.js")
        assert member is not None
        source = member.read().decode("utf-8")
    cached.parent.mkdir(parents=True, exist_ok=True)
    part = cached.with_suffix(f".{os.getpid()}.part")
    part.write_text(source, encoding="utf-8")
    part.replace(cached)
    return source


# --- a DevTools-protocol client over a pipe ------------------------------------------------


class DevToolsError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium and one page, driven by DevTools protocol commands over fds 3/4."""

    def __init__(self, profile: Path) -> None:
        if CHROMIUM is None:
            pytest.skip("chromium not installed (.ci/run installs it)")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire() -> None:
            # In the child, before exec: the protocol's descriptors are 3 (commands in) and 4 (replies
            # out). Moved out of the way first, so neither end is overwritten by the other; dup2 makes
            # them inheritable, every other descriptor of this process is closed at exec (PEP 446).
            r, w = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=False,
            preexec_fn=wire)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=True)

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise DevToolsError(f"chromium closed the DevTools pipe: {err[-2000:]}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: bool = False) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str) -> dict[str, Any]:
        while True:
            for i, event in enumerate(self.events):
                if event["method"] == method:
                    return self.events.pop(i)
            message = self._read_message()
            if "method" in message:
                self.events.append(message)

    def open(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=True)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str, await_promise: bool = False) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": await_promise,
                                                "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"evaluate: {result['exceptionDetails']}")
        return result["result"].get("value")

    def axe(self, source: str) -> list[dict[str, Any]]:
        """The page's axe-core violations for the WCAG 2.0 A/AA and 2.1 AA rules."""
        self.evaluate(source)
        options = json.dumps({"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
        found = self.evaluate(f"axe.run(document, {options}).then(r => JSON.stringify(r.violations))",
                              await_promise=True)
        violations: list[dict[str, Any]] = json.loads(found)
        return violations

    def view(self, width: int = 1100, greyscale: bool = False, media: str = "") -> None:
        """Lay the page out ``width`` CSS pixels wide for ``media`` ("" screen, "print"), ``greyscale``
        as seen without colour vision (achromatopsia)."""
        self.send("Emulation.setEmulatedMedia", {"media": media}, session=True)
        self.send("Emulation.setEmulatedVisionDeficiency", {"type": "achromatopsia" if greyscale else "none"},
                  session=True)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 800, "deviceScaleFactor": 1,
                                                        "mobile": False}, session=True)

    def screenshot(self, path: Path) -> Path:
        """The whole page as laid out by :meth:`view`, as a PNG."""
        metrics = self.send("Page.getLayoutMetrics", session=True)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": int(metrics["width"]), "height": int(metrics["height"]), "scale": 1}
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip},
                         session=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        with contextlib.suppress(DevToolsError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            os.close(fd)
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    chrome = Chromium(tmp_path_factory.mktemp("profile"))
    try:
        yield chrome
    finally:
        chrome.close()


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


# --- the documents checked -----------------------------------------------------------------


def weekly_doc() -> dict[str, Any]:
    return documents.weekly_data({SITE: full_stats(with_previous(WEEK), WEEK[0], WEEK[-1])}, "2026-W15",
                                 GENERATED)


def gapped_doc() -> dict[str, Any]:
    """A week whose logs of two days never came, and a second site shown with few metrics."""
    other = "www.b.gouv.fr"
    return documents.weekly_data(
        {SITE: full_stats(with_previous(GAPPED_WEEK), WEEK[0], WEEK[-1]),
         other: full_stats(with_previous(WEEK, other), WEEK[0], WEEK[-1], other)},
        "2026-W15", GENERATED, show={other: ["requests", "cdn_share", "status"]})


def older_doc() -> dict[str, Any]:
    """Stats as an older version wrote them: none of the contract's new keys."""
    return documents.weekly_data({SITE: older_stats(rich_records(WEEK), WEEK[0], WEEK[-1])}, "2026-W15", GENERATED)


def monthly_doc() -> dict[str, Any]:
    inc = Incident("INC-1", SITE, datetime(2026, 4, 7, 8, tzinfo=UTC), datetime(2026, 4, 7, 8, tzinfo=UTC),
                   DetectedBy.PROVIDER, Impact.FULL, resolved_at=datetime(2026, 4, 7, 9, tzinfo=UTC),
                   description="<b>panne</b>")
    qs = qs_report(2026, 4, [SITE], [inc], [], [], as_of=datetime(2026, 6, 1, tzinfo=UTC))
    april = [d for d in APRIL if d not in (date(2026, 4, 14), date(2026, 4, 15), date(2026, 4, 16))]
    return documents.monthly_data({SITE: full_stats(with_previous(april), APRIL[0], APRIL[-1])}, qs, GENERATED)


DOCS = {"weekly": weekly_doc, "monthly": monthly_doc, "gapped": gapped_doc, "older": older_doc}


def _page(tmp_path: Path, name: str, lang: str) -> Path:
    path = tmp_path / f"{name}-{lang}.html"
    path.write_text(documents.render_html(DOCS[name](), lang), encoding="utf-8")
    return path


def _explain(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']} — {targets}")
    return "\n".join(lines)


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("name", list(DOCS))
def test_axe_finds_no_violation(browser: Chromium, axe: str, tmp_path: Path, name: str, lang: str) -> None:
    page = _page(tmp_path, name, lang)
    browser.open(page.as_uri())
    assert browser.evaluate("document.documentElement.lang") == lang
    assert browser.evaluate("document.scripts.length") == 0  # the report itself has no script
    violations = browser.axe(axe)
    assert violations == [], _explain(violations)


def test_pass_and_fail_differ_in_greyscale(browser: Chromium, tmp_path: Path) -> None:
    """RGAA 3.1: a verdict is not carried by colour alone; without colour a failed cell still reads
    differently (dark cell, light text, ✘) from a passed one (plain cell, ✔)."""
    from PIL import Image

    page = _page(tmp_path, "monthly", "fr")
    browser.open(page.as_uri())
    browser.view(greyscale=True)
    boxes = browser.evaluate("""JSON.stringify(['pass', 'fail'].map(k => [...document.querySelectorAll(
        `td.${k}, td.verdict-${k}`)].map(e => { const r = e.getBoundingClientRect();
        return [r.left + scrollX, r.top + scrollY, r.width, r.height, getComputedStyle(e, '::before').content]; })))""")
    passed, failed = json.loads(boxes)
    assert passed and failed
    assert all("✔" in b[4] for b in passed) and all("✘" in b[4] for b in failed)
    shot = Image.open(browser.screenshot(tmp_path / "grey.png")).convert("L")
    browser.view()

    def mean(box: list[Any]) -> float:
        x, y, w, h = (round(v) for v in box[:4])
        cell = shot.crop((x + 2, y + 2, x + w - 2, y + h - 2)).resize((1, 1), Image.Resampling.BOX)
        return float(cell.getpixel((0, 0)))  # type: ignore[arg-type]

    lightest_fail = max(mean(b) for b in failed)
    darkest_pass = min(mean(b) for b in passed)
    assert darkest_pass - lightest_fail > 60, (darkest_pass, lightest_fail)


def test_axe_reports_what_it_should(browser: Chromium, axe: str, tmp_path: Path) -> None:
    """The harness really runs axe: a page with known faults gives their rule ids."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><title>x</title></head><body><main><img src="x.png">'
                    '<p style="color:#bbb;background:#fff">faint</p></main></body></html>', encoding="utf-8")
    browser.open(page.as_uri())
    found = {v["id"] for v in browser.axe(axe)}
    assert {"html-has-lang", "image-alt", "color-contrast"} <= found


def test_print_stylesheet(browser: Chromium, tmp_path: Path) -> None:
    page = _page(tmp_path, "gapped", "fr")
    browser.open(page.as_uri())
    browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=True)
    assert browser.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
    sites = "document.querySelectorAll('section.site')"
    assert browser.evaluate(f"getComputedStyle({sites}[0]).breakBefore") == "auto"  # the first under the title
    assert browser.evaluate(f"getComputedStyle({sites}[1]).breakBefore") == "page"  # each other site on a new page
    browser.send("Emulation.setEmulatedMedia", {"media": ""}, session=True)
    assert browser.evaluate("getComputedStyle(document.querySelector('nav')).display") != "none"
