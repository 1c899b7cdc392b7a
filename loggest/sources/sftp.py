"""The SFTP source: list an account's directory, download complete files, resume.

The server's host key must already be in known_hosts (``RejectPolicy``): an unknown
or changed key refuses the connection. A file is taken only when complete: a marker
``NAME.done``/``.ok``/``.complete`` exists, or it has not changed for ``settle`` seconds;
``*.part``/``*.tmp`` names are never taken. Downloads go to ``NAME.part`` in the staging
directory and are renamed when whole; an interrupted download resumes where it stopped
(if the remote file still has the same size and mtime), and the file is then checked
and ingested like any local file.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

import paramiko

from loggest.sources import MARKER_SUFFIXES, SourceFile, is_candidate
from loggest.sources.local import SourceError, ready_state

CHUNK = 1 << 20


class SftpSource:
    def __init__(self, client: paramiko.SSHClient, sftp: paramiko.SFTPClient, url: str, host: str, port: int,
                 directory: str, staging: Path, settle: float,
                 on_chunk: Callable[[str, int], None] | None = None) -> None:
        self.client = client
        self.sftp = sftp
        self.url = url
        self.host = host
        self.port = port
        self.directory = directory
        self.staging = staging
        self.settle = settle
        self.on_chunk = on_chunk
        self.resumed: dict[str, int] = {}      # name → byte offset a download resumed from

    @classmethod
    def connect(cls, url: str, identity: Path | None = None, known_hosts: Path | None = None,
                staging: Path | None = None, settle: float = 5.0, password: str | None = None,
                timeout: float = 15.0, on_chunk: Callable[[str, int], None] | None = None) -> SftpSource:
        parts = urlsplit(url)
        if parts.scheme != "sftp" or not parts.hostname:
            raise SourceError(f"--sftp {url!r}: use sftp://user@host[:port]/directory")
        host, port = parts.hostname, parts.port or 22
        user = unquote(parts.username or "") or None
        directory = unquote(parts.path) or "."
        client = paramiko.SSHClient()
        hosts_file = known_hosts or Path.home() / ".ssh" / "known_hosts"
        try:
            client.load_host_keys(str(hosts_file))
        except OSError as exc:
            raise SourceError(
                f"cannot read known_hosts {hosts_file}: {exc.strerror}; the server's host key "
                "must be known before connecting (ssh-keyscan, then check the fingerprint)"
            ) from None
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        where = f"{host}:{port}"
        try:
            client.connect(
                host,
                port=port,
                username=user,
                key_filename=str(identity) if identity else None,
                password=password,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                allow_agent=identity is None,
                look_for_keys=identity is None,
            )
            sftp = client.open_sftp()
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise SourceError(
                f"host key of {where} CHANGED: got {exc.key.get_name()} "
                f"{exc.key.fingerprint}, {hosts_file} expects {exc.expected_key.fingerprint}; "
                "refusing to connect (possible interception, or the server was reinstalled)"
            ) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise SourceError(f"SFTP login to {where} as {user or 'current user'} refused: {exc}") from None
        except paramiko.SSHException as exc:
            client.close()
            text = str(exc)
            if "not found in known_hosts" in text:
                raise SourceError(
                    f"host key of {where} is not in {hosts_file}: refusing to connect to an "
                    "unknown server (add its key after checking the fingerprint)"
                ) from None
            raise SourceError(f"SFTP connection to {where} failed: {text}") from None
        except OSError as exc:
            client.close()
            raise SourceError(f"SFTP connection to {where} failed: {exc.strerror or exc}") from None
        tag = hashlib.sha256(f"{host}:{port}:{user}:{directory}".encode()).hexdigest()[:12]
        place = (staging or Path.cwd() / "staging") / f"{host}_{port}_{tag}"
        place.mkdir(parents=True, exist_ok=True)
        return cls(client, sftp, url, host, port, directory, place, settle, on_chunk)

    def __enter__(self) -> SftpSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.sftp.close()
        self.client.close()

    def files(self) -> Iterator[SourceFile]:
        try:
            entries = self.sftp.listdir_attr(self.directory)
        except OSError as exc:
            raise SourceError(f"cannot list {self.url}: {exc.strerror or exc}") from None
        names = {e.filename for e in entries}
        for entry in sorted(entries, key=lambda e: e.filename):
            if not stat.S_ISREG(entry.st_mode or 0) or not is_candidate(entry.filename):
                continue
            name = entry.filename
            remote = f"{self.directory.rstrip('/')}/{name}"
            source = f"sftp://{self.host}:{self.port}{remote}"
            size, mtime = int(entry.st_size or 0), float(entry.st_mtime or 0)
            marker = any(name + s in names for s in MARKER_SUFFIXES)
            ready, why = ready_state(marker, mtime, self.settle)
            local = self.staging / name
            if not ready:
                yield SourceFile(name, local, source, size, False, why)
                continue
            try:
                self.download(remote, local, size, mtime)
            except (OSError, EOFError, paramiko.SSHException) as exc:
                part = local.with_name(local.name + ".part")
                got = part.stat().st_size if part.exists() else 0
                yield SourceFile(
                    name,
                    local,
                    source,
                    size,
                    False,
                    failed=f"download interrupted after {got} of {size} bytes ({exc or type(exc).__name__})"
                    "; the next run resumes it",
                )
                continue
            yield SourceFile(name, local, source, size)

    def download(self, remote: str, local: Path, size: int, mtime: float) -> None:
        if local.exists() and local.stat().st_size == size and int(local.stat().st_mtime) == int(mtime):
            return  # already downloaded whole
        part = local.with_name(local.name + ".part")
        meta = local.with_name(local.name + ".part.json")
        want = {"size": size, "mtime": mtime}
        offset = 0
        if part.exists() and meta.exists():
            try:
                same = json.loads(meta.read_text()) == want
            except ValueError:
                same = False
            offset = part.stat().st_size if same and part.stat().st_size <= size else 0
        meta.write_text(json.dumps(want))
        if offset:
            self.resumed[local.name] = offset
        with self.sftp.open(remote, "rb") as rf, part.open("ab" if offset else "wb") as lf:
            rf.seek(offset)
            rf.prefetch(size - offset) if size > offset else None
            done = offset
            while done < size:
                chunk = rf.read(min(CHUNK, size - done))
                if not chunk:
                    raise EOFError(f"{remote} ended at {done} bytes, expected {size}")
                lf.write(chunk)
                done += len(chunk)
                if self.on_chunk:
                    self.on_chunk(local.name, done)
            lf.flush()
            os.fsync(lf.fileno())
        os.utime(part, (time.time(), mtime))
        part.replace(local)
        meta.unlink(missing_ok=True)
