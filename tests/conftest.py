"""Suite-wide rules.

In CI (``CI`` set, as `.ci/run` is run there) a skipped test is a failure: `.ci/run`
installs every program the tests need, so a skip there means a missing install step
that would otherwise pass unnoticed. The only skips allowed are those that depend on
who runs the tests, listed below.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

ALLOWED_SKIPS = ("root reads every file",)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    assert isinstance(report, pytest.TestReport)
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not any(allowed in reason for allowed in ALLOWED_SKIPS):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where nothing may be missing: {reason}"
    return report
