"""Load site policy files (YAML) into the model, keeping file:line:col for every value.

The YAML is *composed* (not constructed) so that each node keeps its position; the
walker below then type-checks every key and reports all problems at once instead of
stopping at the first one.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml

from cache_rules.diagnostics import Diagnostic, Location, PolicyError, Severity, error, warning
from cache_rules.model import Override, PathRank, Policy, Rule, SitePolicy, TypeRank
from cache_rules.values import (
    parse_content_type,
    parse_content_type_pattern,
    parse_directory,
    parse_duration,
    parse_host,
    parse_instant,
    parse_origin,
    parse_page,
    patterns_overlap,
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.constructor.SafeConstructor()

SITE_KEYS = ("site", "aliases", "origin", "enabled", "description", "content_type_groups",
             "rules", "overrides")
RULE_KEYS = ("id", "default", "directory", "page", "content_type", "content_type_group",
             "ttl", "cache", "comment")
OVERRIDE_KEYS = ("from", "until", "reason", "enabled", "rules")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

T = TypeVar("T")
_Fields = dict[str, tuple[yaml.Node, yaml.Node]]


class PolicyDirError(Exception):
    """The policy directory itself cannot be used (missing, not a directory)."""


@dataclass
class LoadResult:
    policy: Policy
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def require_valid(self) -> Policy:
        if not self.ok:
            raise PolicyError(self.diagnostics)
        return self.policy


def policy_files(directory: Path) -> list[Path]:
    if not directory.exists():
        raise PolicyDirError(f"policy directory {directory} does not exist")
    if not directory.is_dir():
        raise PolicyDirError(f"policy directory {directory} is not a directory")
    return sorted(
        p for p in directory.iterdir()
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
    )


def load_policy_dir(directory: str | os.PathLike[str]) -> LoadResult:
    """Load and validate every ``*.yaml``/``*.yml`` file of a policy directory."""
    from cache_rules.lint import lint_policy  # lint imports the model only

    directory = Path(directory)
    files = policy_files(directory)
    result = LoadResult(Policy(), files=[str(f) for f in files])
    if not files:
        result.diagnostics.append(error(Location(str(directory), 1, 1), "no-policy",
                                        f"no *.yaml policy file in {directory}"))
        return result
    loaded: list[SitePolicy] = []
    for path in files:
        site, diags = load_policy_file(path)
        result.diagnostics.extend(diags)
        if site is not None:
            loaded.append(site)
    result.diagnostics.extend(lint_policy(loaded, result.policy))
    result.diagnostics.sort(key=lambda d: (d.location.file, d.location.line, d.location.column))
    return result


def load_policy_file(path: str | os.PathLike[str]) -> tuple[SitePolicy | None, list[Diagnostic]]:
    """One site file → (site or None, diagnostics). Never raises for bad content."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return None, [error(Location(name, 1, 1), "unreadable", f"cannot read file: {exc.strerror}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [error(Location(name, line, col), "encoding",
                            f"file is not UTF-8 (byte 0x{raw[exc.start]:02x})")]
    return _Walker(name).site(text)


