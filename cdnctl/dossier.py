"""The definition dossier of a site (contract, QS-07): what the CDN does for it, for people.

One Markdown and one HTML file per site: domain and aliases, origin and how each node
reaches it, enabled state, the cache rules as a table (with file:line), the effective
TTL per path scope × content-type class, the override windows (with their own effective
table), the purge ACL and the nodes of the fleet.

The effective tables are computed with the resolver's own index
(:class:`cache_rules.resolve.RuleIndex`) and the same scopes and media classes as the
edge decision tables (:mod:`cache_rules.targets.plan`), so a cell says exactly what
``cdnctl explain`` says for a request in that scope with that type.

The HTML is rendered with autoescaping on: every policy string (override reasons,
paths, origins) is text, never markup.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from cache_rules.model import PathRank, Policy, Rule, SitePolicy
from cache_rules.resolve import RuleIndex
from cache_rules.values import format_duration
from cdnctl.fleet import Fleet, Node

PARIS = ZoneInfo("Europe/Paris")
TEMPLATES = Path(__file__).resolve().parent.parent / "cache_rules" / "templates"
DEFAULT_PURGERS = ("127.0.0.1", "::1")  # CompileOptions' default when no fleet says otherwise

# Same probe as cache_rules.targets.plan: a character no normalised path contains, so
# "<dir>\uffff" is a path below the directory naming no page or deeper directory.
_PROBE = "\uffff"


@dataclass
class RuleRow:
    id: str
    selector: str
    action: str
    where: str  # file:line


@dataclass
class Cell:
    rule: str | None  # winning rule id; None: no rule matches (not cached by the policy)
    text: str  # "5m", "no cache", "—"


@dataclass
class TtlTable:
    classes: list[str]  # column labels: exact types, "major/*", "other / none"
    rows: list[tuple[str, list[Cell]]]  # (scope label, one cell per class)


@dataclass
class Window:
    start: str
    end: str
    reason: str
    enabled: str  # "unchanged", "switched on", "switched off"
    rules: list[RuleRow]
    table: TtlTable


@dataclass
class NodeRow:
    name: str
    engine: str
    serves: bool
    purge: str
    origin_via: str


@dataclass
class SiteDossier:
    site: str
    aliases: list[str]
    origin: str
    origin_security: str
    enabled: bool
    policy_file: str
    policy_sha256: str
    rules: list[RuleRow]
    table: TtlTable
    windows: list[Window]
    purgers: list[str]
    nodes: list[NodeRow]
    generated_at: str  # Europe/Paris, ISO 8601
    generated_at_utc: str
    fleet: str | None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"site": self.site, "aliases": self.aliases, "origin": self.origin, "enabled": self.enabled,
                "rules": len(self.rules), "windows": len(self.windows), "nodes": [n.name for n in self.nodes],
                "generated_at": self.generated_at}


def _paris(at: datetime) -> str:
    return at.astimezone(PARIS).isoformat(timespec="seconds")


def _rule_row(rule: Rule) -> RuleRow:
    return RuleRow(rule.id, rule.describe(), rule.action(), f"{rule.location.file}:{rule.location.line}")


def _classes(site: SitePolicy) -> list[tuple[str, str | None]]:
    """(label, probe media type) for every class the site's rules distinguish, then the rest."""
    exact: set[str] = set()
    majors: set[str] = set()
    for rule in [*site.rules, *(r for w in site.overrides for r in w.rules)]:
        for pattern in rule.patterns:
            (majors.add(pattern[:-2]) if pattern.endswith("/*") else exact.add(pattern))
    out: list[tuple[str, str | None]] = [(m, m) for m in sorted(exact)]
    # a major class stands for the types of that group no exact column names
    out += [(f"{m}/* (other)" if any(e.startswith(m + "/") for e in exact) else f"{m}/*", f"{m}/{_PROBE}")
            for m in sorted(majors)]
    out.append(("other or none", None))
    return out


def effective_table(site: SitePolicy, indexes: list[RuleIndex], rules: list[Rule]) -> TtlTable:
    """Scope × class → winning rule, looking the indexes up in order (a window first, then
    the regular rules: the resolver's order)."""
    classes = _classes(site)
    pages = sorted({r.path or "" for r in rules if r.path_rank is PathRank.PAGE})
    dirs = sorted({r.path or "" for r in rules if r.path_rank is PathRank.DIRECTORY})
    scopes: list[tuple[str, str]] = [("rest of the site", "/" + _PROBE)]
    scopes += [(f"directory {d}", d + _PROBE) for d in dirs]
    scopes += [(f"page {p}", p) for p in pages]
    rows = []
    for label, probe in scopes:
        cells = []
        for _, media in classes:
            won = None
            for index in indexes:
                won = index.lookup(probe, media)
                if won is not None:
                    break
            if won is None:
                cells.append(Cell(None, "—"))
            else:
                cells.append(Cell(won.id, format_duration(won.ttl) if won.cache else "no cache"))
        rows.append((label, cells))
    return TtlTable([c for c, _ in classes], rows)


