"""Real servers for the edge tests: a scriptable origin, varnishd and nginx on loopback.

The origin answers any method and path. The test chooses the response through request
headers the edge forwards untouched (the policy ignores the query string, so a header
is the clean channel): ``X-Test-Content-Type`` (urlsafe base64 of the exact header
value; absent = no Content-Type at all), ``X-Test-Status``, ``X-Test-Set-Cookie``.
It counts requests per raw request target, which tells whether the edge went to it.
"""

from __future__ import annotations

import base64
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from cache_rules.model import Policy
from cache_rules.resolve import SiteResolver
from cache_rules.targets import TEST_CLOCK_HEADER, Compiled, CompileOptions, compile_policy
from cache_rules.targets.plan import epoch
from tests.cases import Case, load_cases, load_cases_policy
from tests.targets.policygen import REQUEST_PATHS, REQUEST_TYPES, random_site

__all__ = [
    "TEST_CLOCK_HEADER",
    "Edge",
    "Nginx",
    "Origin",
    "Response",
    "Varnish",
    "encode_ct",
    "free_port",
    "request",
    "wire_path",
]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def encode_ct(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")


def wire_path(path: str) -> str:
    """The request target an HTTP client sends for a typed path: fragment dropped,
    non-ASCII and spaces as UTF-8 escapes, existing escapes kept as typed."""
    path = path.split("#", 1)[0]
    return quote(path, safe="/%!$&'()*+,;=:@~-._?")


class _OriginHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without TCP_NODELAY, Nagle + delayed ACK add 40 ms
    # to every keep-alive fetch.
    disable_nagle_algorithm = True
    server: _OriginServer

    def _answer(self) -> None:
        self.server.hits[self.path] += 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = f"{self.command} {self.path} #{self.server.hits[self.path]}\n".encode()
        self.send_response(int(self.headers.get("X-Test-Status") or 200))
        ct = self.headers.get("X-Test-Content-Type")
        if ct is not None:
            self.send_header("Content-Type", base64.urlsafe_b64decode(ct).decode("utf-8"))
        if self.headers.get("X-Test-Set-Cookie"):
            self.send_header("Set-Cookie", self.headers["X-Test-Set-Cookie"])
        self.send_header("X-Origin-Count", str(self.server.hits[self.path]))
        self.send_header("X-Origin-Host", self.headers.get("Host", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return


class _OriginServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _OriginHandler)
        self.hits: Counter[str] = Counter()


class Origin:
    def __init__(self) -> None:
        self.server = _OriginServer()
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def hits(self) -> Counter[str]:
        return self.server.hits

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def request(port: int, host: str, path: str, method: str = "GET", headers: dict[str, str] | None = None,
            source: str = "127.0.0.1", timeout: float = 10) -> Response:
    """One HTTP/1.1 request sent exactly as given (no client-side URL rewriting)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s:\n{log.read_text(errors='replace')}")


@dataclass
class Edge:
    """A running edge server on loopback; ``port`` takes the traffic."""

    workdir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / "server.log"
        # Both engines drop root for an unprivileged user who must read the config.
        os.chmod(self.workdir, 0o755)

    def get(self, host: str, path: str, **kw: object) -> Response:
        return request(self.port, host, path, **kw)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Varnish(Edge):
    """``varnishd -F`` with a private work dir (-n) and admin port (-T)."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, free_port())
        self.admin_port = free_port()
        self.name = str(workdir / "varnish")
        self.secret = workdir / "varnish" / "_.secret"  # made by varnishd when -S is not given

    def start(self, compiled: Compiled) -> Varnish:
        compiled.write(self.workdir)
        return self.launch(self.workdir / compiled.main)

    def launch(self, vcl: Path) -> Varnish:
        vcl = vcl.resolve()
        cmd = [shutil.which("varnishd") or "varnishd", "-F", "-n", self.name,
               "-a", f"127.0.0.1:{self.port}", "-T", f"127.0.0.1:{self.admin_port}",
               "-f", str(vcl), "-s", "malloc,64m", "-p", "default_grace=0", "-p", "thread_pools=1"]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port, self.proc, "varnishd", self.log)
        return self

    def adm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["varnishadm", "-n", self.name, *args], capture_output=True, text=True, timeout=30)


