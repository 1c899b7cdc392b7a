"""When an SFTP file is complete, symlinks, and files that cannot be fetched — against a
real OpenSSH sshd (one per module; file modes honoured even when the tests run as root)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.sources.sftp import SftpSource
from loggest.synth import nginx_cdn_lines, write_log
from tests.e2e.sshd import Sshd

pytestmark = pytest.mark.e2e
SITE = "www.example.gouv.fr"
DAY = "2027-04-25"
LOG = f"{SITE}_{DAY}.log"


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    server = Sshd(honour_modes=True)
    yield server
    server.close()


@pytest.fixture
def account(sshd: Sshd) -> Iterator[Path]:
    for p in sshd.root.iterdir():
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    yield sshd.root


def old(path: Path) -> Path:
    t = time.time() - 3600
    os.utime(path, (t, t), follow_symlinks=False)
    return path


def invoke(sshd: Sshd, tmp: Path, *extra: str, identity: str | None = None) -> tuple[int, dict]:
    args = ["logs", "ingest", "--sftp", sshd.url(), "--identity", identity or str(sshd.client_key),
            "--known-hosts", str(sshd.known_hosts), "--format", "nginx-cdn",
            "--store", f"chdb://{tmp / 'store.chdb'}", "--staging", str(tmp / "staging"), "--json", *extra]
    result = CliRunner().invoke(cli, args)
    out = result.stdout
    return result.exit_code, json.loads(out[out.index("{"):]) if "{" in out else {"output": result.output}


def files(out: dict) -> dict[str, tuple[str, str]]:
    return {f["name"]: (f["status"], f["reason"]) for f in out["files"]}


def manifest(account: Path, data: Path, **override: object) -> Path:
    body = data.read_bytes()
    content = {"site": SITE, "day": DAY, "sequence": 1, "replaces": [], "file": data.name, "lines": 0,
               "size": len(body), "sha256": hashlib.sha256(body).hexdigest(), **override}
    path = account / f"{SITE}_{DAY}.manifest.json"
    path.write_text(json.dumps(content))
    return path


def test_paused_plain_file_stays_pending_until_its_marker(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    lines = list(nginx_cdn_lines(600, SITE))
    log = old(write_log(account / LOG, lines[:200]))              # the writer paused long ago
    code, out = invoke(sshd, tmp_path, "--settle", "0")
    assert code == 0, out
    status, reason = files(out)[LOG]
    assert status == "pending" and "not declared complete" in reason and ".done" in reason
    assert out["totals"]["records"] == 0
    write_log(log, lines)                                          # the writer finishes, then says so
    (account / f"{LOG}.done").write_text("")
    code, out = invoke(sshd, tmp_path, "--settle", "0")
    assert code == 0, out
    assert files(out)[LOG][0] == "ingested" and out["totals"]["records"] == 600


def test_plain_file_matching_its_manifest_is_ingested(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    lines = list(nginx_cdn_lines(300, SITE))
    whole = write_log(tmp_path / LOG, lines)
    manifest(account, whole)
    write_log(account / LOG, lines[:100])                          # still arriving
    code, out = invoke(sshd, tmp_path)
    assert code == 0, out
    status, reason = files(out)[LOG]
    assert status == "pending" and "still arriving" in reason and f"says {whole.stat().st_size:,}" in reason
    shutil.copyfile(whole, account / LOG)                          # fresh, no marker: the manifest says
    code, out = invoke(sshd, tmp_path)
    assert code == 0, out
    assert files(out)[LOG][0] == "ingested" and out["totals"]["records"] == 300
    assert out["manifests"] == [f"{SITE}_{DAY}.manifest.json"]


def test_manifest_with_another_sha256_fails_the_file(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    log = write_log(account / LOG, list(nginx_cdn_lines(50, SITE)))
    manifest(account, log, sha256="0" * 64)
    code, out = invoke(sshd, tmp_path)
    assert code == 3, out
    status, reason = files(out)[LOG]
    assert status == "failed" and "differs from" in reason and "although the size matches" in reason
    assert out["totals"]["records"] == 0


def test_complete_by_rename_takes_a_fresh_plain_file(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    write_log(account / LOG, list(nginx_cdn_lines(40, SITE)))
    write_log(account / f"{SITE}_2027-04-26.log.part", ["half a line"])   # the temporary name: never taken
    code, out = invoke(sshd, tmp_path, "--complete-by", "rename")
    assert code == 0, out
    assert files(out) == {LOG: ("ingested", "")} and out["totals"]["records"] == 40


def test_symlink_to_a_valid_log_is_followed(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    target = old(write_log(tmp_path / "elsewhere.log.gz", list(nginx_cdn_lines(30, SITE))))
    (account / f"{LOG}.gz").symlink_to(target)
    code, out = invoke(sshd, tmp_path, "--settle", "1")
    assert code == 0, out
    assert files(out) == {f"{LOG}.gz": ("ingested", "")} and out["totals"]["records"] == 30


def test_dangling_and_looping_symlinks_are_failed_with_the_reason(sshd: Sshd, account: Path,
                                                                 tmp_path: Path) -> None:
    (account / f"{SITE}_2027-04-24.log.gz").symlink_to(account / "gone.log.gz")
    (account / f"{SITE}_2027-04-25.log.gz").symlink_to(account / f"{SITE}_2027-04-26.log.gz")
    (account / f"{SITE}_2027-04-26.log.gz").symlink_to(account / f"{SITE}_2027-04-25.log.gz")
    code, out = invoke(sshd, tmp_path)
    assert code == 3, out
    got = files(out)
    assert got[f"{SITE}_2027-04-24.log.gz"][0] == "failed"
    assert got[f"{SITE}_2027-04-24.log.gz"][1].startswith("dangling symlink:")
    assert "gone.log.gz, which does not exist" in got[f"{SITE}_2027-04-24.log.gz"][1]
    for day in ("25", "26"):
        status, reason = got[f"{SITE}_2027-04-{day}.log.gz"]
        assert status == "failed" and reason.startswith("symlink loop:")


def test_unreadable_remote_file_is_permission_denied(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    if not sshd.honours_modes:
        pytest.skip("the SFTP server reads mode-000 files (root without setpriv)")
    log = old(write_log(account / f"{LOG}.gz", list(nginx_cdn_lines(10, SITE))))
    log.chmod(0)
    code, out = invoke(sshd, tmp_path)
    assert code == 3, out
    status, reason = files(out)[log.name]
    assert (status, reason) == ("failed", f"permission denied reading {log}")


def test_file_vanished_after_listing(sshd: Sshd, account: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    gone = old(write_log(account / f"{SITE}_2027-04-24.log.gz", list(nginx_cdn_lines(10, SITE))))
    kept = old(write_log(account / f"{LOG}.gz", list(nginx_cdn_lines(20, SITE, seed=2))))
    download = SftpSource.download

    def delete_first(self: SftpSource, remote: str, local: Path, size: int, mtime: float) -> None:
        if remote.endswith(gone.name):
            self.sftp.remove(remote)                          # another client took it meanwhile
        download(self, remote, local, size, mtime)

    monkeypatch.setattr(SftpSource, "download", delete_first)
    code, out = invoke(sshd, tmp_path)
    assert code == 3, out
    assert files(out) == {gone.name: ("failed", f"{gone} vanished from the server after listing"),
                          kept.name: ("ingested", "")}
    assert out["totals"]["ingested"] == 1 and out["totals"]["records"] == 20
    assert not list((tmp_path / "staging").rglob(f"{gone.name}*"))


def test_identity_file_missing_or_unreadable_is_named(sshd: Sshd, account: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_key"
    code, out = invoke(sshd, tmp_path, identity=str(missing))
    assert code == 1 and f"--identity {missing}: no such file" in out["error"]
    garbage = tmp_path / "garbage_key"
    garbage.write_text("not a key\n")
    code, out = invoke(sshd, tmp_path, identity=str(garbage))
    assert code == 1 and f"--identity {garbage}: cannot load the private key" in out["error"]
    locked = tmp_path / "locked_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(locked)],
                   check=True, capture_output=True)
    code, out = invoke(sshd, tmp_path, identity=str(locked))
    assert code == 1 and "encrypted and no passphrase was given" in out["error"]
    wrong = tmp_path / "wrong_passphrase"
    wrong.write_text("not the passphrase\n")
    code, out = invoke(sshd, tmp_path, "--password-file", str(wrong), identity=str(locked))
    assert code == 1 and "wrong passphrase" in out["error"]
