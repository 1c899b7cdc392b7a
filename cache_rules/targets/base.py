"""What every target shares: compile options, the compiled result, the engine check.

A target module (``varnish.py``, ``nginx.py``) only says how its engine differs: it
renders :class:`~cache_rules.targets.plan.SitePlan` tables through its jinja2
template and names the command that syntax-checks the result.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import jinja2

from cache_rules.model import Policy, SitePolicy
from cache_rules.targets.plan import SitePlan, checked, plan_site

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Clock modes. "live": the config compares the server's clock with the override
# windows. "frozen": windows are decided at compile time for ``CompileOptions.at``
# (a config for one instant, e.g. to preview a window). "header": like live, but a
# request header may set "now" — for tests only, refused by ``cdnctl apply``.
CLOCKS = ("live", "frozen", "header")
TEST_CLOCK_HEADER = "X-Cdn-Test-Now"
# varnishd -C costs about 3 ms per page rule on Varnish 7.1 (10,000 pages: tens of seconds)
CHECK_TIMEOUT = 900


class ConfigCheckError(Exception):
    """The engine refused the generated config; ``output`` is the engine's message."""

    def __init__(self, target: str, output: str, path: str) -> None:
        super().__init__(f"{target} rejected the generated config {path}:\n{output.strip()}")
        self.target = target
        self.output = output
        self.path = path


@dataclass(frozen=True)
class CompileOptions:
    clock: str = "live"
    at: datetime | None = None  # the instant of a frozen config
    origins: dict[str, str] = field(default_factory=dict)  # site (or "*") → origin URL override
    purgers: tuple[str, ...] = ("127.0.0.1", "::1")
    # nginx only: where it listens, keeps its cache, sockets and logs
    listen: str = "80"
    state_dir: str = "/var/cache/cdnctl/nginx"
    access_log: str = "/var/log/nginx/cdn-access.log"
    # Varnish only: where https origins are reached (open-source Varnish has no TLS)
    tls_proxy: str = "127.0.0.1:4443"
    check: bool = True  # run the engine's syntax check when the engine is installed

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, not {self.clock!r}")
        if self.clock == "frozen" and self.at is None:
            raise ValueError("a frozen clock needs the instant (at)")
        if self.at is not None and self.at.utcoffset() is None:
            raise ValueError("at needs a UTC offset")
        for ip in self.purgers:
            checked("ip", ip)

    def origin_for(self, site: SitePolicy) -> str | None:
        return self.origins.get(site.site) or self.origins.get("*")


@dataclass
class CheckResult:
    command: list[str]
    seconds: float
    output: str


@dataclass
class Compiled:
    target: str
    files: dict[str, str]  # file name → text, written side by side in the output directory
    main: str  # the file the engine loads
    sites: list[str]
    notes: list[str]  # what the target does differently from SPEC §2, and why
    options: CompileOptions
    check: CheckResult | None = None
    seconds: float = 0.0

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        out = []
        for name, text in self.files.items():
            path = directory / name
            path.write_text(text, encoding="utf-8")
            out.append(path)
        return out


class Target:
    """One engine. Subclasses set ``name``, ``main``, ``template`` and implement the hooks."""

    name = ""
    main = ""
    template = ""
    engine = ""  # executable whose presence enables the syntax check

    def notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        return []

    def context(self, plans: list[SitePlan], options: CompileOptions) -> dict[str, object]:
        return {}

    def files(self, plans: list[SitePlan], options: CompileOptions) -> dict[str, str]:
        # No timestamp in the output: the same policy must give the same bytes (apply is
        # idempotent and compares configs).
        ctx = {"sites": plans, "options": options, **self.context(plans, options)}
        return {self.main: environment().get_template(self.template).render(ctx)}

    def check_command(self, path: Path, workdir: Path) -> list[str]:
        raise NotImplementedError

    def available(self) -> bool:
        return shutil.which(self.engine) is not None

    def check(self, plans: list[SitePlan], options: CompileOptions) -> CheckResult:
        # Nodes of one engine usually get the same bytes: check each distinct config once
        # per process (varnishd -C costs about a second).
        local = replace(options, state_dir="/cdnctl-check", access_log="/cdnctl-check/access.log")
        key = hashlib.sha256(repr(sorted(self.files(plans, local).items())).encode()).hexdigest()
        if key in _CHECKED:
            return _CHECKED[key]
        result = self._check(plans, options)
        _CHECKED[key] = result
        return result

    def _check(self, plans: list[SitePlan], options: CompileOptions) -> CheckResult:
        with tempfile.TemporaryDirectory(prefix=f"cdnctl-{self.name}-check-") as tmp:
            work = Path(tmp)
            work.chmod(0o755)  # nginx workers (nobody) must reach the check's paths
            # The check is about syntax: origin names are resolved by the node that loads
            # the config (apply checks there), so a builder without DNS can still compile.
            # nginx -t also creates the cache, temp and log paths: keep them in the temp dir.
            local = replace(options, state_dir=tmp, access_log=f"{tmp}/access.log")
            offline = [replace(p, origin=replace(p.origin, host="127.0.0.1")) for p in plans]
            to_check = self.files(offline, local)
            for name, text in to_check.items():
                (work / name).write_text(text, encoding="utf-8")
            cmd = self.check_command(work / self.main, work)
            started = time.perf_counter()
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHECK_TIMEOUT, cwd=tmp)
            except subprocess.TimeoutExpired:
                raise ConfigCheckError(self.name, f"{cmd[0]} did not finish within {CHECK_TIMEOUT} s",
                                       str(work / self.main)) from None
            seconds = time.perf_counter() - started
            output = self.check_output(proc)
            if proc.returncode != 0:
                raise ConfigCheckError(self.name, output, str(work / self.main))
            return CheckResult(cmd, seconds, output)

    def check_output(self, proc: subprocess.CompletedProcess[str]) -> str:
        return proc.stderr


_CHECKED: dict[str, CheckResult] = {}


def environment() -> jinja2.Environment:
    # StrictUndefined: a misspelt variable fails the compile instead of printing nothing.
    # No autoescape: these are not HTML; every value is validated by plan.checked().
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, autoescape=False)


def plan_sites(policy: Policy, names: list[str] | None, options: CompileOptions) -> list[SitePlan]:
    """Plans for the named sites (primary host or alias), all sites when ``names`` is empty."""
    if names:
        chosen: list[SitePolicy] = []
        for name in names:
            site = policy.site_for_host(name)
            if site is None:
                known = ", ".join(sorted(policy.sites)) or "none"
                raise KeyError(f"no site {name!r} in the policy (known: {known})")
            if site not in chosen:
                chosen.append(site)
    else:
        chosen = [policy.sites[k] for k in sorted(policy.sites)]
    return [plan_site(f"s{i}", site, options.origin_for(site)) for i, site in enumerate(chosen, 1)]


def compile_plans(target: Target, plans: list[SitePlan], options: CompileOptions,
                  on_check: Callable[[Target], None] | None = None) -> Compiled:
    started = time.perf_counter()
    files = target.files(plans, options)
    compiled = Compiled(target.name, files, target.main, [p.site.site for p in plans],
                        target.notes(plans, options), options)
    compiled.seconds = time.perf_counter() - started
    if options.check and target.available():
        if on_check:
            on_check(target)
        compiled.check = target.check(plans, options)
    return compiled
