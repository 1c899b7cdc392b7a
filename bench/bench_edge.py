"""Edge configs benchmark (issue 3): compile time of a big policy, and varnishd throughput.

    .venv/bin/python bench/bench_edge.py [--pages 10000] [--directories 1000] [--seconds 10]

1. Compile 10,000 page + 1,000 directory rules for Varnish and nginx: the render
   (cdnctl's own work, best of 3) and the engine's syntax check (``varnishd -C``,
   ``nginx -t``) timed separately. The Varnish check is given 60 s; if it needs more,
   it is retried with half the pages until a size compiles, and that size is used below.
2. Requests/s through a real varnishd on loopback (``wrk``, 2 threads, 32
   connections) with 10 vs N page rules: hits (one cached page URL) and misses (a new
   query string on every request, fetched from a local nginx origin answering at once).
   The ratio big/small is printed: the target is ≥ 0.90.

Not run in CI: needs varnishd, nginx and wrk (``apt-get install varnish nginx wrk``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policygen import write_big_site

from cache_rules.loader import load_policy_dir
from cache_rules.model import PathRank
from cache_rules.targets import Compiled, CompileOptions, compile_policy

HOST = "big.example.gouv.fr"
CHECK_LIMIT = 60.0  # seconds the Varnish compiler gets before the size is halved

ORIGIN_CONF = """pid {d}/origin.pid;
error_log {d}/origin-error.log;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        default_type text/html;
        location / {{ return 200 "origin ok\\n"; }}
    }}
}}
"""

MISS_LUA = """counter = 0
request = function()
    counter = counter + 1
    return wrk.format(nil, wrk.path .. "?miss=" .. counter .. "-" .. math.random(1, 1e9))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not listening after {timeout:.0f} s")


def build(work: Path, pages: int, directories: int, origin: str,
          targets: tuple[str, ...] = ("varnish", "nginx")) -> tuple[dict[str, Compiled], float, str]:
    """Render for each target (best of 3, no engine check); returns one page path too."""
    sites = work / f"sites-{pages}"
    write_big_site(sites, pages, directories)
    policy = load_policy_dir(sites).policy
    page = next(r.path for r in policy.sites[HOST].rules if r.path_rank is PathRank.PAGE)
    out: dict[str, Compiled] = {}
    best = 0.0
    for target in targets:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            out[target] = compile_policy(policy, target, None, CompileOptions(
                origins={"*": origin}, check=False, state_dir=str(work / "ngx"), listen="127.0.0.1:1"))
            times.append(time.perf_counter() - start)
        print(f"  render {target}: best {min(times):.3f} s of 3 ({', '.join(f'{t:.3f}' for t in times)})")
        best = max(best, min(times))
    return out, best, str(page)


