"""The edge fleet: nodes, what is deployed on them, plan and apply (Terraform-like).

A fleet file (``fleet.yaml``, see ``examples/fleet.yaml``) lists the nodes, each with
its engine and how cdnctl reaches it:

- **varnish**: the admin endpoint (``admin: HOST:PORT`` + ``secret``, for
  ``varnishadm``) and ``vcl_dir``, where the VCL file is written for ``vcl.load`` (a
  directory varnishd can read). Open-source Varnish has no TLS to backends: ``https``
  origins go through ``tls_proxy`` (a local TLS proxy such as stunnel or an nginx
  stream, one per node) unless ``origins`` maps the site to a plain-HTTP address.
- **nginx**: the ``config`` file it runs (written, checked with ``nginx -t``, then
  ``nginx -s reload``), and ``listen``, ``state_dir``, ``access_log``.

Both may restrict ``sites`` and override ``origins``; ``purge`` is the URL purge
requests go to. Fleet-wide: ``purgers`` (the ACL), ``origins``, ``state_dir``
(default ``.cdnctl`` beside the fleet file: the last applied policy, for decision
diffs), ``journal`` (change records, default ``<state_dir>/changes.jsonl``) and
``dossier`` (a directory: the definition dossiers, rewritten by every apply).

:func:`plan` compiles every node's config and compares it with what runs there
(Varnish: the active VCL via ``vcl.show``; nginx: the config file). :func:`apply`
validates everything first, then deploys node by node and, if one node fails, puts
every node already changed back on its previous config. Deploying the same policy
twice changes nothing: configs are byte-for-byte deterministic and Varnish VCLs are
named after their content hash.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from cache_rules.loader import load_policy_dir
from cache_rules.model import Policy, SitePolicy
from cache_rules.resolve import SiteResolver
from cache_rules.targets import Compiled, CompileOptions, compile_policy
from cache_rules.targets.plan import SAFE

ENGINES = ("varnish", "nginx")
_NODE_KEYS = {
    "common": {"name", "engine", "sites", "origins", "purge"},
    "varnish": {"admin", "secret", "vcl_dir", "tls_proxy"},
    "nginx": {"config", "prefix", "listen", "state_dir", "access_log", "error_log"},
}
_FLEET_KEYS = {"nodes", "purgers", "origins", "state_dir", "journal", "dossier"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class FleetError(Exception):
    """The fleet file is unusable, or a node could not be reached or changed."""


@dataclass(frozen=True)
class Node:
    name: str
    engine: str
    sites: tuple[str, ...] = ()  # empty: every site of the policy
    origins: dict[str, str] = field(default_factory=dict)
    purge: str | None = None
    # varnish
    admin: str | None = None
    secret: str | None = None
    vcl_dir: str | None = None
    tls_proxy: str = "127.0.0.1:4443"
    # nginx
    config: str | None = None
    prefix: str | None = None
    listen: str = "80"
    state_dir: str = "/var/cache/cdnctl/nginx"
    access_log: str = "/var/log/nginx/cdn-access.log"
    error_log: str = "/var/log/nginx/error.log"


@dataclass(frozen=True)
class Fleet:
    path: Path
    nodes: tuple[Node, ...]
    purgers: tuple[str, ...]
    origins: dict[str, str]
    state_dir: Path
    journal: Path
    dossier: Path | None = None  # definition dossiers, rewritten by every apply (QS-07)

    def options(self, node: Node) -> CompileOptions:
        return CompileOptions(
            clock="live", origins={**self.origins, **node.origins}, purgers=self.purgers,
            listen=node.listen, state_dir=node.state_dir, access_log=node.access_log,
            tls_proxy=node.tls_proxy, check=True)


def load_fleet(path: str | os.PathLike[str]) -> Fleet:
    """Read and validate a fleet file; every problem is reported at once."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetError(f"cannot read fleet file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise FleetError(f"{path}: YAML syntax: {exc}") from None
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise FleetError(f"{path}: expected a mapping with a 'nodes' list")
    for key in sorted(set(raw) - _FLEET_KEYS):
        problems.append(f"unknown key {key!r} (allowed: {', '.join(sorted(_FLEET_KEYS))})")
    nodes: list[Node] = []
    raw_nodes = raw.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        problems.append("'nodes' must be a non-empty list")
        raw_nodes = []
    for n, item in enumerate(raw_nodes, start=1):
        node = _node(item, f"node #{n}", problems)
        if node is not None:
            if any(other.name == node.name for other in nodes):
                problems.append(f"node name {node.name!r} used twice")
            nodes.append(node)
    purgers = tuple(str(p) for p in raw.get("purgers") or ("127.0.0.1", "::1"))
    for ip in purgers:
        if not SAFE["ip"].fullmatch(ip):
            problems.append(f"purger {ip!r} is not an IP address or network")
    origins = _origins(raw.get("origins"), "origins", problems)
    base = path.resolve().parent
    state_dir = base / str(raw.get("state_dir") or ".cdnctl")
    journal = base / str(raw["journal"]) if raw.get("journal") else state_dir / "changes.jsonl"
    dossier = base / str(raw["dossier"]) if raw.get("dossier") else None
    if problems:
        raise FleetError(f"{path}: " + "; ".join(problems))
    return Fleet(path, tuple(nodes), purgers, origins, state_dir, journal, dossier)