class Nginx(Edge):
    """``nginx -p PREFIX -c FILE -g 'daemon off;'`` in the foreground."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, free_port())

    def start(self, compiled: Compiled) -> Nginx:
        compiled.write(self.workdir)
        return self.launch(self.workdir / compiled.main)

    def launch(self, conf: Path) -> Nginx:
        conf = conf.resolve()
        cmd = [shutil.which("nginx") or "nginx", "-p", str(self.workdir), "-c", str(conf),
               "-e", str(self.workdir / "error.log"), "-g", "daemon off;"]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port, self.proc, "nginx", self.workdir / "error.log")
        return self


# -- replaying the shared case table ---------------------------------------------------

def next_boundary(policy: Policy, host: str, at: datetime) -> datetime | None:
    """The first window edge of the host's site after ``at``: rules may change there."""
    site = policy.site_for_host(host)
    assert site is not None, host
    edges = sorted(e for w in site.overrides for e in (w.start, w.end) if e > at)
    return edges[0] if edges else None


def replay(edge: Edge, policy: Policy, case: Case, caps_at_boundary: bool) -> list[str]:
    """Send the case's request twice; return the differences from the case (empty = pass).

    First request: the decision headers and MISS (PASS when not cached). Second: HIT
    when cached — unless the engine caps objects at the next window edge and that edge
    is less than a second after ``at`` — and PASS again, from the origin, when not.
    """
    path = wire_path(case.path)
    path += ("&" if "?" in path else "?") + f"case={case.id}"  # own cache object per case
    headers = {TEST_CLOCK_HEADER: f"{epoch(case.at):.6f}"}
    if case.content_type is not None:
        headers["X-Test-Content-Type"] = encode_ct(case.content_type)
    first = edge.get(case.site, path, headers=headers)
    problems = []
    got = (first.status, first.header("X-Cache-Rule"), first.header("X-Cache-TTL"), first.header("X-Cache"))
    want = (200, case.rule, str(case.ttl), "MISS" if case.cache else "PASS")
    if got != want:
        problems.append(f"first request: got (status, rule, ttl, X-Cache) {got}, expected {want}")
    if first.header("X-Origin-Count") is None:
        problems.append("first request did not reach the origin")
    edge_at = next_boundary(policy, case.site, case.at)
    if case.cache and caps_at_boundary and edge_at is not None and (edge_at - case.at).total_seconds() < 1:
        # Stored until a boundary less than a second after the test clock's "now", while
        # expiry runs on the real clock: a HIT or a MISS may follow; nothing to check.
        return problems
    # nginx moves the object into the cache just after the client has its last byte: a
    # request sent at once may still miss and fetch again.
    origin_answers = {first.body}
    for _ in range(20):
        second = edge.get(case.site, path, headers=headers)
        if not case.cache or second.header("X-Cache") != "MISS":
            break
        origin_answers.add(second.body)
        time.sleep(0.02)
    expect = "HIT" if case.cache else "PASS"
    if second.header("X-Cache") != expect:
        problems.append(f"second request: X-Cache {second.header('X-Cache')}, expected {expect}")
    if expect == "HIT" and second.body not in origin_answers:
        problems.append("HIT body is none of the origin's answers")
    if expect != "HIT" and second.body == first.body:
        problems.append("not cached, yet the origin was not asked again")
    return problems


def require(engine: str) -> None:
    """Skip when the engine is missing — except in CI, where .ci/run installs it."""
    import pytest

    if shutil.which(engine) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{engine} is not installed: .ci/run installs it from Debian")
        pytest.skip(f"{engine} is not installed (apt-get install; .ci/run does it)")


def write_policy(directory: Path, sites: dict[str, str]) -> Policy:
    """Write site YAML texts into ``directory`` and load them (must be valid)."""
    from cache_rules.loader import load_policy_dir

    directory.mkdir(parents=True, exist_ok=True)
    for name, text in sites.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return load_policy_dir(directory).require_valid()


# -- scenarios shared by every engine ------------------------------------------------

LIVE_POLICY = """\
site: live.example.fr
aliases: [www.live.example.fr]
origin: http://127.0.0.1:9
rules:
  - {{id: live-default, default: true, ttl: 1h}}
  - {{id: live-short, directory: /short/, ttl: 2s}}
  - {{id: live-off, directory: /nocache/, cache: false}}
overrides:
  - from: {start}
    until: {end}
    reason: live window
    rules:
      - {{id: live-window, directory: /w/, ttl: 30s}}
"""

