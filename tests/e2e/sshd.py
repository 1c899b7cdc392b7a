"""A real OpenSSH sshd for the SFTP tests, on a free loopback port, as the current user.

Measured needs: ``/run/sshd`` must exist, sshd is started by its absolute path, and
``StrictModes no`` because the key files live in a temp dir. Public-key login only; the
client key and the host key are generated with ``ssh-keygen`` for each server.

``Sshd(honour_modes=True)``: when the tests run as root (CI containers), root reads a
``chmod 000`` file anyway; the SFTP server is then run with CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH dropped (``setpriv``), so file modes deny it as they would deny a
real account (``honours_modes`` says whether they do).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cdnctl-test", "-f", str(path)],
                   check=True, capture_output=True)
    return Path(f"{path}.pub").read_text().strip()


class Sshd:
    def __init__(self, honour_modes: bool = False) -> None:
        if not (os.path.exists(SSHD) and shutil.which("ssh-keygen")):
            pytest.skip("openssh-server is not installed (.ci/run installs it)")
        self.dir = Path(tempfile.mkdtemp(prefix="cdnctl-sshd-"))
        self.user = getpass.getuser()
        self.port = free_port()
        self.host_key = self.dir / "host_ed25519"
        self.host_pub = keygen(self.host_key)
        self.client_key = self.dir / "client_ed25519"
        client_pub = keygen(self.client_key)
        (self.dir / "authorized_keys").write_text(client_pub + "\n")
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {self.host_pub}\n")
        self.root = self.dir / "account"
        self.root.mkdir()
        subsystem = "internal-sftp"
        self.honours_modes = os.geteuid() != 0
        if honour_modes and not self.honours_modes and shutil.which("setpriv") and os.path.exists(SFTP_SERVER):
            subsystem = f"{shutil.which('setpriv')} --bounding-set -dac_override,-dac_read_search {SFTP_SERVER}"
            self.honours_modes = True
        config = self.dir / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"PidFile {self.dir / 'sshd.pid'}", f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
            "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password", "UsePAM no", "StrictModes no",
            f"Subsystem sftp {subsystem}", "LogLevel ERROR", "",
        ]))
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        self.log = (self.dir / "sshd.log").open("w")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.dir / 'sshd.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not listen within 10 s")

    def url(self, sub: str = "") -> str:
        return f"sftp://{self.user}@127.0.0.1:{self.port}{self.root / sub if sub else self.root}"

    def drop_connections(self) -> None:
        """Kill the per-connection sshd processes (children of our sshd): a dropped link."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        for pid in children.read_text().split() if children.exists() else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
