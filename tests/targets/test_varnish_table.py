"""Varnish page tables: type-independent pages are looked up as data (varnish.PageTable)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache_rules.model import PathRank
from cache_rules.targets import varnish
from cache_rules.targets.plan import Head, Outcome
from cache_rules.targets.varnish import TABLE_REGEX, PageTable, Split, TreeBuilder, table_lookup, table_value

PATHS = ["/a.b+c(d)", "/a.b+c(d)x", "/a.b+c", "/a", "/a/", "/ab", "/x*y+z.(1)", "/%2F~!$&'()*+,;=:@"]


def _heads(paths: list[str]) -> list[Head]:
    heads = [Head(PathRank.PAGE, p, f"p{i}", Outcome(f"rule-{i}", i * 10)) for i, p in enumerate(paths, 1)]
    heads.append(Head(PathRank.PAGE, "/norule", "p99", None))
    return heads


def _table(heads: list[Head]) -> str:
    return PageTable("t", heads).table


def test_exact_keys_prefixes_and_metacharacters() -> None:
    table = _table(_heads(PATHS))
    for i, path in enumerate(PATHS, 1):
        assert table_lookup(path, table) == f"p{i}:rule-{i}:{i * 10}", path
    assert table_lookup("/norule", table) == "p99"  # page with no rule: head found, nothing set
    # a prefix of a key, a key plus a suffix, a metacharacter taken literally: no record
    for absent in ["/", "/a.b", "/a.b+c(d", "/a.b+c(d)xy", "/aXb+c", "/a.bbc", "/x", "/norul", "/norulee", ""]:
        assert table_lookup(absent, table) is None, absent


def test_type_dependent_page_is_not_a_record() -> None:
    head = Head(PathRank.PAGE, "/p", "p1", Outcome("r", 1), {"t1": Outcome("s", 2)})
    with pytest.raises(ValueError):
        table_value(head)


_paths = st.lists(st.builds(lambda s: "/" + s, st.text(alphabet="ab/.+()%2F~*", max_size=6)),
                  max_size=60, unique=True)


@settings(max_examples=200, deadline=None)
@given(paths=_paths, requests=st.lists(st.text(alphabet="ab/.+()%2F~*c", max_size=7), max_size=20))
def test_table_tree_equals_linear_scan(paths: list[str], requests: list[str]) -> None:
    varnish.TABLE_LEAF, saved = 4, varnish.TABLE_LEAF
    try:
        heads = _heads(paths)
        builder = TreeBuilder("t")
        tree = builder.table(heads)
    finally:
        varnish.TABLE_LEAF = saved
    assert all(len(n.heads) <= 4 for n in builder.nodes if isinstance(n, PageTable))
    for path in [*paths, *requests, *("/" + r for r in requests), *(p + "a" for p in paths)]:
        node = tree
        while isinstance(node, Split):
            node = node.yes if re.match(node.regex, path) else node.no
        assert isinstance(node, PageTable)
        want = next((table_value(h) for h in heads if h.path == path), None)
        assert table_lookup(path, node.table) == want, (path, paths)


@pytest.mark.skipif(shutil.which("varnishtest") is None, reason="varnishtest not installed")
@pytest.mark.parametrize("jit", ["on", "off"])
def test_full_leaf_on_varnish_pcre(tmp_path: Path, jit: str) -> None:
    """A full leaf of long paths within PCRE2's default limits of varnishd, JIT or not."""
    paths = sorted({f"/section-{i % 7}/{'long-segment-' * 4}{i}/page-{i}.html" for i in range(varnish.TABLE_LEAF)})
    paths[:3] = PATHS[:3]
    heads = _heads(sorted(paths))
    table = _table(heads)
    checks = [(h.path, "=" + table_value(h)) for h in heads] + [(p, None) for p in ["/a.b+c(d", "/a.bXc", "/z"]]
    lines = ['varnishtest "table"', f'varnish v1 -arg "-p pcre2_jit_compilation={jit}" -vcl {{',
             "backend none none;", "sub vcl_recv { return (synth(200)); }", "sub vcl_synth {",
             f'  set resp.http.X-Hit = regsub(req.url + "#" + {{"{table}"}}, "{TABLE_REGEX}", "=\\2");',
             "}", "} -start", "client c1 {"]
    for path, want in checks:
        lines += [f'  txreq -url "{path}"', "  rxresp",
                  f'  expect resp.http.X-Hit == "{want}"' if want else f'  expect resp.http.X-Hit == "{path}#{table}"']
    lines.append("} -run")
    vtc = tmp_path / "table.vtc"
    vtc.write_text("\n".join(lines) + "\n")
    done = subprocess.run(["varnishtest", "-q", str(vtc)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