FLIP_POLICY = """\
site: flip.example.fr
origin: http://127.0.0.1:9
rules:
  - {{id: flip-default, default: true, ttl: 1h}}
overrides:
  - from: {start}
    until: {end}
    reason: switched off for a while
    enabled: false
    rules: []
"""

# Valid policy values full of characters that mean something in VCL, nginx or PCRE.
ODD_POLICY = r"""
site: odd.example.fr
origin: http://127.0.0.1:9
rules:
  - {id: odd-default, default: true, ttl: 1h}
  - {id: odd-dollar, directory: "/${HOME}/", ttl: 11m}
  - {id: odd-meta, directory: "/a.b+c(d)*e;f'g=h/", ttl: 12m}
  - {id: odd-quote, page: '/say"hi"', ttl: 13m}
  - {id: odd-brace, page: "/x{1}", ttl: 14m}
  - {id: odd-backslash, page: "/back\\slash", ttl: 15m}
  - {id: odd-type, content_type: "application/vnd.api+json", ttl: 16m}
  - {id: odd-dot, directory: "/a.b/", ttl: 17m}
  - {id: odd-newline-escape, page: "/n%0Aline", ttl: 18m}
"""

ODD_REQUESTS = [
    ("/${HOME}/x", None, "odd-dollar"),
    ("/$%7BHOME%7D/x", None, "odd-dollar"),
    ("/aXb/c", None, "odd-default"),
    ("/a.b/c", None, "odd-dot"),
    ("/a.b+c(d)*e;f'g=h/z", None, "odd-meta"),
    ("/a.b+c(d)e;f'g=h/z", None, "odd-default"),
    ('/say"hi"', None, "odd-quote"),
    ("/x{1}", None, "odd-brace"),
    ("/x1", None, "odd-default"),
    ("/back\\slash", None, "odd-backslash"),
    ("/n%0aline", None, "odd-newline-escape"),
    ("/doc", "application/vnd.api+json; charset=utf-8", "odd-type"),
    ("/doc", "application/vndXapi+json", "odd-default"),
]


def decide_like_resolver(edge: Edge, policy: Policy, host: str, path: str, content_type: str | None,
                         tag: str) -> list[str]:
    """One fresh request; its decision headers must be the resolver's decision for now."""
    site = policy.site_for_host(host)
    assert site is not None, host
    decision = SiteResolver(site).decide(path, content_type)
    wire = wire_path(path)
    wire += ("&" if "?" in wire else "?") + f"t={tag}"
    headers = {"X-Test-Content-Type": encode_ct(content_type)} if content_type is not None else {}
    resp = edge.get(host, wire, headers=headers)
    got = (resp.header("X-Cache-Rule"), resp.header("X-Cache-TTL"))
    want = (decision.rule.id if decision.rule and decision.enabled else None, str(decision.ttl))
    return [] if got == want else [f"{host} {wire} ({content_type}): got {got}, expected {want}"]


# -- the suite every engine runs ------------------------------------------------------

RANDOM_SEEDS = (1, 2, 3, 4)
FROZEN_AT = "2031-04-25T23:00:00+02:00"  # inside the election-night window of the case table

_LOG_LINE = re.compile(
    r'^(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) (?P<bytes>\S+) '
    r'"(?P<referer>[^"]*)" "(?P<agent>[^"]*)" "(?P<host>[^"]*)" (?P<cache>\S+) (?P<taken>[0-9.]+)'
    r'(?: "(?P<rule>[^"]*)")?$')


