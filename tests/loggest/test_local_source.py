"""The local source: symlinks followed (dangling ones and loops reported, not skipped) and
when a file is complete (``--complete-by``; ``--settle`` is the local default heuristic)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.sources import proofs
from loggest.sources.local import SourceError, local_files
from loggest.synth import nginx_cdn_lines, write_log

SITE = "www.example.gouv.fr"
LOG = f"{SITE}_2027-04-25.log"


def old(path: Path) -> Path:
    t = time.time() - 3600
    os.utime(path, (t, t))
    return path


def by_name(paths: list[Path], **kw: object) -> dict[str, tuple[bool, str, str]]:
    return {f.name: (f.ready, f.why_not_ready, f.failed) for f in local_files(paths, **kw)}  # type: ignore[arg-type]


def test_symlinked_log_is_ingested(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    target = old(write_log(tmp_path / "real.log.gz", list(nginx_cdn_lines(25, SITE))))
    (logs / f"{LOG}.gz").symlink_to(target)
    (logs / "subdir-link").symlink_to(tmp_path)                     # a link to a directory: not a file
    result = CliRunner().invoke(cli, ["logs", "ingest", "--format", "nginx-cdn", "--json",
                                      "--store", f"chdb://{tmp_path / 'store.chdb'}", str(logs)])
    out = json.loads(result.stdout[result.stdout.index("{"):])
    assert result.exit_code == 0, out
    assert [(f["name"], f["status"]) for f in out["files"]] == [(f"{LOG}.gz", "ingested")]
    assert out["totals"]["records"] == 25


def test_dangling_and_looping_symlinks_are_failed(tmp_path: Path) -> None:
    (tmp_path / "a.log").symlink_to(tmp_path / "missing.log")
    (tmp_path / "b.log").symlink_to("c.log")
    (tmp_path / "c.log").symlink_to("b.log")
    got = by_name([tmp_path], settle=0)
    assert got["a.log"][:2] == (False, "")
    assert got["a.log"][2] == f"dangling symlink: {tmp_path / 'a.log'} -> {tmp_path / 'missing.log'}, which does not exist"
    assert got["b.log"][2] == f"symlink loop: {tmp_path / 'b.log'} -> c.log leads back to itself"
    assert got["c.log"][2].startswith("symlink loop:")
    # named on the command line: reported the same way, not 'no such file'
    assert by_name([tmp_path / "a.log"])["a.log"][2].startswith("dangling symlink:")
    with pytest.raises(SourceError, match="no such file or directory"):
        list(local_files([tmp_path / "nothing.log"]))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file (mode 000 included)")
def test_unreadable_file_is_permission_denied(tmp_path: Path) -> None:
    log = old(write_log(tmp_path / LOG, ["x"]))
    log.chmod(0)
    try:
        assert by_name([tmp_path])[LOG] == (False, "", f"permission denied reading {log}")
    finally:
        log.chmod(0o644)


def test_settle_is_the_local_default_and_marker_mode_waits_for_the_producer(tmp_path: Path) -> None:
    old(write_log(tmp_path / LOG, list(nginx_cdn_lines(5, SITE))))
    assert by_name([tmp_path], settle=60)[LOG] == (True, "", "")           # heuristic: unchanged long enough
    ready, why, _ = by_name([tmp_path], settle=60, complete_by="marker")[LOG]
    assert not ready and "not declared complete" in why and "manifest" not in why
    (tmp_path / f"{LOG}.ok").write_text("")
    assert by_name([tmp_path], settle=60, complete_by="marker")[LOG] == (True, "", "")
    write_log(tmp_path / f"{SITE}_2027-04-26.log", ["fresh"])
    assert by_name([tmp_path], complete_by="rename")[f"{SITE}_2027-04-26.log"] == (True, "", "")


def test_local_manifest_is_checked(tmp_path: Path) -> None:
    body = "".join(line + "\n" for line in nginx_cdn_lines(20, SITE)).encode()
    manifest = tmp_path / f"{SITE}_2027-04-25.manifest.json"
    spec = {"site": SITE, "day": "2027-04-25", "sequence": 1, "file": LOG, "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest()}
    manifest.write_text(json.dumps(spec))
    (tmp_path / LOG).write_bytes(body[:100])
    ready, why, _ = by_name([tmp_path], settle=60)[LOG]
    assert not ready and "still arriving" in why
    (tmp_path / LOG).write_bytes(body)                                       # fresh, but published whole
    assert by_name([tmp_path], settle=60)[LOG] == (True, "", "")
    assert by_name([tmp_path], settle=60)[manifest.name] == (True, "", "")   # whole JSON
    manifest.write_text(json.dumps({**spec, "sha256": "f" * 64}))
    ready, why, failed = by_name([tmp_path], settle=60)[LOG]
    assert not ready and "differs from" in failed
    manifest.write_text(json.dumps(spec)[:30])                               # a manifest still being written
    ready, why, _ = by_name([tmp_path], settle=60)[manifest.name]
    assert not ready and "may still be being written" in why


def test_proofs_per_source() -> None:
    assert proofs("auto", remote=True) == {"marker", "manifest"}
    assert proofs("auto", remote=False) == {"marker", "manifest", "settle"}
    assert proofs("rename", remote=True) == {"marker", "rename"}
    with pytest.raises(ValueError, match="complete_by"):
        proofs("size", remote=False)
