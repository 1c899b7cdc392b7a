"""The SFTP source: list an account's directory, download complete files, resume.

The server's host key must already be in known_hosts (``RejectPolicy``): an unknown
or changed key refuses the connection. A file is taken only when complete (see
:mod:`loggest.sources`; default over SFTP: a gzip once unchanged for ``settle`` seconds,
a plain file only with a marker ``NAME.done``/``.ok``/``.complete`` or a publication
manifest that names it with its size and sha256 — ``complete_by="rename"`` when the
producer renames from a temporary name); ``*.part``/``*.tmp`` names are never taken.
Symlinks are followed (``stat``); a dangling one or a loop is a failed file with the
reason. Downloads go to ``NAME.part`` in the staging directory and are renamed when
whole; an interrupted download resumes where it stopped (if the remote file still has
the same size and mtime), and the file is then checked and ingested like any local file.
A file that cannot be read (permission denied) or vanished after the listing is failed
with that reason, not presented as an interrupted download.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import paramiko
from paramiko.pkey import UnknownKeyType

from loggest.scan import GZIP_MAGIC, checksum
from loggest.sources import (
    MARKER_SUFFIXES,
    MAX_LINKS,
    SourceFile,
    is_candidate,
    judge,
    manifest_candidates,
    parse_manifest,
    proofs,
)
from loggest.sources.local import SourceError

CHUNK = 1 << 20
Attrs = paramiko.SFTPAttributes
_FETCH_ERRORS = (OSError, EOFError, paramiko.SSHException)


def load_identity(identity: Path, passphrase: str | None = None) -> paramiko.PKey:
    """The private key of ``--identity``; errors name the file and say what is wrong."""
    if not identity.exists():
        raise SourceError(f"--identity {identity}: no such file")
    try:
        try:
            return paramiko.PKey.from_path(identity)
        except TypeError:                       # encrypted: needs its passphrase
            if passphrase is None:
                raise SourceError(
                    f"--identity {identity}: the private key is encrypted and no passphrase was given "
                    "(load it into ssh-agent, or give the passphrase with --password-file)"
                ) from None
            return paramiko.PKey.from_path(identity, passphrase.encode())
    except OSError as exc:
        raise SourceError(f"--identity {identity}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, TypeError, UnknownKeyType, paramiko.SSHException) as exc:
        raise SourceError(
            f"--identity {identity}: cannot load the private key: wrong passphrase, or not an "
            f"OpenSSH/PEM private key of a supported type (RSA, ECDSA, Ed25519) ({exc})"
        ) from None


class SftpSource:
    def __init__(self, client: paramiko.SSHClient, sftp: paramiko.SFTPClient, url: str, host: str, port: int,
                 directory: str, staging: Path, settle: float,
                 on_chunk: Callable[[str, int], None] | None = None, complete_by: str = "auto") -> None:
        self.client = client
        self.sftp = sftp
        self.url = url
        self.host = host
        self.port = port
        self.directory = directory
        self.staging = staging
        self.settle = settle
        self.on_chunk = on_chunk
        self.accepted = proofs(complete_by, remote=True)
        self.resumed: dict[str, int] = {}      # name → byte offset a download resumed from

    @classmethod
    def connect(cls, url: str, identity: Path | None = None, known_hosts: Path | None = None,
                staging: Path | None = None, settle: float = 5.0, password: str | None = None,
                timeout: float = 15.0, on_chunk: Callable[[str, int], None] | None = None,
                complete_by: str = "auto") -> SftpSource:
        parts = urlsplit(url)
        if parts.scheme != "sftp" or not parts.hostname:
            raise SourceError(f"--sftp {url!r}: use sftp://user@host[:port]/directory")
        proofs(complete_by, remote=True)       # a bad value fails before connecting
        host, port = parts.hostname, parts.port or 22
        user = unquote(parts.username or "") or None
        directory = unquote(parts.path) or "."
        pkey = load_identity(identity, password) if identity else None
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
                pkey=pkey,
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
        return cls(client, sftp, url, host, port, directory, place, settle, on_chunk, complete_by)

    def __enter__(self) -> SftpSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.sftp.close()
        self.client.close()

    def remote(self, name: str) -> str:
        return f"{self.directory.rstrip('/')}/{name}"

    def files(self) -> Iterator[SourceFile]:
        try:
            entries = self.sftp.listdir_attr(self.directory)
        except OSError as exc:
            raise SourceError(f"cannot list {self.url}: {exc.strerror or exc}") from None
        listing = {e.filename: e for e in entries}
        manifests: dict[str, dict[str, Any] | None] = {}
        for name in sorted(listing):
            if not is_candidate(name):
                continue
            remote = self.remote(name)
            local = self.staging / name
            source = f"sftp://{self.host}:{self.port}{remote}"
            size = int(listing[name].st_size or 0)
            try:
                found = self._file(name, remote, local, source, listing, manifests)
            except _FETCH_ERRORS as exc:
                why = self._why_failed(exc, remote, local, size)
                found = SourceFile(name, local, source, size, False, failed=why)
            if found is not None:
                yield found

    def _file(self, name: str, remote: str, local: Path, source: str, listing: dict[str, Attrs],
              manifests: dict[str, dict[str, Any] | None]) -> SourceFile | None:
        attrs: Attrs | None = self._follow(listing[name], remote)
        if attrs is None:
            return SourceFile(name, local, source, 0, False, failed=self._link_problem(remote))
        if not stat.S_ISREG(attrs.st_mode or 0):
            return None                        # directories, links to them, devices
        size, mtime = int(attrs.st_size or 0), float(attrs.st_mtime or 0)

        def manifest(m: str) -> dict[str, Any] | None:
            if m not in manifests:
                manifests[m] = None
                try:
                    m_attrs = self._follow(listing[m], self.remote(m))
                    if m_attrs is not None and stat.S_ISREG(m_attrs.st_mode or 0):
                        m_local = self.staging / m
                        self.download(self.remote(m), m_local, int(m_attrs.st_size or 0),
                                      float(m_attrs.st_mtime or 0))
                        manifests[m] = parse_manifest(m_local.read_bytes())
                except _FETCH_ERRORS:
                    pass                       # no usable manifest (its own entry says why)
            return manifests[m]

        def manifest_for() -> tuple[str, dict[str, Any]] | None:
            for m in manifest_candidates(name, listing):
                data = manifest(m)
                if data is not None and data.get("file") == name:
                    return m, data
            return None

        verdict = judge(name, size, mtime, accepted=self.accepted, settle=self.settle,
                        has_marker=any(name + s in listing for s in MARKER_SUFFIXES),
                        is_gzip=lambda: self._is_gzip(remote, local, size, mtime),
                        manifest_for=manifest_for, is_whole_json=lambda: manifest(name) is not None)
        if not verdict.ready:
            return SourceFile(name, local, source, size, False, verdict.why)
        self.download(remote, local, size, mtime)
        if verdict.expect is not None:
            why, failed = verdict.expect.mismatch(*checksum(local))
            if why or failed:
                local.unlink(missing_ok=True)  # fetched again next run
                return SourceFile(name, local, source, size, False, why, failed)
        return SourceFile(name, local, source, size)

    def _follow(self, attrs: Attrs, remote: str) -> Attrs | None:
        """The attributes of the file itself (``listdir_attr`` does not follow symlinks);
        None when a symlink cannot be followed (see :meth:`_link_problem`)."""
        if not stat.S_ISLNK(attrs.st_mode or 0):
            return attrs
        try:
            return self.sftp.stat(remote)      # follows
        except PermissionError:
            raise
        except OSError:
            return None

    def _link_problem(self, remote: str) -> str:
        """Walk the chain of links to say why ``remote`` cannot be followed (the server maps
        ELOOP and ENOENT to the same 'no such file' status)."""
        chain = [remote]
        current = remote
        while len(chain) <= MAX_LINKS:
            try:
                target = self.sftp.readlink(current)
            except OSError as exc:
                return f"cannot follow symlink {' -> '.join(chain)}: {exc}"
            if target is None:
                break
            current = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
            if current in chain:
                return f"symlink loop: {' -> '.join([*chain, current])}"
            chain.append(current)
            try:
                attrs = self.sftp.lstat(current)
            except FileNotFoundError:
                return f"dangling symlink: {' -> '.join(chain)}, which does not exist"
            except OSError as exc:
                return f"cannot follow symlink {' -> '.join(chain)}: {exc}"
            if not stat.S_ISLNK(attrs.st_mode or 0):
                return f"cannot follow symlink {' -> '.join(chain)}"
        return f"symlink loop: more than {MAX_LINKS} links from {remote}"

    def _is_gzip(self, remote: str, local: Path, size: int, mtime: float) -> bool:
        if self._have(local, size, mtime):
            with local.open("rb") as f:
                return f.read(2) == GZIP_MAGIC
        with self.sftp.open(remote, "rb") as rf:
            return rf.read(2) == GZIP_MAGIC

    @staticmethod
    def _why_failed(exc: BaseException, remote: str, local: Path, size: int) -> str:
        part = local.with_name(local.name + ".part")
        if isinstance(exc, OSError) and exc.filename is None:     # from the server (paramiko sets none)
            if isinstance(exc, PermissionError):
                return f"permission denied reading {remote}"
            if isinstance(exc, FileNotFoundError):
                part.unlink(missing_ok=True)
                local.with_name(local.name + ".part.json").unlink(missing_ok=True)
                return f"{remote} vanished from the server after listing"
        elif isinstance(exc, OSError):
            return f"staging {exc.filename}: {exc.strerror or exc}"
        got = part.stat().st_size if part.exists() else 0
        return (f"download interrupted after {got} of {size} bytes ({exc or type(exc).__name__})"
                "; the next run resumes it")

    @staticmethod
    def _have(local: Path, size: int, mtime: float) -> bool:
        """Already downloaded whole (same size and mtime as listed)."""
        try:
            st = local.stat()
        except OSError:
            return False
        return st.st_size == size and int(st.st_mtime) == int(mtime)

    def download(self, remote: str, local: Path, size: int, mtime: float) -> None:
        if self._have(local, size, mtime):
            return
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
        with self.sftp.open(remote, "rb") as rf:
            meta.write_text(json.dumps(want))
            if offset:
                self.resumed[local.name] = offset
            with part.open("ab" if offset else "wb") as lf:
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
