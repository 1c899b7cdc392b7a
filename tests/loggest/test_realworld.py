"""Real-world log files (tests/loggest/realworld, sources in SOURCES.md) through `cdnctl logs
ingest`, compared with figures computed independently of loggest (realworld/independent.py).

Every (fixture, variant, engine) is one test item. The variants are made at test time from
each fixture: as published, gzip-compressed, CRLF line endings, a UTF-8 BOM in front, blank
lines inserted, a Latin-1 byte in a user agent, and the last line cut (no final newline:
the file must be refused, exit code 3).

Cost: a CLI call opens the store (about a second to create it) and the ClickHouse engine
spends up to a second per file, so there is one store per engine, and one CLI call per
--format/--site group reads all its variants (the cut files get a call of their own, whose
exit code is then the refusal's); the results are computed once and shared by the items.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.store import open_store
from tests.loggest.realworld.independent import Figures, figures

HERE = Path(__file__).parent / "realworld"
INGRESS_FORMAT = (
    'nginx:$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] '
    "[$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length "
    "$upstream_response_time $upstream_status $req_id"
)


@dataclass(frozen=True)
class Group:
    """Fixtures ingested by one CLI call: same --format and --site."""
    name: str
    fmt: str
    kind: str                  # independent.py's name for the format
    site: str | None           # --site (the lines carry no host, or not all of them)


W3C = Group("w3c", "w3c", "w3c", "w3c.realworld.test")
CLOUDFRONT = Group("cloudfront", "cloudfront", "cloudfront", None)
COMBINED = Group("combined", "combined", "combined", "combined.realworld.test")
VARNISH = Group("varnishncsa", "varnishncsa", "varnishncsa", None)
INGRESS = Group("ingress", INGRESS_FORMAT, "ingress-nginx", "ingress.realworld.test")
GROUPS = (W3C, CLOUDFRONT, COMBINED, VARNISH, INGRESS)

FIXTURES: dict[str, Group] = {
    "iis-8.5_u_ex160110.log": W3C,
    "iis-7.0_u_ex100815.log": W3C,
    "iis-10.0_beats-test.log": W3C,
    "iis-advanced-logging_lnav-w3c.3.log": W3C,
    "oracle-webcache_lnav-w3c.1.log": W3C,
    "cloudfront-24fields_web-1-0.log": CLOUDFRONT,
    "cloudfront-33fields_jsherz-expected-result.log": CLOUDFRONT,
    "apache-combined_elastic-examples-apache_logs.log": COMBINED,
    "nginx-combined_beats-access.log": COMBINED,
    "varnishncsa_vg-varnish.log": VARNISH,
    "ingress-nginx_beats-test.log": INGRESS,
}


# ---- variants: (file name, bytes) from the fixture's (name, bytes) ----

def _blank_lines(data: bytes) -> bytes:
    """Empty lines after the first line, after a line in the middle, and at the end."""
    first = data.index(b"\n") + 1
    middle = data.find(b"\n", max(first, len(data) // 2)) + 1 or len(data)
    return data[:first] + b"\n" + data[first:middle] + b"\n" + data[middle:] + b"\n"


def _latin1(data: bytes) -> bytes:
    """One user-agent letter as a Latin-1 byte: 'Mozilla' → b'M\\xe9zilla' (not UTF-8)."""
    at = data.index(b"Mozilla") + 1
    return data[:at] + b"\xe9" + data[at + 1:]


def _cut_last_line(data: bytes) -> bytes:
    return data[:-2] if data.endswith(b"\r\n") else data[:-1]


VARIANTS: dict[str, Callable[[str, bytes], tuple[str, bytes]]] = {
    "published": lambda n, d: (n, d),
    "gzip": lambda n, d: (n + ".gz", gzip.compress(d, mtime=0)),
    "crlf": lambda n, d: (n, re.sub(rb"(?<!\r)\n", b"\r\n", d)),
    "bom": lambda n, d: (n, b"\xef\xbb\xbf" + d),
    "blank-lines": lambda n, d: (n, _blank_lines(d)),
    "latin1": lambda n, d: (n, _latin1(d)),
    "cut-last-line": lambda n, d: (n, _cut_last_line(d)),
}
ENGINES = ("python", "clickhouse")


def variant_file(fixture: str, variant: str) -> tuple[str, bytes]:
    """The variant's file name (unique in the store: ``stem.variant.log[.gz]``) and bytes."""
    name, data = VARIANTS[variant](fixture, (HERE / fixture).read_bytes())
    if variant != "published":
        stem, dot, ext = fixture.rpartition(".")
        name = name.replace(fixture, f"{stem}.{variant}{dot}{ext}")
    return name, data


def same_as_published(fixture: str, variant: str) -> bool:
    """A variant that changes nothing (CRLF of a file IIS already wrote with CRLF)."""
    return variant != "published" and (
        variant_file(fixture, variant)[1] == (HERE / fixture).read_bytes())


# ---- one store per engine: each group's variants in one CLI call, the cut files in
# another (so that its exit code is the refusal's); then everything read back by SQL ----

@dataclass
class Run:
    exit_code: int
    output: dict[str, Any] | None           # the --json document
    error: str                               # stderr / exception when there is no JSON


@dataclass
class Ingested:
    runs: dict[str, Run]                     # file name → the CLI call that read it
    files: dict[str, dict[str, Any]]         # file name → its entry of the JSON "files"
    stored: dict[str, dict[str, Any]]        # file name → figures read from `records`
    quarantined: dict[str, int]              # file name → rows in `quarantine`


_RESULTS: dict[str, Ingested] = {}
CUT = "cut-last-line"

