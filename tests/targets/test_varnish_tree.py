"""The Varnish path lookup tree finds the same head as a linear scan (SPEC §2 heads)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cache_rules.model import PathRank
from cache_rules.targets import varnish
from cache_rules.targets.plan import Head
from cache_rules.targets.varnish import DirLeaf, PageLeaf, Split, Tree, TreeBuilder

_segment = st.text(alphabet="ab/.%2F~", min_size=0, max_size=4)
_pages = st.lists(st.builds(lambda s: "/" + s, _segment), max_size=40, unique=True)
_dirs = st.lists(st.builds(lambda s: "/" + s.strip("/") + "/" if s.strip("/") else "/", _segment),
                 max_size=25, unique=True)
_requests = st.lists(st.builds(lambda s: "/" + s, st.text(alphabet="ab/.%2F~c", max_size=8)), max_size=30)


def _heads(paths: list[str], kind: PathRank) -> list[Head]:
    return [Head(kind, p, f"{kind.name[0].lower()}{i}", None) for i, p in enumerate(paths)]


def _walk_pages(tree: Tree | None, path: str) -> str | None:
    while isinstance(tree, Split):
        tree = tree.yes if re.match(tree.regex, path) else tree.no
    if isinstance(tree, PageLeaf):
        return next((h.key for h in tree.heads if h.path == path), None)
    return None


def _walk_dirs(tree: Tree | None, path: str) -> str | None:
    while isinstance(tree, Split):
        tree = tree.yes if re.match(tree.regex, path) else tree.no
    if isinstance(tree, DirLeaf):
        for node in tree.nodes:
            if path.startswith(node.head.path or ""):
                return _walk_dirs(node.children, path) or node.head.key
    return None


@pytest.mark.parametrize("leaf", [1, 2, 8])
@settings(max_examples=150, deadline=None)
@given(pages=_pages, dirs=_dirs, requests=_requests)
def test_tree_heads_equal_linear_scan(leaf: int, pages: list[str], dirs: list[str], requests: list[str]) -> None:
    varnish.LEAF, saved = leaf, varnish.LEAF
    try:
        builder = TreeBuilder("t")
        page_heads, dir_heads = _heads(pages, PathRank.PAGE), _heads(dirs, PathRank.DIRECTORY)
        ptree, dtree = builder.pages(page_heads), builder.dirs(dir_heads)
    finally:
        varnish.LEAF = saved
    for path in [*requests, *pages, *dirs, *(d + "x" for d in dirs)]:
        want_page = next((h.key for h in page_heads if h.path == path), None)
        deepest = max((h for h in dir_heads if path.startswith(h.path or "")), key=lambda h: len(h.path or ""),
                      default=None)
        assert _walk_pages(ptree, path) == want_page, (path, pages)
        assert _walk_dirs(dtree, path) == (deepest.key if deepest else None), (path, dirs)
    assert all(len(n.heads if isinstance(n, PageLeaf) else n.nodes) <= leaf
               for n in builder.nodes if not isinstance(n, Split))