def _origins(value: object, where: str, problems: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        problems.append(f"{where} must map site (or '*') to an origin URL")
        return {}
    return {k.lower(): v for k, v in value.items()}


def _node(item: object, where: str, problems: list[str]) -> Node | None:
    if not isinstance(item, dict):
        problems.append(f"{where} must be a mapping")
        return None
    before = len(problems)
    name, engine = item.get("name"), item.get("engine")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append(f"{where}: name must be letters, digits, _ . - (got {name!r})")
        return None
    where = f"node {name}"
    if engine not in ENGINES:
        problems.append(f"{where}: engine must be one of {', '.join(ENGINES)} (got {engine!r})")
        return None
    allowed = _NODE_KEYS["common"] | _NODE_KEYS[engine]
    for key in sorted(set(item) - allowed):
        problems.append(f"{where}: unknown key {key!r} for engine {engine} "
                        f"(allowed: {', '.join(sorted(allowed))})")
    required = ("admin", "secret", "vcl_dir") if engine == "varnish" else ("config",)
    for key in required:
        if not isinstance(item.get(key), str | int):
            problems.append(f"{where}: missing {key}")
    if len(problems) > before:
        return None
    sites = item.get("sites") or ()
    if not isinstance(sites, list | tuple) or not all(isinstance(s, str) for s in sites):
        problems.append(f"{where}: sites must be a list of host names")
        sites = ()
    known = {k: str(v) for k, v in item.items() if k in Node.__dataclass_fields__ and k not in
             ("name", "engine", "sites", "origins")}
    return Node(name=name, engine=engine, sites=tuple(s.lower() for s in sites),
                origins=_origins(item.get("origins"), where + " origins", problems), **known)


# -- drivers: reading and changing what runs on a node ---------------------------------

@dataclass
class Deployed:
    text: str | None  # the config running now (None: nothing of ours)
    ident: str | None  # Varnish: active VCL name; nginx: the config path


class Driver:
    def __init__(self, node: Node) -> None:
        self.node = node

    def deployed(self) -> Deployed:
        raise NotImplementedError

    def deploy(self, compiled: Compiled) -> object:
        """Make ``compiled`` the running config; returns what rollback needs."""
        raise NotImplementedError

    def rollback(self, undo: object) -> None:
        raise NotImplementedError

    def _run(self, cmd: list[str], what: str) -> str:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FleetError(f"{self.node.name}: {what}: {exc}") from None
        if proc.returncode != 0:
            message = (proc.stdout + proc.stderr).strip()
            raise FleetError(f"{self.node.name}: {what} failed: {message}")
        return proc.stdout


def vcl_name(text: str) -> str:
    return "cdnctl_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class VarnishDriver(Driver):
    """varnishadm over the admin port: vcl.load + vcl.use, rollback = vcl.use the previous."""

    def adm(self, *args: str) -> str:
        node = self.node
        cmd = [shutil.which("varnishadm") or "varnishadm", "-T", str(node.admin), "-S", str(node.secret),
               "-t", "30", *args]
        return self._run(cmd, "varnishadm " + " ".join(args[:1]))

    def vcls(self) -> tuple[str | None, list[str]]:
        """(active VCL name, every loaded VCL name)."""
        active, names = None, []
        for line in self.adm("vcl.list").splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            name = parts[-1]
            names.append(name)
            if parts[0] == "active":
                active = name
        return active, names

    def deployed(self) -> Deployed:
        active, _ = self.vcls()
        if active is None:
            return Deployed(None, None)
        text = self.adm("vcl.show", active)
        return Deployed(text[:-1] if text.endswith("\n") else text, active)  # varnishadm adds a newline

    def deploy(self, compiled: Compiled) -> object:
        text = compiled.files[compiled.main]
        name = vcl_name(text)
        previous, loaded = self.vcls()
        if name not in loaded:
            directory = Path(str(self.node.vcl_dir))
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{name}.vcl"
            path.write_text(text, encoding="utf-8")
            path.chmod(0o644)  # varnishd runs the VCL compiler as an unprivileged user
            self.adm("vcl.load", name, str(path.resolve()))
        self.adm("vcl.use", name)
        self._discard(keep={name, previous})
        return previous

    def rollback(self, undo: object) -> None:
        if isinstance(undo, str):
            self.adm("vcl.use", undo)

    def _discard(self, keep: set[str | None]) -> None:
        # Old VCLs keep their backends and memory: keep ours and the previous one (rollback).
        _, loaded = self.vcls()
        for old in loaded:
            if old.startswith("cdnctl_") and old not in keep:
                # may still be referenced (e.g. by a label): harmless, retried next apply
                with contextlib.suppress(FleetError):
                    self.adm("vcl.discard", old)


class NginxDriver(Driver):
    """Config file on disk: write, ``nginx -t``, ``nginx -s reload``; rollback = old file + reload."""

    def _nginx(self, *args: str) -> list[str]:
        node = self.node
        cmd = [shutil.which("nginx") or "nginx"]
        if node.prefix:
            cmd += ["-p", node.prefix]
        return [*cmd, "-e", node.error_log, "-c", str(node.config), *args]

    def deployed(self) -> Deployed:
        path = Path(str(self.node.config))
        return Deployed(path.read_text(encoding="utf-8") if path.exists() else None, str(path))

    def deploy(self, compiled: Compiled) -> object:
        path = Path(str(self.node.config))
        old = path.read_text(encoding="utf-8") if path.exists() else None
        self._write(path, compiled.files[compiled.main])
        try:
            self._run(self._nginx("-t", "-q"), "nginx -t")
            self._run(self._nginx("-s", "reload"), "nginx -s reload")
        except FleetError:
            self._restore(path, old)
            raise
        return old

    def rollback(self, undo: object) -> None:
        path = Path(str(self.node.config))
        self._restore(path, undo if isinstance(undo, str) else None)
        if isinstance(undo, str):
            self._run(self._nginx("-s", "reload"), "nginx -s reload (rollback)")

    @staticmethod
    def _write(path: Path, text: str) -> None:
        # write-then-rename: nginx never reads a half-written file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)

    def _restore(self, path: Path, old: str | None) -> None:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            self._write(path, old)


DRIVERS: dict[str, Callable[[Node], Driver]] = {"varnish": VarnishDriver, "nginx": NginxDriver}


# -- plan -------------------------------------------------------------------------------

@dataclass
class DecisionChange:
    site: str
    path: str
    content_type: str | None
    before: str  # "rule ttl" or "off" / "absent"
    after: str


@dataclass
class NodePlan:
    node: Node
    compiled: Compiled
    deployed: Deployed
    error: str | None = None  # the node could not be read

    @property
    def new_text(self) -> str:
        return self.compiled.files[self.compiled.main]

    @property
    def action(self) -> str:
        if self.error:
            return "unreachable"
        if self.deployed.text is None:
            return "create"
        if self.node.engine == "varnish" and self.deployed.ident == vcl_name(self.new_text):
            return "unchanged"  # the VCL is named after its content
        return "unchanged" if self.deployed.text == self.new_text else "update"

    def diff(self, context: int = 2) -> str:
        old = (self.deployed.text or "").splitlines(keepends=True)
        new = self.new_text.splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"{self.node.name} (deployed)",
                                            f"{self.node.name} (new)", n=context))


