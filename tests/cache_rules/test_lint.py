"""Warnings: rules that can never win and values that look like mistakes (not errors)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cache_rules.lint import lint_policy
from cache_rules.loader import load_policy_file
from cache_rules.model import Policy

HEAD = """\
site: www.example.gouv.fr
origin: https://origin.example.gouv.fr
"""
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def warnings_of(tmp_path: Path, body: str, head: str = HEAD,
                name: str = "www.example.gouv.fr.yaml") -> list[tuple[str, int]]:
    path = tmp_path / name
    path.write_text(head + body)
    site, diags = load_policy_file(path)
    assert site is not None and not [d for d in diags if d.severity == "error"], diags
    diags += lint_policy([site], Policy(), now=NOW)
    assert not [d for d in diags if d.severity == "error"], diags
    return [(d.code, d.location.line) for d in diags]


CASES = [
    ("long ttl", "rules:\n  - {default: true, ttl: 400d}\n", [("long-ttl", 4)]),
    ("page cached inside a no-cache directory",
     "rules:\n  - {default: true, ttl: 1h}\n  - {directory: /admin/, cache: false}\n"
     "  - {page: /admin/help.html, ttl: 5m}\n", [("cached-in-no-cache-area", 6)]),
    ("sub-directory cached inside a no-cache directory",
     "rules:\n  - {default: true, ttl: 1h}\n  - {directory: /admin/, cache: false}\n"
     "  - {directory: /admin/css/, content_type: text/css, ttl: 5m}\n", [("cached-in-no-cache-area", 6)]),
    ("group covered by exact types",
     "content_type_groups: {fonts: [font/woff2]}\nrules:\n  - {default: true, ttl: 1h}\n"
     "  - {content_type_group: fonts, ttl: 1d}\n  - {content_type: font/woff2, ttl: 2d}\n", [("shadowed", 6)]),
    ("unused group", "content_type_groups: {fonts: [font/*]}\nrules:\n  - {default: true, ttl: 1h}\n",
     [("unused-group", 1)]),
    ("plain http origin", "rules:\n  - {default: true, ttl: 1h}\n", [("plain-http-origin", 1)],
     HEAD.replace("https:", "http:"), "www.example.gouv.fr.yaml"),
    ("window over", "rules:\n  - {default: true, ttl: 1h}\noverrides:\n"
     "  - {from: 2026-01-01T00:00:00Z, until: 2026-01-02T00:00:00Z, reason: old, rules: [{page: /a, ttl: 1m}]}\n",
     [("past-window", 6)]),
    ("override repeats a regular rule", "rules:\n  - {default: true, ttl: 1h}\n  - {page: /a, ttl: 1m}\n"
     "overrides:\n  - {from: 2027-01-01T00:00:00Z, until: 2027-01-02T00:00:00Z, reason: x,\n"
     "     rules: [{page: /a, ttl: 60}]}\n", [("no-effect", 8)]),
    ("root directory", "rules:\n  - {default: true, ttl: 1h}\n  - {directory: /, ttl: 1m}\n",
     [("root-directory", 5)]),
    ("redundant group entry", "content_type_groups: {img: [image/*, image/png]}\nrules:\n"
     "  - {default: true, ttl: 1h}\n  - {content_type_group: img, ttl: 1d}\n", [("redundant-pattern", 3)]),
    ("wrong file name", "rules:\n  - {default: true, ttl: 1h}\n", [("file-name", 1)], HEAD, "misnamed.yaml"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_warning(tmp_path: Path, case: tuple) -> None:
    _name, body, expected, *file = case
    assert warnings_of(tmp_path, body, *file) == expected


def test_clean_policy_has_no_warnings(tmp_path: Path) -> None:
    body = ("content_type_groups: {images: [image/*]}\nrules:\n  - {default: true, ttl: 1h}\n"
            "  - {content_type_group: images, ttl: 7d}\n  - {directory: /admin/, cache: false}\n"
            "  - {page: /admin/login, cache: false}\n")
    assert warnings_of(tmp_path, body) == []


def test_bundled_examples_are_valid_without_warnings() -> None:
    from cache_rules.loader import load_policy_dir

    examples = Path(__file__).resolve().parents[2] / "examples" / "sites"
    result = load_policy_dir(examples)
    assert result.diagnostics == [] or all(d.code == "past-window" for d in result.diagnostics)
    assert len(result.policy.sites) == 3
