"""Bad input: every mistake gets one diagnostic with file:line:col, all at once, no traceback."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from cache_rules.diagnostics import Severity
from cache_rules.loader import PolicyDirError, load_policy_dir, load_policy_file
from cache_rules.model import PathRank, TypeRank

HEAD = """\
site: www.example.gouv.fr
origin: https://origin.example.gouv.fr
"""

GOOD = HEAD + """\
rules:
  - {default: true, ttl: 1h}
"""


def write(tmp_path: Path, text: str, name: str = "www.example.gouv.fr.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def codes(tmp_path: Path) -> list[tuple[str, int, int, str]]:
    result = load_policy_dir(tmp_path)
    return [(d.code, d.location.line, d.location.column, d.severity.value) for d in result.diagnostics]


# (name, file body, expected (code, line, column)) — each body holds exactly one mistake.
BAD = [
    ("yaml syntax", HEAD + "rules:\n  - {default: true, ttl: 1h\n", ("yaml", 5, 1)),
    ("tab indentation", HEAD + "rules:\n\t- {default: true}\n", ("yaml", 4, 1)),
    ("two documents", GOOD + "---\nsite: x\n", ("yaml", 5, 1)),
    ("root is a list", "- a\n- b\n", ("type", 1, 1)),
    ("unknown top key", GOOD + "colour: blue\n", ("unknown-key", 5, 1)),
    ("misspelt key", GOOD + "overides: []\n", ("unknown-key", 5, 1)),
    ("repeated key", GOOD + "origin: https://other.example.gouv.fr\n", ("duplicate-key", 5, 1)),
    ("missing origin", "site: www.example.gouv.fr\nrules:\n  - {default: true, ttl: 1h}\n",
     ("missing-key", 1, 1)),
    ("bad host", GOOD.replace("site: www.example.gouv.fr", "site: 'www example'"), ("value", 1, 7)),
    ("bad origin scheme", GOOD.replace("https://origin", "ftp://origin"), ("value", 2, 9)),
    ("origin with credentials", GOOD.replace("https://origin", "https://u:p@origin"), ("value", 2, 9)),
    ("enabled not bool", GOOD + "enabled: sometimes\n", ("value", 5, 10)),
    ("rules not a list", HEAD + "rules: {default: true}\n", ("type", 3, 8)),
    ("rule not a mapping", GOOD + "  - just text\n", ("type", 5, 5)),
    ("unknown rule key", GOOD + "  - {page: /a, ttl: 1m, tll: 2m}\n", ("unknown-key", 5, 25)),
    ("bad duration unit", GOOD + "  - {page: /a, ttl: 1y}\n", ("value", 5, 21)),
    ("negative duration", GOOD + "  - {page: /a, ttl: -1}\n", ("value", 5, 21)),
    ("duration as bool", GOOD + "  - {page: /a, ttl: true}\n", ("value", 5, 21)),
    ("no selector", GOOD + "  - {ttl: 5m}\n", ("selector", 5, 5)),
    ("two path selectors", GOOD + "  - {page: /a, directory: /b/, ttl: 5m}\n", ("selector", 5, 5)),
    ("two type selectors", GOOD + "  - {content_type: text/html, content_type_group: g, ttl: 5m}\n",
     ("selector", 5, 5)),
    ("default with type", GOOD + "  - {default: true, content_type: text/html, ttl: 5m}\n",
     ("selector", 5, 5)),
    ("directory without slash", GOOD + "  - {directory: /a, ttl: 5m}\n", ("value", 5, 17)),
    ("relative directory", GOOD + "  - {directory: a/, ttl: 5m}\n", ("value", 5, 17)),
    ("page with query", GOOD + "  - {page: '/a?b=1', ttl: 5m}\n", ("value", 5, 12)),
    ("bad percent escape", GOOD + "  - {page: '/a%zz', ttl: 5m}\n", ("value", 5, 12)),
    ("bad content type", GOOD + "  - {content_type: html, ttl: 5m}\n", ("value", 5, 20)),
    ("content type params", GOOD + "  - {content_type: 'text/html; charset=utf-8', ttl: 5m}\n",
     ("value", 5, 20)),
    ("wildcard exact type", GOOD + "  - {content_type: 'image/*', ttl: 5m}\n", ("value", 5, 20)),
    ("unknown group", GOOD + "  - {content_type_group: images, ttl: 5m}\n", ("unknown-group", 5, 26)),
    ("bad group pattern", HEAD + "content_type_groups: {g: ['*/*']}\nrules:\n  - {default: true, ttl: 1h}\n"
     "  - {content_type_group: g, ttl: 1m}\n", ("value", 3, 27)),
    ("empty group", HEAD + "content_type_groups: {g: []}\nrules:\n  - {default: true, ttl: 1h}\n",
     ("value", 3, 26)),
    ("cache false with ttl", GOOD + "  - {page: /a, cache: false, ttl: 5m}\n", ("conflict", 5, 35)),
    ("cache true ttl 0", GOOD + "  - {page: /a, cache: true, ttl: 0}\n", ("conflict", 5, 34)),
    ("no ttl", GOOD + "  - {page: /a}\n", ("missing-key", 5, 5)),
    ("bad rule id", GOOD + "  - {page: /a, ttl: 1m, id: 'a b'}\n", ("value", 5, 29)),
    ("repeated rule id", GOOD + "  - {page: /a, ttl: 1m, id: x}\n  - {page: /b, ttl: 1m, id: x}\n",
     ("duplicate-id", 6, 5)),
    ("rule id reused in a window", GOOD + "  - {page: /a, ttl: 1m, id: x}\noverrides:\n"
     "  - {from: 2027-01-01T00:00:00Z, until: 2027-01-02T00:00:00Z, reason: r, rules: [{page: /a, ttl: 2m, id: x}]}\n",
     ("duplicate-id", 7, 82)),
    ("missing default", HEAD + "rules:\n  - {page: /a, ttl: 1m}\n", ("missing-default", 1, 1)),
    ("duplicate selector", GOOD + "  - {directory: /a/, ttl: 1m}\n  - {directory: /a/, ttl: 2m}\n",
     ("duplicate-selector", 6, 5)),
    ("duplicate after normalisation", GOOD + "  - {page: '/%7Ea', ttl: 1m}\n  - {page: /~a, ttl: 2m}\n",
     ("duplicate-selector", 6, 5)),
    ("group tie", HEAD + "content_type_groups: {a: [image/*], b: [image/png]}\nrules:\n"
     "  - {default: true, ttl: 1h}\n  - {content_type_group: a, ttl: 1m}\n"
     "  - {content_type_group: b, ttl: 2m}\n", ("tie", 7, 5)),
    ("window without offset", GOOD + "overrides:\n  - {from: 2027-01-01T00:00:00, until: 2027-01-02T00:00:00Z,"
     " reason: r, rules: [{page: /a, ttl: 1m}]}\n", ("value", 6, 12)),
    ("window reversed", GOOD + "overrides:\n  - {from: 2027-01-02T00:00:00Z, until: 2027-01-01T00:00:00Z,"
     " reason: r, rules: [{page: /a, ttl: 1m}]}\n", ("value", 6, 41)),
    ("window missing reason", GOOD + "overrides:\n  - {from: 2027-01-01T00:00:00Z, until: 2027-01-02T00:00:00Z,"
     " rules: [{page: /a, ttl: 1m}]}\n", ("missing-key", 6, 5)),
    ("windows overlap", GOOD + "overrides:\n"
     "  - {from: 2027-01-01T00:00:00Z, until: 2027-01-03T00:00:00Z, reason: a, rules: [{page: /a, ttl: 1m}]}\n"
     "  - {from: 2027-01-02T00:00:00Z, until: 2027-01-04T00:00:00Z, reason: b, rules: [{page: /a, ttl: 2m}]}\n",
     ("overlapping-windows", 7, 5)),
    ("window duplicate selector", GOOD + "overrides:\n"
     "  - {from: 2027-01-01T00:00:00Z, until: 2027-01-03T00:00:00Z, reason: a,\n"
     "     rules: [{page: /a, ttl: 1m}, {page: /a, ttl: 2m}]}\n", ("duplicate-selector", 7, 35)),
    ("empty file", "", ("empty", 1, 1)),
]


@pytest.mark.parametrize(("body", "expected"), [(b, e) for _, b, e in BAD], ids=[n for n, _, _ in BAD])
def test_each_mistake_is_reported_with_its_position(tmp_path: Path, body: str, expected: tuple) -> None:
    (tmp_path / "www.example.gouv.fr.yaml").write_text(body)
    found = [(c, line, col) for c, line, col, sev in codes(tmp_path) if sev == "error"]
    assert found == [expected]


def test_all_errors_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path, HEAD + """\
        rules:
          - {default: true, ttl: 1y}
          - {directory: a/, ttl: 1m}
          - {page: /a, ttl: 1m}
          - {page: /a, ttl: 2m}
        oops: 1
        """.replace("        ", "", 7))
    errors = [(c, line) for c, line, _, sev in codes(tmp_path) if sev == "error"]
    assert errors == [("value", 4), ("value", 5), ("duplicate-selector", 7), ("unknown-key", 8)]


def test_duplicate_site_across_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace("site: www.example.gouv.fr",
                                 "site: other.gouv.fr\naliases: [www.example.gouv.fr]"), "other.gouv.fr.yaml")
    result = load_policy_dir(tmp_path)
    assert [(d.code, Path(d.location.file).name) for d in result.errors] == [
        ("duplicate-site", "www.example.gouv.fr.yaml")]
    assert "other.gouv.fr" in result.errors[0].message


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_bytes(b"site: a.gouv.fr\norigin: \xff\n")
    assert [(c, line, col) for c, line, col, _ in codes(tmp_path)] == [("encoding", 2, 9)]


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    path.chmod(0)
    assert [c for c, *_ in codes(tmp_path)] == ["unreadable"]


def test_unreadable_file_as_root(tmp_path: Path) -> None:
    # A directory named like a policy file cannot be read, whoever runs the tests.
    (tmp_path / "broken.yaml").mkdir()
    result = load_policy_dir(tmp_path)
    assert [(d.code, Path(d.location.file).name) for d in result.errors] == [("unreadable", "broken.yaml")]


def test_missing_and_empty_directories(tmp_path: Path) -> None:
    with pytest.raises(PolicyDirError, match="does not exist"):
        load_policy_dir(tmp_path / "nope")
    write(tmp_path, GOOD).rename(tmp_path / "file")
    with pytest.raises(PolicyDirError, match="not a directory"):
        load_policy_dir(tmp_path / "file")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert [d.code for d in load_policy_dir(empty).errors] == ["no-policy"]


def test_valid_file_builds_the_model(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + """\
        aliases: [Example.gouv.fr.]
        content_type_groups:
          images: [IMAGE/*, image/png]
        rules:
          - {default: true, ttl: 3600}
          - {content_type_group: images, ttl: 7d}
          - {directory: '/actualit%C3%A9s/', content_type: Text/HTML, ttl: 30s, id: news-html}
          - {page: '/caf%c3%a9.html', cache: false}
          - {page: /café-2.html, ttl: 0}
        overrides:
          - from: 2027-04-25T18:00:00+02:00
            until: 2027-04-26T06:00:00+02:00
            reason: election night
            enabled: false
            rules:
              - {directory: /resultats/, ttl: 10s}
        """.replace("        ", "", 20))
    site, diags = load_policy_file(path)
    assert site is not None
    assert [d.code for d in diags] == ["redundant-pattern"]
    assert site.aliases == ("example.gouv.fr",)
    assert site.groups == {"images": ("image/*",)}
    default, images, news, cafe, cafe2 = site.rules
    assert (default.id, default.ttl, default.path_rank, default.type_rank) == ("r1", 3600, PathRank.SITE,
                                                                               TypeRank.ANY)
    assert (images.ttl, images.patterns) == (7 * 86400, ("image/*",))
    assert (news.id, news.path, news.type_value, news.ttl) == ("news-html", "/actualit%C3%A9s/", "text/html", 30)
    assert (news.location.line, news.location.column) == (9, 5)
    assert (cafe.path, cafe.cache) == ("/caf%C3%A9.html", False)
    assert (cafe2.path, cafe2.cache) == ("/caf%C3%A9-2.html", False)
    (window,) = site.overrides
    assert window.reason == "election night" and window.enabled is False
    assert window.rules[0].id == "o1.r1" and window.rules[0].window == 0
    assert window.start.utcoffset().total_seconds() == 7200


def test_ten_thousand_page_rules_load_and_validate(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from policygen import write_big_site

    write_big_site(tmp_path, pages=10_000, directories=1_000)
    result = load_policy_dir(tmp_path)
    assert result.ok, result.errors[:3]
    (site,) = result.policy.sites.values()
    assert len(site.rules) == 11_004
    assert not [d for d in result.diagnostics if d.severity is Severity.ERROR]