class _Walker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.diags: list[Diagnostic] = []
        # Rule ids are unique across the whole site, override windows included: edges
        # report the winning id (X-Cache-Rule), which must name one rule only.
        self.rule_ids: dict[str, int] = {}

    # -- helpers -------------------------------------------------------------------
    def loc(self, node: yaml.Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def err(self, node: yaml.Node, code: str, msg: str) -> None:
        self.diags.append(error(self.loc(node), code, msg))

    def warn(self, node: yaml.Node, code: str, msg: str) -> None:
        self.diags.append(warning(self.loc(node), code, msg))

    def mapping(self, node: yaml.Node, what: str, allowed: tuple[str, ...]) -> _Fields | None:
        """Key → (key node, value node); reports non-mappings, duplicate and unknown keys."""
        if not isinstance(node, yaml.MappingNode):
            self.err(node, "type", f"{what} must be a mapping (key: value), not {_kind(node)}")
            return None
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for knode, vnode in node.value:
            key = knode.value if isinstance(knode, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.err(knode, "type", f"{what}: keys must be plain names")
                continue
            if key in out:
                first = out[key][0].start_mark.line + 1
                self.err(knode, "duplicate-key", f"{what}: key '{key}' repeated (first on line {first})")
                continue
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                extra = f"; did you mean '{hint[0]}'?" if hint else f"; allowed: {', '.join(allowed)}"
                self.err(knode, "unknown-key", f"{what}: unknown key '{key}'{extra}")
                continue
            out[key] = (knode, vnode)
        return out

    def scalar(self, node: yaml.Node, what: str) -> object:
        if not isinstance(node, yaml.ScalarNode):
            self.err(node, "type", f"{what} must be a single value, not {_kind(node)}")
            return _BAD
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # parsed by parse_instant, which insists on an offset
        return _constructor.construct_object(node)

    def value(self, node: yaml.Node, what: str, parse: Callable[[object], T]) -> T | None:
        raw = self.scalar(node, what)
        if raw is _BAD:
            return None
        try:
            return parse(raw)
        except ValueError as exc:
            self.err(node, "value", f"{what}: {exc}")
            return None

    def boolean(self, node: yaml.Node, what: str) -> bool | None:
        def parse(v: object) -> bool:
            if isinstance(v, bool):
                return v
            raise ValueError(f"expected true or false, not {v!r}")
        return self.value(node, what, parse)

    def text(self, node: yaml.Node, what: str) -> str | None:
        def parse(v: object) -> str:
            if isinstance(v, str) and v.strip():
                if any(ord(c) < 0x20 and c not in "\t" for c in v):
                    raise ValueError("must be one line of text")
                return v.strip()
            raise ValueError(f"expected non-empty text, not {v!r}")
        return self.value(node, what, parse)

    def sequence(self, node: yaml.Node, what: str) -> Iterator[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.err(node, "type", f"{what} must be a list, not {_kind(node)}")
            return iter(())
        return iter(node.value)

    # -- document ------------------------------------------------------------------
    def site(self, text: str) -> tuple[SitePolicy | None, list[Diagnostic]]:
        try:
            root = yaml.compose(text, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = exc.problem or exc.context or "syntax error"
            return None, [error(Location(self.file, line, col), "yaml", f"YAML syntax: {problem}")]
        except yaml.YAMLError as exc:
            return None, [error(Location(self.file, 1, 1), "yaml", f"YAML: {exc}")]
        if root is None:
            return None, [error(Location(self.file, 1, 1), "empty", "policy file is empty")]
        top = self.mapping(root, "site policy", SITE_KEYS)
        if top is None:
            return None, self.diags
        for required in ("site", "origin", "rules"):
            if required not in top:
                self.err(root, "missing-key", f"site policy: missing required key '{required}'")

        site = self.value(top["site"][1], "site", parse_host) if "site" in top else None
        origin = self.value(top["origin"][1], "origin", parse_origin) if "origin" in top else None
        enabled = self.boolean(top["enabled"][1], "enabled") if "enabled" in top else True
        if "description" in top:
            self.text(top["description"][1], "description")
        aliases: list[str] = []
        if "aliases" in top:
            for anode in self.sequence(top["aliases"][1], "aliases"):
                alias = self.value(anode, "alias", parse_host)
                if alias is None:
                    continue
                if alias == site or alias in aliases:
                    self.err(anode, "duplicate-alias", f"alias {alias} repeats a host of this site")
                    continue
                aliases.append(alias)
        groups = self.groups(top["content_type_groups"][1]) if "content_type_groups" in top else {}
        rules = self.rules(top["rules"][1], groups, "rules", None) if "rules" in top else []
        overrides = self.overrides(top["overrides"][1], groups) if "overrides" in top else []

        if site is None or not isinstance(top.get("rules", (None, None))[1], yaml.SequenceNode):
            return None, self.diags  # without a rule list, rule checks would only repeat the error
        stem = Path(self.file).stem
        if stem != site:
            self.warn(top["site"][1], "file-name",
                      f"file is named {Path(self.file).name}; the convention is {site}.yaml")
        return SitePolicy(
            site=site, aliases=tuple(aliases), origin=origin or "",
            enabled=True if enabled is None else enabled, groups=groups,
            rules=tuple(rules), overrides=tuple(overrides), file=self.file, location=self.loc(root),
        ), self.diags

    def groups(self, node: yaml.Node) -> dict[str, tuple[str, ...]]:
        if not isinstance(node, yaml.MappingNode):
            self.err(node, "type",
                     f"content_type_groups must be a mapping of name: [types], not {_kind(node)}")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for knode, vnode in node.value:
            name = knode.value if isinstance(knode, yaml.ScalarNode) else None
            if not isinstance(name, str) or not _GROUP_NAME.fullmatch(name):
                self.err(knode, "value", f"bad group name {name!r}: letters, digits, _ . - only")
                continue
            if name in out:
                self.err(knode, "duplicate-key", f"content type group '{name}' defined twice")
                continue
            patterns: list[str] = []
            entries = list(self.sequence(vnode, f"group {name}"))
            if isinstance(vnode, yaml.SequenceNode) and not entries:
                self.err(vnode, "value", f"group {name} is empty")
            for pnode in entries:
                pattern = self.value(pnode, f"group {name}", parse_content_type_pattern)
                if pattern is None:
                    continue
                covering = next((p for p in patterns if patterns_overlap(p, pattern)), None)
                if covering is not None:
                    self.warn(pnode, "redundant-pattern",
                              f"group {name}: {pattern} overlaps {covering} already in the group")
                    if not covering.endswith("/*") and pattern.endswith("/*"):
                        patterns.remove(covering)
                    else:
                        continue
                patterns.append(pattern)
            out[name] = tuple(patterns)
        return out

    def rules(self, node: yaml.Node, groups: dict[str, tuple[str, ...]], what: str,
              window: int | None) -> list[Rule]:
        out: list[Rule] = []
        ids = self.rule_ids
        prefix = "" if window is None else f"o{window + 1}."
        for n, rnode in enumerate(self.sequence(node, what), start=1):
            rule = self.rule(rnode, groups, f"{prefix}r{n}", window)
            if rule is None:
                continue
            if rule.id in ids:
                self.err(rnode, "duplicate-id", f"rule id '{rule.id}' already used on line {ids[rule.id]}")
                continue
            ids[rule.id] = rule.location.line
            out.append(rule)
        return out

    def rule(self, node: yaml.Node, groups: dict[str, tuple[str, ...]], default_id: str,
             window: int | None) -> Rule | None:
        fields = self.mapping(node, "rule", RULE_KEYS)
        if fields is None:
            return None
        ok = True
        path_keys = [k for k in ("default", "directory", "page") if k in fields]
        type_keys = [k for k in ("content_type", "content_type_group") if k in fields]
        if len(path_keys) > 1:
            self.err(node, "selector", f"rule: choose one path selector, not {' and '.join(path_keys)}")
            return None
        if len(type_keys) > 1:
            self.err(node, "selector", "rule: choose content_type or content_type_group, not both")
            return None
        if not path_keys and not type_keys:
            self.err(node, "selector", "rule: no selector; use default: true, directory:, page:, "
                     "content_type: or content_type_group:")
            return None

        path_rank, path = PathRank.SITE, None
        if path_keys == ["default"]:
            flag = self.boolean(fields["default"][1], "default")
            if flag is False:
                self.err(fields["default"][1], "value", "default: false is meaningless; remove it")
                return None
            if flag is None:
                return None
            if type_keys:
                self.err(node, "selector", "the default rule applies to every type; "
                         "drop default: true to make a site-wide type rule")
                return None
        elif path_keys == ["directory"]:
            path_rank = PathRank.DIRECTORY
            path = self.value(fields["directory"][1], "directory", parse_directory)
            ok = path is not None
        elif path_keys == ["page"]:
            path_rank, path = PathRank.PAGE, self.value(fields["page"][1], "page", parse_page)
            ok = path is not None

        type_rank, type_value, patterns = TypeRank.ANY, None, ()
        if type_keys == ["content_type"]:
            type_rank = TypeRank.EXACT
            type_value = self.value(fields["content_type"][1], "content_type", parse_content_type)
            patterns = (type_value,) if type_value else ()
            ok = ok and type_value is not None
        elif type_keys == ["content_type_group"]:
            type_rank = TypeRank.GROUP
            gnode = fields["content_type_group"][1]
            type_value = self.value(gnode, "content_type_group", _group_name)
            if type_value is not None and type_value not in groups:
                known = ", ".join(sorted(groups)) or "none defined"
                self.err(gnode, "unknown-group", f"content type group '{type_value}' is not defined "
                         f"in content_type_groups ({known})")
                ok = False
            patterns = groups.get(type_value or "", ())
            ok = ok and type_value is not None

        ttl = self.action(node, fields)
        rule_id = default_id
        if "id" in fields:
            given = self.value(fields["id"][1], "id", lambda v: v if isinstance(v, str) and _ID.fullmatch(v)
                               else _raise(f"bad rule id {v!r}: letters, digits, _ . - (max 64)"))
            ok = ok and given is not None
            rule_id = given or default_id
        if "comment" in fields:
            self.text(fields["comment"][1], "comment")
        if not ok:
            return None
        # A bad ttl is already reported; the selector still takes part in the duplicate
        # and tie checks so that one run lists every problem of the file.
        return Rule(id=rule_id, path_rank=path_rank, path=path, type_rank=type_rank,
                    type_value=type_value, patterns=patterns, ttl=ttl or 0, location=self.loc(node),
                    window=window)

    def action(self, node: yaml.Node, fields: _Fields) -> int | None:
        """TTL in seconds (0 = not cached) from ``ttl`` and/or ``cache``."""
        cache = self.boolean(fields["cache"][1], "cache") if "cache" in fields else None
        ttl = self.value(fields["ttl"][1], "ttl", parse_duration) if "ttl" in fields else None
        if ("cache" in fields and cache is None) or ("ttl" in fields and ttl is None):
            return None
        if cache is False:
            if ttl:
                self.err(fields["ttl"][1], "conflict", "cache: false with a non-zero ttl; remove one")
                return None
            return 0
        if ttl is None:
            self.err(node, "missing-key", "rule: give a ttl (e.g. ttl: 5m) or cache: false")
            return None
        if cache is True and ttl == 0:
            self.err(fields["ttl"][1], "conflict", "cache: true with ttl 0; ttl 0 means not cached")
            return None
        return ttl

    def overrides(self, node: yaml.Node, groups: dict[str, tuple[str, ...]]) -> list[Override]:
        out: list[Override] = []
        for i, onode in enumerate(self.sequence(node, "overrides")):
            fields = self.mapping(onode, "override window", OVERRIDE_KEYS)
            if fields is None:
                continue
            missing = [k for k in ("from", "until", "reason", "rules") if k not in fields]
            if missing:
                self.err(onode, "missing-key", f"override window: missing {', '.join(missing)}")
            start = self.value(fields["from"][1], "from", parse_instant) if "from" in fields else None
            end = self.value(fields["until"][1], "until", parse_instant) if "until" in fields else None
            reason = self.text(fields["reason"][1], "reason") if "reason" in fields else None
            enabled = self.boolean(fields["enabled"][1], "enabled") if "enabled" in fields else None
            rules = self.rules(fields["rules"][1], groups, "override rules", i) if "rules" in fields else []
            if start and end and end <= start:
                self.err(fields["until"][1], "value", "override window: until must be after from")
                continue
            if "rules" in fields and not rules and isinstance(fields["rules"][1], yaml.SequenceNode) \
                    and not fields["rules"][1].value and "enabled" not in fields:
                self.warn(onode, "empty-window", "override window has no rules and changes nothing")
            if start and end and reason:
                out.append(Override(index=i, start=start, end=end, reason=reason, rules=tuple(rules),
                                    location=self.loc(onode), enabled=enabled))
        return out


class _Bad:
    pass


_BAD = _Bad()


def _raise(msg: str) -> str:
    raise ValueError(msg)


def _group_name(value: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a group name, not {value!r}")


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"{node.value!r}"