RECORD_SQL = """
SELECT file_id,
       count(),
       sum(ifNull(bytes, 0)),
       countIf(intDiv(status, 100) = 2), countIf(intDiv(status, 100) = 3),
       countIf(intDiv(status, 100) = 4), countIf(intDiv(status, 100) = 5),
       countIf(time_taken_us IS NOT NULL), sum(ifNull(time_taken_us, 0)),
       groupUniqArray(site), groupUniqArray(path),
       countIf(cache_class = 'hit'), countIf(cache_class = 'miss'),
       countIf(cache_class = 'pass'), countIf(cache_class = 'error')
FROM records GROUP BY file_id
"""


def _run(group: Group, paths: list[str], engine: str, store: str) -> Run:
    args = ["logs", "ingest", *paths, "--format", group.fmt, "--engine", engine,
            "--store", store, "--retention-months", "600", "--settle", "0", "--json"]
    if group.site:
        args += ["--site", group.site]
    result = CliRunner().invoke(cli, args)
    try:
        output = json.loads(result.stdout)
    except ValueError:
        output = None
    return Run(result.exit_code, output, result.stderr + (repr(result.exception) if result.exception else ""))


def _ingest(engine: str, root: Path) -> Ingested:
    store = f"chdb://{root}/s.chdb"
    runs: dict[str, Run] = {}
    files: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        for batch in ([v for v in VARIANTS if v != CUT], [CUT]):
            folder = root / group.name / ("cut" if batch == [CUT] else "variants")
            folder.mkdir(parents=True)
            paths = []
            for fixture, g in FIXTURES.items():
                for variant in batch:
                    if g is group and not same_as_published(fixture, variant):
                        name, data = variant_file(fixture, variant)
                        (folder / name).write_bytes(data)
                        paths.append(str(folder / name))
            run = _run(group, paths, engine, store)
            for path in paths:
                runs[Path(path).name] = run
            for entry in (run.output or {}).get("files", []):
                files[entry["name"]] = entry
    stored: dict[str, dict[str, Any]] = {}
    quarantined: dict[str, int] = {}
    with open_store(store) as st:
        names = dict(st.rows("SELECT file_id, any(name) FROM files GROUP BY file_id"))
        for row in st.rows(RECORD_SQL):
            stored[names.get(row[0], f"file_id {row[0]}")] = {
                "records": row[1], "bytes": row[2],
                "2xx": row[3], "3xx": row[4], "4xx": row[5], "5xx": row[6],
                "timed": row[7], "time_us": row[8],
                "sites": sorted(row[9]), "paths": sorted(row[10]),
                "hit": row[11], "miss": row[12], "pass": row[13], "error": row[14],
            }
        for file_id, n in st.rows("SELECT file_id, count() FROM quarantine GROUP BY file_id"):
            quarantined[names.get(file_id, f"file_id {file_id}")] = n
    return Ingested(runs, files, stored, quarantined)


@pytest.fixture
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Ingested]:
    def get(engine: str) -> Ingested:
        if engine not in _RESULTS:
            _RESULTS[engine] = _ingest(engine, tmp_path_factory.mktemp(f"realworld-{engine}"))
        return _RESULTS[engine]
    return get


# ---- what the independent reader expects ----

def expected_store(f: Figures) -> dict[str, Any]:
    out: dict[str, Any] = {
        "records": f.records, "bytes": f.bytes, **f.status,
        "timed": f.timed, "time_us": f.time_us,
        "sites": sorted(f.sites), "paths": sorted(f.paths), **f.cache,
    }
    if f.timed is None:                      # unit not established for this producer
        del out["timed"], out["time_us"]
    return out


def accounting(f: Figures) -> dict[str, Any]:
    return {"status": "ingested", "lines": f.lines, "records": f.records,
            "quarantined": len(f.rejected), "directives": f.directives, "blank": f.blank,
            "too_old": 0}


# A variant identical to the published file (the CRLF variant of a file already in CRLF)
# is not a test of its own: left out at collection, not skipped (CI fails on skips).
CASES = [(fixture, variant) for fixture in FIXTURES for variant in VARIANTS
         if not same_as_published(fixture, variant)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("fixture", "variant"), CASES)
def test_realworld(fixture: str, variant: str, engine: str,
                   ingested: Callable[[str], Ingested]) -> None:
    group = FIXTURES[fixture]
    name, data = variant_file(fixture, variant)
    want = figures(data, group.kind, group.site)
    got = ingested(engine)
    run = got.runs[name]
    assert run.output is not None, f"no JSON from the CLI (exit {run.exit_code}): {run.error}"
    entry = got.files.get(name)
    assert entry is not None, f"{name} not in the JSON files: {[f['name'] for f in run.output['files']]}"

    if variant == CUT:
        assert want.unterminated
        assert (entry["status"], run.exit_code) == ("refused", 3), entry
        assert name not in got.stored, "a refused file left records"
        return

    assert not want.unterminated
    # not a crash nor a usage error: 0, or 3 for a refused file / a missing-day alarm
    assert run.exit_code in (0, 3), run.error
    keys = ("status", "lines", "records", "quarantined", "directives", "blank", "too_old")
    assert {k: entry.get(k) for k in keys} == accounting(want), (
        f"per-file accounting; reason: {entry.get('reason')!r}; rejected lines expected: {want.rejected}")
    assert entry["lines"] == (entry["records"] + entry["quarantined"] + entry["directives"]
                              + entry["blank"] + entry["too_old"])
    stored = got.stored.get(name, {"records": 0})
    expected = expected_store(want)
    if "timed" not in expected:
        stored = {k: v for k, v in stored.items() if k not in ("timed", "time_us")}
    assert stored == expected, "rows in the store's records table"
    assert got.quarantined.get(name, 0) == len(want.rejected), want.rejected