@dataclass
class Plan:
    fleet: Fleet
    policy: Policy
    nodes: list[NodePlan]
    decisions: list[DecisionChange]
    previous_policy: bool  # whether a previously applied policy was found to compare with

    @property
    def changed(self) -> list[NodePlan]:
        return [n for n in self.nodes if n.action in ("create", "update")]


def _node_sites(node: Node, policy: Policy) -> list[str]:
    if not node.sites:
        return sorted(policy.sites)
    out = []
    for name in node.sites:
        site = policy.site_for_host(name)
        if site is None:
            raise FleetError(f"node {node.name}: no site {name!r} in the policy")
        out.append(site.site)
    return out


def plan(fleet: Fleet, policy: Policy, at: datetime | None = None) -> Plan:
    """Compile every node's config (engine-checked) and read what each node runs."""
    nodes = []
    for node in fleet.nodes:
        compiled = compile_policy(policy, node.engine, _node_sites(node, policy), fleet.options(node))
        try:
            deployed = DRIVERS[node.engine](node).deployed()
            nodes.append(NodePlan(node, compiled, deployed))
        except FleetError as exc:
            nodes.append(NodePlan(node, compiled, Deployed(None, None), error=str(exc)))
    previous = load_applied_policy(fleet)
    decisions = decision_changes(previous, policy, at or datetime.now(UTC)) if previous else []
    return Plan(fleet, policy, nodes, decisions, previous is not None)