class EdgeSuite:
    """Engine-agnostic tests; ``tests/e2e/test_<engine>.py`` subclasses it as ``Test<Engine>``."""

    engine = ""  # target name
    executable = ""
    caps_at_boundary = False  # objects expire at the next window edge (else: window in the key)
    ban = True  # BAN by prefix/regex supported
    time_unit = 1.0  # seconds per unit of the log's time-taken field

    # hooks --------------------------------------------------------------------------
    @classmethod
    def make_edge(cls, workdir: Path) -> Edge:
        raise NotImplementedError

    @classmethod
    def options(cls, edge: Edge, origin: Origin, **kw: object) -> CompileOptions:
        raise NotImplementedError

    def access_log(self, edge: Edge) -> list[str]:
        raise NotImplementedError

    # fixtures -----------------------------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def cases_edge(cls, origin: Origin, workdir_factory: Callable[[str], Path]) -> Iterator[tuple[Edge, Policy]]:
        require(cls.executable)
        policy = load_cases_policy()
        edge = cls.make_edge(workdir_factory(cls.engine))
        compiled = compile_policy(policy, cls.engine, options=cls.options(edge, origin, clock="header"))
        assert compiled.check is not None, "the engine's syntax check must run"
        edge.start(compiled)
        yield edge, policy
        edge.stop()

    @pytest.fixture(scope="class")
    @classmethod
    def live_edge(cls, origin: Origin, workdir_factory: Callable[[str], Path]) -> Iterator[LiveEdge]:
        yield from cls._live(origin, workdir_factory, "live")

    @pytest.fixture
    @classmethod
    def clock_edge(cls, origin: Origin, workdir_factory: Callable[[str], Path]) -> Iterator[LiveEdge]:
        """Its own server, started just before the test: the window opens 6 s later."""
        yield from cls._live(origin, workdir_factory, "clock")

    @classmethod
    def _live(cls, origin: Origin, workdir_factory: Callable[[str], Path], tag: str) -> Iterator[LiveEdge]:
        require(cls.executable)
        work = workdir_factory(f"{cls.engine}-{tag}")
        now = datetime.now(UTC).replace(microsecond=0)
        start, end = now + timedelta(seconds=6), now + timedelta(seconds=9)
        window = {"start": start.isoformat(), "end": end.isoformat()}
        policy = write_policy(work / "sites", {
            "live.example.fr": LIVE_POLICY.format(**window),
            "flip.example.fr": FLIP_POLICY.format(**window),
            "odd.example.fr": ODD_POLICY,
        })
        edge = cls.make_edge(work)
        # check=False: the case-table fixture runs the syntax check; here the clock is ticking
        compiled = compile_policy(policy, cls.engine, options=cls.options(edge, origin, check=False))
        edge.start(compiled)
        yield LiveEdge(edge, policy, start, end)
        edge.stop()

    @pytest.fixture(scope="class")
    @classmethod
    def random_edge(cls, origin: Origin, workdir_factory: Callable[[str], Path]) -> Iterator[tuple[Edge, Policy]]:
        """Random valid policies (tests/targets/policygen.py), each with a window."""
        require(cls.executable)
        work = workdir_factory(cls.engine + "-random")
        window = ("2031-01-01T00:00:00+00:00", "2031-01-02T00:00:00+00:00")
        policy = write_policy(work / "sites", {f"gen{n}.example.fr": random_site(random.Random(n),
                                                                                   f"gen{n}.example.fr", window)
                                               for n in RANDOM_SEEDS})
        edge = cls.make_edge(work)
        edge.start(compile_policy(policy, cls.engine, options=cls.options(edge, origin, clock="header")))
        yield edge, policy
        edge.stop()

    # tests --------------------------------------------------------------------------
    @pytest.mark.parametrize("case", load_cases(), ids=lambda c: c.id)
    def test_case_table(self, cases_edge: tuple[Edge, Policy], case: Case) -> None:
        edge, policy = cases_edge
        problems = replay(edge, policy, case, self.caps_at_boundary)
        assert not problems, problems

    def test_frozen_config_decides_for_its_instant(self, origin: Origin,
                                                    workdir_factory: Callable[[str], Path]) -> None:
        """compile --at: the config ignores the clock; every case at that instant holds."""
        require(self.executable)
        at = datetime.fromisoformat(FROZEN_AT)
        cases = [c for c in load_cases() if c.at == at]
        assert len(cases) >= 5
        policy = load_cases_policy()
        edge = self.make_edge(workdir_factory(self.engine + "-frozen"))
        edge.start(compile_policy(policy, self.engine, options=self.options(edge, origin, clock="frozen", at=at,
                                                                           check=False)))
        try:
            problems = [f"{c.id}: {p}" for c in cases for p in replay(edge, policy, c, caps_at_boundary=False)]
        finally:
            edge.stop()
        assert not problems, problems

    @pytest.mark.parametrize("seed", RANDOM_SEEDS)
    def test_random_policies_decide_like_the_resolver(self, random_edge: tuple[Edge, Policy], seed: int) -> None:
        edge, policy = random_edge
        host = f"gen{seed}.example.fr"
        site = policy.sites[host]
        resolver = SiteResolver(site)
        problems = []
        for at in (datetime(2030, 6, 1, tzinfo=UTC), datetime(2031, 1, 1, 12, tzinfo=UTC)):
            for n, (path, ct) in enumerate((p, t) for p in REQUEST_PATHS for t in REQUEST_TYPES):
                d = resolver.decide(path, ct, at)
                want = (d.rule.id if d.enabled and d.rule else None, str(d.ttl), "MISS" if d.cache else "PASS")
                wire = wire_path(path)
                wire += ("&" if "?" in wire else "?") + f"r={at.year}-{n}"
                headers = {TEST_CLOCK_HEADER: f"{epoch(at):.6f}"}
                if ct is not None:
                    headers["X-Test-Content-Type"] = encode_ct(ct)
                r = edge.get(host, wire, headers=headers)
                got = (r.header("X-Cache-Rule"), r.header("X-Cache-TTL"), r.header("X-Cache"))
                if got != want:
                    problems.append(f"{at.date()} {path} {ct!r}: got {got}, expected {want}")
        assert not problems, problems[:20]

    def test_unknown_host_is_404(self, cases_edge: tuple[Edge, Policy]) -> None:
        edge, _ = cases_edge
        assert edge.get("unknown.example.org", "/").status == 404

    def test_policy_values_with_metacharacters(self, live_edge: LiveEdge) -> None:
        problems = []
        for n, (path, ct, rule) in enumerate(ODD_REQUESTS):
            problems += decide_like_resolver(live_edge.edge, live_edge.policy, "odd.example.fr", path, ct,
                                             f"odd{n}")
            site = live_edge.policy.site_for_host("odd.example.fr")
            assert site is not None
            assert SiteResolver(site).decide(path, ct).rule.id == rule, path  # type: ignore[union-attr]
        assert problems == []

    def test_not_stored(self, live_edge: LiveEdge) -> None:
        edge = live_edge.edge
        # cache: false
        first, second = (edge.get("live.example.fr", "/nocache/a") for _ in range(2))
        assert (first.header("X-Cache"), second.header("X-Cache")) == ("PASS", "PASS")
        assert first.body != second.body
        # Authorization requests and non-GET methods go to the origin, uncached
        for _ in range(2):
            r = edge.get("live.example.fr", "/auth", headers={"Authorization": "Basic eDp5"})
            assert r.header("X-Cache") == "PASS" and r.header("X-Origin-Count") is not None
        r = edge.get("live.example.fr", "/form", method="POST", headers={"Content-Length": "0"})
        assert r.status == 200 and r.header("X-Cache") == "PASS"
        # Set-Cookie: never stored, whatever the rule says
        bodies = {edge.get("live.example.fr", "/cookie", headers={"X-Test-Set-Cookie": "s=1"}).body
                  for _ in range(2)}
        assert len(bodies) == 2
        # statuses that are not stored (500) — stored ones (404) are
        errs = {edge.get("live.example.fr", "/err", headers={"X-Test-Status": "500"}).body for _ in range(2)}
        assert len(errs) == 2
        self._hit(edge, "live.example.fr", "/missing", {"X-Test-Status": "404"})

    def _hit(self, edge: Edge, host: str, path: str, headers: dict[str, str] | None = None) -> Response:
        """Fetch until the object is in the cache (nginx stores it just after answering)."""
        first = edge.get(host, path, headers=headers)
        assert first.header("X-Cache") in ("MISS", "HIT"), first.headers
        for _ in range(50):
            again = edge.get(host, path, headers=headers)
            if again.header("X-Cache") == "HIT":
                return again
            time.sleep(0.02)
        raise AssertionError(f"{host}{path} never became a HIT: {again.headers}")

    def test_purge_only_from_acl(self, live_edge: LiveEdge) -> None:
        edge, host = live_edge.edge, "live.example.fr"
        self._hit(edge, host, "/p/1.html")
        foreign = edge.get(host, "/p/1.html", method="PURGE", source="127.0.0.2")
        assert foreign.status == 403
        assert edge.get(host, "/p/1.html").header("X-Cache") == "HIT"
        assert edge.get(host, "/p/1.html", method="PURGE").status == 200
        assert edge.get(host, "/p/1.html").header("X-Cache") == "MISS"
        # BAN by prefix and by regex
        self._hit(edge, host, "/p/2.html")
        self._hit(edge, host, "/q/2.html")
        assert edge.get(host, "/", method="BAN", headers={"X-Ban-Prefix": "/p/"},
                        source="127.0.0.2").status == 403
        assert edge.get(host, "/p/2.html").header("X-Cache") == "HIT"
        status = edge.get(host, "/", method="BAN", headers={"X-Ban-Prefix": "/p/"}).status
        if not self.ban:
            assert status == 501
            return
        assert status == 200
        assert edge.get(host, "/p/2.html").header("X-Cache") == "MISS"
        assert edge.get(host, "/q/2.html").header("X-Cache") == "HIT"
        assert edge.get(host, "/", method="BAN", headers={"X-Ban-Regex": r"^/q/[0-9]\.html$"}).status == 200
        assert edge.get(host, "/q/2.html").header("X-Cache") == "MISS"
        assert edge.get(host, "/", method="BAN", headers={"X-Ban-Regex": 'a"b'}).status == 400
        # a prefix is literal: its dot is not "any character"
        self._hit(edge, host, "/r/a.b")
        self._hit(edge, host, "/r/aXb")
        assert edge.get(host, "/", method="BAN", headers={"X-Ban-Prefix": "/r/a."}).status == 200
        assert edge.get(host, "/r/a.b").header("X-Cache") == "MISS"
        assert edge.get(host, "/r/aXb").header("X-Cache") == "HIT"

    def test_access_log_line(self, live_edge: LiveEdge) -> None:
        edge = live_edge.edge
        self._hit(edge, "www.live.example.fr", "/logged?x=1", {"User-Agent": "e2e-agent"})
        lines: list[str] = []
        for _ in range(50):  # varnishncsa/nginx write the record after the response
            lines = [ln for ln in self.access_log(edge) if "/logged?x=1" in ln]
            # The MISS lines may be written before the HIT's: wait for the HIT's own line.
            last = _LOG_LINE.match(lines[-1]) if lines else None
            if len(lines) >= 2 and last is not None and last["cache"] == "HIT":
                break
            time.sleep(0.1)
        assert len(lines) >= 2, self.access_log(edge)[-5:]
        records = [_LOG_LINE.match(ln) for ln in lines]
        assert all(records), lines
        assert [r["cache"] for r in records if r][-1] == "HIT"
        last = records[-1]
        assert last is not None
        assert last["host"] == "www.live.example.fr"
        assert last["request"] == "GET /logged?x=1 HTTP/1.1" and last["status"] == "200"
        assert last["agent"] == "e2e-agent"
        assert 0 <= float(last["taken"]) * self.time_unit < 5

    def test_windows_follow_the_real_clock(self, clock_edge: LiveEdge) -> None:
        """Before, inside and after a window that starts seconds after the server did;
        an object cached before the window is not served inside it; TTLs expire."""
        edge, start, end = clock_edge.edge, clock_edge.start, clock_edge.end
        assert datetime.now(UTC) < start - timedelta(seconds=0.5), "server started too late for the test"

        def rule(host: str, path: str) -> tuple[str | None, str | None]:
            r = edge.get(host, path)
            return r.header("X-Cache-Rule"), r.header("X-Cache")

        self._hit(edge, "live.example.fr", "/w/page")
        assert rule("live.example.fr", "/w/page") == ("live-default", "HIT")
        self._hit(edge, "flip.example.fr", "/page")
        self._hit(edge, "live.example.fr", "/short/page")
        _sleep_until(start + timedelta(seconds=0.3))
        assert rule("live.example.fr", "/w/page") == ("live-window", "MISS")
        assert rule("live.example.fr", "/w/page")[0] == "live-window"
        assert rule("flip.example.fr", "/page") == (None, "PASS")
        # /short/ has a 2 s TTL, cached more than 2 s ago: expired, never served stale
        assert rule("live.example.fr", "/short/page") == ("live-short", "MISS")
        _sleep_until(end + timedelta(seconds=0.3))
        got = rule("live.example.fr", "/w/page")
        assert got[0] == "live-default" and got[1] in ("MISS", "HIT")
        assert rule("flip.example.fr", "/page")[0] == "flip-default"


@dataclass
class LiveEdge:
    edge: Edge
    policy: Policy
    start: datetime
    end: datetime


def _sleep_until(when: datetime) -> None:
    delay = (when - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)
