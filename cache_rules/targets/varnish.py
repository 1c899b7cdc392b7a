"""Varnish (VCL 4.1, varnishd 7.x) target: one ``cdn.vcl`` for every compiled site.

How the decision of SPEC §2 is made on the server:

- ``vcl_recv`` maps the Host header (lower-cased, port and trailing dot dropped) to
  the site, picks the active override window with the server's clock and decides
  ``enabled``; a site off the CDN is passed (never stored). Requests with an
  ``Authorization`` header are passed too (a shared cache must not store them).
- ``vcl_backend_response`` normalises the path as SPEC §1 does (query dropped, escapes
  of unreserved characters decoded, hex upper-cased, other bytes escaped), reduces the
  response's Content-Type to a media class, finds the path's head (page, deepest
  directory, site: see :mod:`cache_rules.targets.plan`) and sets the TTL of the
  winning rule; ``cache: false`` makes a hit-for-miss object. ``grace`` and ``keep``
  are 0 so that an expired object is never served. An object never outlives the next
  window boundary of its site, so a request after the boundary is decided by the new
  rules.
- Only statuses 200 203 204 300 301 302 304 307 308 404 410 are stored; responses with
  ``Set-Cookie`` are never stored (one visitor's cookie must not reach another).

Response headers: ``X-Cache`` (HIT, MISS or PASS — PASS when the decision is "not
cached" or the site is off), ``X-Cache-Rule`` (winning rule id; absent when the site
is off), ``X-Cache-TTL`` (seconds the rule sets; 0 when not cached).

Purge: ``PURGE <url>`` removes that URL of the Host's site (every Vary variant);
``BAN`` with ``X-Ban-Prefix: /path/`` or ``X-Ban-Regex: <pcre on the URL>`` bans the
site's matching URLs (lurker-friendly). Both only from the ``cdn_purgers`` ACL,
403 from anywhere else.

Scale (measured on this 2-core machine, Varnish 7.1, bench/RESULTS.md): rendering
10,000 page + 1,000 directory rules takes 0.2–0.4 s. Pages whose winner does not
depend on the content type (the usual case) are data, not code: a leaf of up to
TABLE_LEAF of them is one long-string table and one backreference regex
(:class:`PageTable`), so ``varnishd -C`` of that policy takes ~17 s (1.2 MB of VCL),
most of it for the 1,000 directories, instead of > 60 s with one code branch per
page. ``vcl.load`` adds the C compiler on top — raise varnishd's ``cli_timeout`` for
such policies. Requests pay O(log n) regex tests plus one table scan of at most
TABLE_LEAF records on a miss, and nothing on a hit.

Access log: run ``varnishncsa -F`` with :data:`VARNISHNCSA_FORMAT`::

    %h %l %u %t "%m %U%q %H" %s %b "%{Referer}i" "%{User-agent}i" "%{Host}i" %{X-Cache}o %D "%{X-Cache-Rule}o"

that is NCSA combined (the request line spelt out: varnishncsa's ``%r`` would print
an absolute URL with the host) followed by the Host header as sent (quoted), the cache status
(HIT, MISS, PASS; ``-`` for PURGE/BAN and errors made by Varnish itself), the time
taken in **microseconds** and the id of the rule that decided, as sent in ``X-Cache-Rule``
(quoted; ``"-"`` when the site is off or Varnish answered itself): ``logs ingest --format
varnishncsa-cdn`` reads it into the records' ``rule``, and lines written before it existed
still parse with that format. The VCL also writes it to the shared log as
``std.log("cdn-rule:" + id)``, so ``%{VCL_Log:cdn-rule}x`` gives the same id to an
operator who strips the header from responses.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cache_rules.targets.base import TEST_CLOCK_HEADER, CompileOptions, Target
from cache_rules.targets.plan import (
    Head,
    RuleSetPlan,
    SitePlan,
    WindowPlan,
    checked,
    epoch,
    regex_literal,
    window_active,
)

VARNISHNCSA_FORMAT = ('%h %l %u %t "%m %U%q %H" %s %b "%{Referer}i" "%{User-agent}i" "%{Host}i" '
                      '%{X-Cache}o %D "%{X-Cache-Rule}o"')

_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
_PATH_SAFE = set(_UNRESERVED) | set("!$&'()*+,;=:@/")


def _ci(hexdigits: str) -> str:
    return "".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in hexdigits)


def normalisation() -> dict[str, list[tuple[str, str]]]:
    """(regex, replacement) steps that turn a raw path into its SPEC §1 form.

    Applied in order with ``regsuball``: a stray ``%`` becomes ``%25``; escapes of
    unreserved characters are decoded; remaining hex digits are upper-cased; raw
    bytes that may not appear in a path are escaped.
    """
    decode = [(f"%{_ci(f'{ord(c):02X}')}", c) for c in _UNRESERVED]
    upper = [(f"%{c}([0-9A-Fa-f])", f"%{c.upper()}\\1") for c in "abcdef"]
    upper += [(f"%([0-9A-F]){c}", f"%\\1{c.upper()}") for c in "abcdef"]
    encode = [(f"\\x{b:02X}", f"%{b:02X}") for b in range(0x00, 0x100)
              if b != 0x25 and (b >= 0x80 or chr(b) not in _PATH_SAFE) and chr(b) not in "?#"]
    return {"decode": decode, "upper": upper, "encode": encode}


# -- path lookup as a balanced decision tree ----------------------------------------------
# A chain of thousands of `elsif (path == …)` is linear per request, and varnishd's VCL
# compiler is super-linear in the statements of one subroutine (measured on 7.1: 500
# comparisons in one sub 6.7 s, the same split into subs of 10: 1.9 s). So the lookup
# is a balanced tree: each node is its own small sub that either splits the candidates
# with one regex on one character (`^.{L}[\x00-\x6D]`, L = the candidates' common
# prefix length) or, at most LEAF candidates left, compares exactly. The tree only
# prunes: the leaf comparisons decide, so a path that matches nothing falls through.

LEAF = 8
# Pages whose head table does not depend on the content type are looked up as data: a
# leaf of up to TABLE_LEAF of them is one VCL long string and one regex (see PageTable).
TABLE_LEAF = 128


@dataclass
class Split:
    name: str
    regex: str  # PCRE on the normalised path; true → yes, false → no
    yes: Tree
    no: Tree


@dataclass
class PageLeaf:
    name: str
    heads: list[Head]


@dataclass
class DirNode:
    head: Head
    children: Tree | None  # directories directly below this one


@dataclass
class DirLeaf:
    name: str
    nodes: list[DirNode]


@dataclass
class PageTable:
    """A leaf of type-independent pages looked up as data, not as code.

    ``table`` holds one record ``PATH VALUE#`` per page (VALUE: ``head`` or
    ``head:rule_id:ttl``); the path alphabet (:func:`checked`) has neither space nor
    ``#``, rule ids and head keys have no ``:``. The VCL matches
    ``path + "#" + table`` against :data:`TABLE_REGEX`: the backreference finds the
    record whose whole key equals the path (a record starts after a ``#`` and its key
    ends at the space), and the replacement ``=VALUE`` marks a hit; without a match
    regsub returns its input, which starts with the path, never with ``=``.
    """

    name: str
    heads: list[Head]

    @property
    def table(self) -> str:
        return "".join(f"{checked('path', h.path or '')} {table_value(h)}#" for h in self.heads)


TABLE_REGEX = r"^([^#]*)#(?:[^#]*#)*?\1 ([^#]*)#.*$"


def table_value(head: Head) -> str:
    if head.by_class:
        raise ValueError(f"page {head.path} depends on the content type: not a table entry")
    o = head.other
    return head.key if o is None else f"{head.key}:{checked('rule_id', o.rule_id)}:{int(o.ttl)}"


def table_lookup(path: str, table: str) -> str | None:
    """What the VCL lookup of a PageTable leaf yields for ``path`` (None: no record)."""
    out = re.sub(TABLE_REGEX, r"=\2", path + "#" + table, count=1)
    return out[1:] if out.startswith("=") else None


Tree = Split | PageLeaf | DirLeaf | PageTable


class TreeBuilder:
    """Builds the trees of one rule set; ``nodes`` lists every node, each one VCL sub."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.nodes: list[Tree] = []

    def _name(self) -> str:
        return f"{self.prefix}_{len(self.nodes)}"

    def _split(self, items: list[tuple[str, object]], leaf: Callable[[str, list[object]], Tree],
               size: int | None = None) -> Tree:
        """Balanced tree over (key, item) pairs sorted by key, at most ``size`` per leaf."""
        size = LEAF if size is None else size
        if len(items) <= size:
            node = leaf(self._name(), [item for _, item in items])
            self.nodes.append(node)
            return node
        first, last = items[0][0], items[-1][0]
        common = 0
        while common < min(len(first), len(last)) and first[common] == last[common]:
            common += 1

        def below(key: str, t: int) -> bool:
            return len(key) > common and ord(key[common]) < t

        codes = sorted({ord(k[common]) for k, _ in items if len(k) > common})
        # threshold t: keys whose character at `common` is below t go to "yes"; a key that
        # ends at `common` (a prefix of the others) always goes to "no"
        thresholds = codes[1:] + ([codes[-1] + 1] if any(len(k) <= common for k, _ in items) else [])
        best = min(thresholds, key=lambda t: abs(2 * sum(below(k, t) for k, _ in items) - len(items)))
        node = Split(self._name(), f"^.{{{common}}}[\\x00-\\x{best - 1:02X}]", None, None)  # type: ignore[arg-type]
        self.nodes.append(node)
        node.yes = self._split([(k, v) for k, v in items if below(k, best)], leaf, size)
        node.no = self._split([(k, v) for k, v in items if not below(k, best)], leaf, size)
        return node

    def pages(self, heads: list[Head]) -> Tree | None:
        if not heads:
            return None
        items = sorted((checked("path", h.path or ""), h) for h in heads)
        return self._split(items, lambda name, hs: PageLeaf(name, hs))  # type: ignore[arg-type]

    def table(self, heads: list[Head]) -> Tree | None:
        """Type-independent pages as PageTable leaves of at most TABLE_LEAF records."""
        if not heads:
            return None
        items = sorted((checked("path", h.path or ""), h) for h in heads)
        return self._split(items, lambda name, hs: PageTable(name, hs), TABLE_LEAF)  # type: ignore[arg-type]

    def dirs(self, heads: list[Head]) -> Tree | None:
        """Directories nest; siblings never both prefix one path, so each level is a tree."""
        by_path = {checked("path", h.path or ""): h for h in heads}
        children: dict[str | None, list[str]] = {}
        for path in sorted(by_path, key=len):
            parent = next((path[: i + 1] for i in range(len(path) - 2, -1, -1)
                           if path[i] == "/" and path[: i + 1] in by_path), None)
            children.setdefault(parent, []).append(path)

        def level(parent: str | None) -> Tree | None:
            paths = sorted(children.get(parent, []))
            if not paths:
                return None
            items = [(p, DirNode(by_path[p], level(p))) for p in paths]
            return self._split(items, lambda name, nodes: DirLeaf(name, nodes))  # type: ignore[arg-type]

        return level(None)