def sample_requests(site: SitePolicy) -> list[tuple[str, str | None]]:
    """Paths and types that exercise every rule of a site: its pages, its directories,
    the site root, each exact type and each ``type/*`` group, and no type at all."""
    paths = {"/", "/cdnctl-sample"}
    types: set[str | None] = {None}
    for rule in [*site.rules, *(r for w in site.overrides for r in w.rules)]:
        if rule.path:
            paths.add(rule.path)
            if rule.path.endswith("/"):
                paths.add(rule.path + "cdnctl-sample")
        for pattern in rule.patterns:
            types.add(pattern.replace("/*", "/cdnctl-sample"))
    return [(p, t) for p in sorted(paths) for t in sorted(types, key=lambda t: t or "")]


def _describe(site: SitePolicy | None, path: str, content_type: str | None, at: datetime) -> str:
    if site is None:
        return "absent"
    decision = SiteResolver(site).decide(path, content_type, at)
    if not decision.enabled or decision.rule is None:
        return "off (pass-through)"
    return f"{decision.rule.id} ({'ttl ' + str(decision.ttl) + 's' if decision.cache else 'no cache'})"


def decision_changes(before: Policy, after: Policy, at: datetime) -> list[DecisionChange]:
    out = []
    for name in sorted(set(before.sites) | set(after.sites)):
        old, new = before.sites.get(name), after.sites.get(name)
        samples: set[tuple[str, str | None]] = set()
        for site in (old, new):
            if site is not None:
                samples.update(sample_requests(site))
        for path, ct in sorted(samples, key=lambda s: (s[0], s[1] or "")):
            was, now = _describe(old, path, ct, at), _describe(new, path, ct, at)
            if was != now:
                out.append(DecisionChange(name, path, ct, was, now))
    return out


