"""`cdnctl logs ingest --sftp` against a real OpenSSH sshd on loopback (paramiko client,
host keys checked against known_hosts with RejectPolicy)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.formats import resolve_format
from loggest.ingest import IngestOptions, ingest
from loggest.sources.local import SourceError
from loggest.sources.sftp import SftpSource
from loggest.store import open_store
from loggest.synth import nginx_cdn_lines, write_log
from tests.e2e.sshd import Sshd, keygen

pytestmark = pytest.mark.e2e
SITE = "www.example.gouv.fr"


@pytest.fixture
def account(sshd: Sshd) -> Iterator[Path]:
    for p in sshd.root.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    yield sshd.root


def old(path: Path) -> Path:
    t = time.time() - 3600
    os.utime(path, (t, t))
    return path


def invoke(sshd: Sshd, tmp: Path, *extra: str, known_hosts: Path | None = None) -> tuple[int, dict]:
    args = ["logs", "ingest", "--sftp", sshd.url(), "--identity", str(sshd.client_key),
            "--known-hosts", str(known_hosts or sshd.known_hosts), "--format", "nginx-cdn",
            "--store", f"chdb://{tmp / 'store.chdb'}", "--staging", str(tmp / "staging"), "--json", *extra]
    result = CliRunner().invoke(cli, args)
    out = result.stdout
    return result.exit_code, json.loads(out[out.index("{"):]) if "{" in out else {"output": result.output}


def test_ingest_complete_files_leave_partial_ones(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    old(write_log(account / f"{SITE}_2027-04-24.log.gz", list(nginx_cdn_lines(300, SITE))))
    fresh = write_log(account / f"{SITE}_2027-04-25.log.gz", list(nginx_cdn_lines(200, SITE, seed=2)))
    (account / f"{SITE}_2027-04-25.log.gz.done").write_text("")        # complete although just written
    write_log(account / f"{SITE}_2027-04-26.log.gz", list(nginx_cdn_lines(50, SITE, seed=3)))   # being written
    old(write_log(account / f"{SITE}_2027-04-27.log.gz.part", ["partial"]))                    # never taken
    assert fresh.exists()
    code, out = invoke(sshd, tmp_path, "--settle", "60")
    assert code == 0, out
    status = {f["name"]: f["status"] for f in out["files"]}
    assert status == {f"{SITE}_2027-04-24.log.gz": "ingested", f"{SITE}_2027-04-25.log.gz": "ingested",
                      f"{SITE}_2027-04-26.log.gz": "pending"}
    assert out["totals"]["records"] == 500
    code, out = invoke(sshd, tmp_path, "--settle", "0")                  # now complete; others skipped
    assert code == 0 and [f["status"] for f in out["files"]] == ["skipped", "skipped", "ingested"]
    assert out["totals"]["records"] == 50


def test_unknown_host_key_is_refused(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    code, out = invoke(sshd, tmp_path, known_hosts=empty)
    assert code == 1 and out["ok"] is False
    assert "is not in" in out["error"] and "refusing to connect to an unknown server" in out["error"]


def test_changed_host_key_is_refused(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other_host")
    changed = tmp_path / "known_hosts"
    changed.write_text(f"[127.0.0.1]:{sshd.port} {other}\n")
    code, out = invoke(sshd, tmp_path, known_hosts=changed)
    assert code == 1 and "CHANGED" in out["error"] and "refusing to connect" in out["error"]


def test_dropped_connection_mid_file_then_resume(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    big = old(write_log(account / f"{SITE}_2027-04-25.log", list(nginx_cdn_lines(40_000, SITE))))
    (account / f"{big.name}.done").write_text("")     # a plain file over SFTP needs its producer's word
    size = big.stat().st_size
    dropped: list[int] = []

    def drop_once(_name: str, done: int) -> None:
        if not dropped and done >= 2 << 20:
            dropped.append(done)
            sshd.drop_connections()

    with open_store(f"chdb://{tmp_path / 'store.chdb'}") as store:
        opts = IngestOptions(resolve_format("nginx-cdn"))
        with SftpSource.connect(sshd.url(), identity=sshd.client_key, known_hosts=sshd.known_hosts,
                                staging=tmp_path / "staging", settle=0, on_chunk=drop_once) as src:
            first = ingest(store, src.files(), opts)
        assert dropped and first.files[0].status == "failed"
        assert "download interrupted" in first.files[0].reason and "resumes" in first.files[0].reason
        assert store.rows("SELECT count() FROM records")[0][0] == 0
        with SftpSource.connect(sshd.url(), identity=sshd.client_key, known_hosts=sshd.known_hosts,
                                staging=tmp_path / "staging", settle=0) as src:
            second = ingest(store, src.files(), opts)
            resumed_at = src.resumed.get(big.name, 0)
        assert second.files[0].status == "ingested" and second.records == 40_000
        assert 0 < resumed_at < size                          # continued, not restarted
        assert (tmp_path / "staging").rglob(big.name)


def test_library_rejects_bad_url() -> None:
    with pytest.raises(SourceError, match="sftp://user@host"):
        SftpSource.connect("ftp://example.org/x")