def varnish_check(work: Path, compiled: Compiled, limit: float) -> float | None:
    vcl = work / f"check-{len(compiled.files[compiled.main])}.vcl"
    vcl.write_text(compiled.files[compiled.main])
    vcl.chmod(0o644)
    start = time.perf_counter()
    try:
        subprocess.run(["varnishd", "-C", "-n", str(work / "vcheck"), "-f", str(vcl.resolve())],
                       capture_output=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - start


def nginx_check(work: Path, compiled: Compiled) -> float:
    (work / "ngx").mkdir(exist_ok=True)
    conf = work / "nginx-check.conf"
    conf.write_text(compiled.files[compiled.main])
    start = time.perf_counter()
    cmd = ["nginx", "-t", "-q", "-p", str(work), "-e", str(work / "ngx-err.log"), "-c", str(conf)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(f"  nginx -t refused the config: {done.stderr.strip()[-300:]}")
    return seconds


def wrk(port: int, path: str, seconds: int, script: Path | None) -> float:
    cmd = ["wrk", "-t2", "-c32", f"-d{seconds}s", "-H", f"Host: {HOST}"]
    if script is not None:
        cmd += ["-s", str(script)]
    done = subprocess.run([*cmd, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                          timeout=seconds + 60, check=True)
    match = re.search(r"Requests/sec:\s+([0-9.]+)", done.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if non2xx:
        print(f"    warning: {non2xx.group(1)} non-2xx answers")
    assert match, done.stdout
    return float(match.group(1))


def throughput(work: Path, compiled: Compiled, page: str, seconds: int, rounds: int) -> tuple[float, float]:
    """(hits/s, misses/s): best of ``rounds`` wrk runs each, on a freshly started varnishd."""
    d = Path(tempfile.mkdtemp(prefix="bench-varnish-", dir=work))
    d.chmod(0o755)
    vcl = d / "main.vcl"
    vcl.write_text(compiled.files[compiled.main])
    vcl.chmod(0o644)
    port, admin = free_port(), free_port()
    proc = subprocess.Popen(
        ["varnishd", "-F", "-n", str(d / "v"), "-a", f"127.0.0.1:{port}", "-T", f"127.0.0.1:{admin}",
         "-f", str(vcl.resolve()), "-s", "malloc,512m", "-p", "default_grace=0", "-p", "cli_timeout=300"],
        stdout=(d / "varnishd.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        start = time.perf_counter()
        wait_port(port, proc, "varnishd", 600)
        print(f"    varnishd up in {time.perf_counter() - start:.1f} s (VCL compile included)")
        miss_lua = d / "miss.lua"
        miss_lua.write_text(MISS_LUA)
        wrk(port, page, 1, None)  # warm: the page is now cached
        hits = max(wrk(port, page, seconds, None) for _ in range(rounds))
        misses = max(wrk(port, page, seconds, miss_lua) for _ in range(rounds))
        return hits, misses
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--directories", type=int, default=1_000)
    ap.add_argument("--small-pages", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    ap.add_argument("--rounds", type=int, default=3, help="wrk runs per measurement (best kept)")
    ap.add_argument("--render-only", action="store_true",
                    help="only the render time of every target (no engine, no wrk)")
    args = ap.parse_args()
    if args.render_only:
        from cache_rules.targets import TARGETS

        work = Path(tempfile.mkdtemp(prefix="bench-edge-"))
        print(f"render {args.pages} page + {args.directories} directory rules, every target")
        every = tuple(sorted(TARGETS))
        _, slowest, _ = build(work, args.pages, args.directories, "http://127.0.0.1:1", every)
        print(f"  slowest target: {slowest:.3f} s — target < 1 s: {slowest < 1}")
        shutil.rmtree(work, ignore_errors=True)
        return 0
    for tool in ("varnishd", "nginx", "wrk"):
        if shutil.which(tool) is None:
            print(f"{tool} not installed", file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="bench-edge-"))
    work.chmod(0o755)
    origin_port = free_port()
    (work / "origin.conf").write_text(ORIGIN_CONF.format(d=work, port=origin_port))
    origin = subprocess.Popen(["nginx", "-p", str(work), "-e", str(work / "origin-error.log"), "-c",
                               str(work / "origin.conf"), "-g", "daemon off;"], start_new_session=True)
    try:
        wait_port(origin_port, origin, "origin nginx", 15)
        url = f"http://127.0.0.1:{origin_port}"
        print(f"compile {args.pages} page + {args.directories} directory rules")
        big, render, page = build(work, args.pages, args.directories, url)
        print(f"  render (slower target): {render:.3f} s — target < 1 s: {render < 1}")
        print(f"  nginx -t: {nginx_check(work, big['nginx']):.2f} s")
        pages = args.pages
        while True:
            checked = varnish_check(work, big["varnish"], CHECK_LIMIT)
            if checked is not None:
                print(f"  varnishd -C with {pages} pages: {checked:.1f} s")
                break
            print(f"  varnishd -C with {pages} pages: > {CHECK_LIMIT:.0f} s (gave up)")
            pages //= 2
            big, _, page = build(work, pages, args.directories, url)
        print(f"throughput: {args.small_pages} vs {pages} page rules "
              f"({args.directories} directories in the big one), wrk -t2 -c32 -d{args.seconds}s, "
              f"best of {args.rounds}")
        small, _, small_page = build(work, args.small_pages, min(args.directories, 10), url)
        results = {}
        for label, compiled, path in (("small", small["varnish"], small_page), ("big", big["varnish"], page)):
            print(f"  {label}:")
            results[label] = throughput(work, compiled, path, args.seconds, args.rounds)
            print(f"    hits {results[label][0]:,.0f} req/s, misses {results[label][1]:,.0f} req/s")
        hit_ratio = results["big"][0] / results["small"][0]
        miss_ratio = results["big"][1] / results["small"][1]
        print(f"ratio big/small: hits {hit_ratio:.2f}, misses {miss_ratio:.2f} (target ≥ 0.90)")
    finally:
        origin.terminate()
        origin.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