# -- applied policy (for decision diffs) -------------------------------------------------

def _applied_dir(fleet: Fleet) -> Path:
    return fleet.state_dir / "applied-policy"


def load_applied_policy(fleet: Fleet) -> Policy | None:
    directory = _applied_dir(fleet)
    if not directory.is_dir():
        return None
    result = load_policy_dir(directory)
    return result.policy if result.ok else None


def _policy_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())
            if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")}


def is_applied(fleet: Fleet, policy_dir: Path) -> bool:
    """Whether ``policy_dir`` holds exactly the policy files of the last successful apply."""
    applied = _applied_dir(fleet)
    return applied.is_dir() and policy_dir.is_dir() and _policy_files(applied) == _policy_files(policy_dir)


def save_applied_policy(fleet: Fleet, policy_dir: Path) -> None:
    target = _applied_dir(fleet)
    staging = target.with_name(target.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for src in sorted(policy_dir.iterdir()):
        if src.suffix in (".yaml", ".yml") and not src.name.startswith("."):
            shutil.copy2(src, staging / src.name)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


# -- apply -------------------------------------------------------------------------------

@dataclass
class NodeResult:
    node: str
    action: str  # create | update | unchanged
    status: str  # applied | unchanged | failed | rolled-back | rollback-failed | not-attempted
    message: str = ""
    ident: str | None = None  # VCL name / config path now running


@dataclass
class ApplyResult:
    plan: Plan
    nodes: list[NodeResult]
    effective_at: datetime | None
    ok: bool
    error: str | None = None

    @property
    def status(self) -> str:
        """applied | unchanged | failed (nothing changed) | rolled-back | partial (half-applied)."""
        if self.ok:
            return "applied" if self.effective_at else "unchanged"
        states = {n.status for n in self.nodes}
        if "rollback-failed" in states:
            return "partial"
        return "rolled-back" if "rolled-back" in states else "failed"


def apply(fleet: Fleet, policy: Policy, policy_dir: Path, the_plan: Plan | None = None) -> ApplyResult:
    """Deploy the plan's configs; on the first failure, roll every changed node back."""
    the_plan = the_plan or plan(fleet, policy)
    unreachable = [n for n in the_plan.nodes if n.error]
    if unreachable:
        return ApplyResult(the_plan, [NodeResult(n.node.name, n.action, "not-attempted", n.error or "")
                                      for n in the_plan.nodes], None, False,
                           f"{len(unreachable)} node(s) unreachable, nothing changed: "
                           + "; ".join(n.error or "" for n in unreachable))
    results: list[NodeResult] = []
    done: list[tuple[Driver, object, NodeResult]] = []
    failure: str | None = None
    for node_plan in the_plan.nodes:
        name = node_plan.node.name
        if failure is not None:
            results.append(NodeResult(name, node_plan.action, "not-attempted"))
            continue
        if node_plan.action == "unchanged":
            results.append(NodeResult(name, "unchanged", "unchanged", ident=node_plan.deployed.ident))
            continue
        driver = DRIVERS[node_plan.node.engine](node_plan.node)
        try:
            undo = driver.deploy(node_plan.compiled)
        except FleetError as exc:
            failure = str(exc)
            results.append(NodeResult(name, node_plan.action, "failed", failure))
            continue
        ident = vcl_name(node_plan.new_text) if node_plan.node.engine == "varnish" else node_plan.node.config
        result = NodeResult(name, node_plan.action, "applied", ident=ident)
        results.append(result)
        done.append((driver, undo, result))
    if failure is not None:
        for driver, undo, result in reversed(done):
            try:
                driver.rollback(undo)
                result.status, result.message = "rolled-back", "back on the previous config"
            except FleetError as exc:
                result.status, result.message = "rollback-failed", str(exc)
        return ApplyResult(the_plan, results, None, False, failure)
    effective = datetime.now(UTC) if done else None
    save_applied_policy(fleet, policy_dir)
    return ApplyResult(the_plan, results, effective, True)