def _origin_for(fleet: Fleet | None, node: Node | None, site: SitePolicy) -> str:
    origins: dict[str, str] = {}
    if fleet is not None:
        origins.update(fleet.origins)
    if node is not None:
        origins.update(node.origins)
    for key in (site.site, *site.aliases, "*"):
        if key in origins:
            return origins[key]
    return site.origin


def _origin_via(fleet: Fleet, node: Node, site: SitePolicy) -> str:
    url = _origin_for(fleet, node, site)
    scheme = urlsplit(url).scheme
    if node.engine == "varnish" and scheme == "https":
        return (f"{url} through the node's TLS proxy {node.tls_proxy} (open-source Varnish has no TLS "
                "to backends; that proxy must verify the origin certificate)")
    if scheme == "https":
        return f"{url}, HTTPS from nginx, certificate verified against the system CAs"
    return f"{url}, plain HTTP (not encrypted)"


def _serves(node: Node, site: SitePolicy) -> bool:
    return not node.sites or any(h in node.sites for h in site.hosts)


def build(site: SitePolicy, fleet: Fleet | None, generated_at: datetime) -> SiteDossier:
    regular = RuleIndex(site.rules)
    windows = []
    for w in site.overrides:
        switch = {None: "unchanged", True: "switched on", False: "switched off (pass-through)"}[w.enabled]
        table = effective_table(site, [RuleIndex(w.rules), regular], [*w.rules, *site.rules])
        windows.append(Window(_paris(w.start), _paris(w.end), w.reason, switch,
                              [_rule_row(r) for r in w.rules], table))
    scheme = urlsplit(site.origin).scheme
    security = ("HTTPS to the origin: Varnish nodes go through their local TLS proxy, nginx nodes "
                "verify the certificate" if scheme == "https" else
                "plain HTTP to the origin: traffic between the CDN and the origin is not encrypted")
    nodes = [NodeRow(n.name, n.engine, _serves(n, site), n.purge or "—", _origin_via(fleet, n, site))
             for n in fleet.nodes] if fleet is not None else []
    notes = []
    effective_origin = _origin_for(fleet, None, site)
    if effective_origin != site.origin:
        notes.append(f"the fleet file replaces the policy's origin with {effective_origin}")
    policy_file = Path(site.file)
    try:
        digest = hashlib.sha256(policy_file.read_bytes()).hexdigest()
    except OSError:
        digest = "unavailable"
    return SiteDossier(
        site=site.site, aliases=list(site.aliases), origin=site.origin, origin_security=security,
        enabled=site.enabled, policy_file=site.file, policy_sha256=digest,
        rules=[_rule_row(r) for r in site.rules],
        table=effective_table(site, [regular], list(site.rules)), windows=windows,
        purgers=list(fleet.purgers if fleet is not None else DEFAULT_PURGERS), nodes=nodes,
        generated_at=_paris(generated_at),
        generated_at_utc=generated_at.astimezone(UTC).isoformat(timespec="seconds"),
        fleet=str(fleet.path) if fleet is not None else None, notes=notes)


def _env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=autoescape,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def md_cell(value: object) -> str:
    """A Markdown table cell: pipes and newlines would break the table."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def render_markdown(dossier: SiteDossier) -> str:
    env = _env(False)
    env.filters["cell"] = md_cell
    return env.get_template("dossier.md.j2").render(d=dossier)


def render_html(dossier: SiteDossier) -> str:
    return _env(True).get_template("dossier.html.j2").render(d=dossier)


@dataclass
class Written:
    site: str
    markdown: Path
    html: Path
    dossier: SiteDossier


def write(policy: Policy, out_dir: Path, fleet: Fleet | None, sites: list[str] | None = None,
          now: datetime | None = None) -> list[Written]:
    """Write ``<site>.md`` and ``<site>.html`` for each site (all by default)."""
    generated_at = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = sites if sites else sorted(policy.sites)
    out = []
    for name in chosen:
        site = policy.sites[name]
        dossier = build(site, fleet, generated_at)
        md, html = out_dir / f"{site.site}.md", out_dir / f"{site.site}.html"
        _atomic_write(md, render_markdown(dossier))
        _atomic_write(html, render_html(dossier))
        out.append(Written(site.site, md, html, dossier))
    return out


def _atomic_write(path: Path, text: str) -> None:
    # a reader (web server publishing the dossier) never sees a half-written file
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