def lookup_trees(site: SitePlan, rs: RuleSetPlan
                 ) -> tuple[Tree | None, Tree | None, Tree | None, list[Tree]]:
    """(page table tree, page code tree, directory tree, every node) of one rule set.

    Pages whose head table names no media class are data (PageTable leaves); the few
    whose winner depends on the content type keep the per-page code (PageLeaf).
    """
    builder = TreeBuilder(f"cdn_{site.key}_{rs.key}")
    table = builder.table([h for h in rs.pages if not h.by_class])
    pages = builder.pages([h for h in rs.pages if h.by_class])
    dirs = builder.dirs(rs.dirs)
    return table, pages, dirs, builder.nodes


def _time(value: float) -> str:
    # VCC refuses REAL literals of more than 15 digits: seconds and microseconds apart.
    seconds = int(value)
    micros = round((value - seconds) * 1_000_000)
    frac = f" + 0.{micros:06d}" if micros else ""
    return f"std.real2time({seconds}.0{frac}, now)"


class VarnishTarget(Target):
    name = "varnish"
    main = "cdn.vcl"
    template = "varnish.vcl.j2"
    engine = "varnishd"

    def context(self, plans: list[SitePlan], options: CompileOptions) -> dict[str, object]:
        if options.clock == "header":
            clock = f'std.real2time(std.real(req.http.{TEST_CLOCK_HEADER}, std.time2real(now, 0.0)), now)'
            be_clock = clock.replace("req.http.", "bereq.http.")
        else:
            clock = be_clock = "now"

        def active(window: WindowPlan) -> str:
            if options.clock == "frozen":
                assert options.at is not None
                return "true" if window_active(window, options.at) else "false"
            return f"{clock} >= {_time(epoch(window.start))} && {clock} < {_time(epoch(window.end))}"

        def boundaries(site: SitePlan) -> list[str]:
            if options.clock == "frozen":
                return []
            edges = sorted({epoch(w.start) for w in site.windows} | {epoch(w.end) for w in site.windows})
            return [_time(e) for e in edges]

        return {
            "norm": normalisation(),
            "active": active,
            "boundaries": boundaries,
            "be_clock": be_clock,
            "backend": lambda site: self._backend(site, options),
            "lit": lambda kind, value: checked(kind, value),
            "prefix": regex_literal,
            "lookup_trees": lookup_trees,
            "table_regex": TABLE_REGEX,
            "rx": re.escape,
            "purgers": [checked("ip", ip) for ip in options.purgers],
            "test_header": TEST_CLOCK_HEADER if options.clock == "header" else None,
        }

    def _backend(self, site: SitePlan, options: CompileOptions) -> tuple[str, int]:
        if site.origin.scheme == "https":
            host, _, port = options.tls_proxy.rpartition(":")
            return checked("host", host) if not host.replace(".", "").isdigit() else host, int(port)
        return site.origin.host, site.origin.port

    def notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        out = []
        for site in plans:
            if site.origin.scheme == "https":
                out.append(f"{site.site.site}: origin {site.origin.scheme}://{site.origin.host_header} is "
                           f"reached through the TLS proxy at {options.tls_proxy} (open-source Varnish has "
                           "no TLS to backends); the proxy gets Host and X-Cdn-Origin")
        out.append("all sites: responses with Set-Cookie, requests with Authorization and statuses other "
                   "than 200 203 204 300 301 302 304 307 308 404 410 are never stored")
        return out

    def check_command(self, path: Path, workdir: Path) -> list[str]:
        # -n: a private work dir, so that the check never touches a running varnishd's
        return ["varnishd", "-C", "-n", str(workdir / "vsm"), "-f", str(path.resolve())]

    def check_output(self, proc: subprocess.CompletedProcess[str]) -> str:
        if proc.returncode == 0:
            return "VCL compiled"  # stderr then holds the whole C source
        lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("Could not delete")]
        return "\n".join(lines)


TARGET = VarnishTarget()
