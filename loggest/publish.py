"""Publish the edge nodes' access logs to each site (the provider's side of SPEC §3).

For a Paris day D: read every node log file of a directory (any format the format layer
parses), keep the lines of day D, split them by site, and write one W3C extended file
per configured site, ``SITE_D.log.gz`` (headers only when the site had no traffic),
with a manifest ``SITE_D.manifest.json`` (sequence number, line count, sha256). Then,
per site: upload both to the site's SFTP account atomically (``NAME.part``, then a
POSIX rename; the data file before its manifest), and send the e-mail notice.

Files are byte-for-byte deterministic (gzip without name or time), so re-publishing
an unchanged day gives the same sha256 and keeps its sequence number; a changed day
gets the next number, and its manifest lists the numbers it ``replaces`` so that the
ingest side does not take them for a gap. The sequence state and what was already
uploaded and notified are kept in ``OUT/state.json``: a re-run after any crash
finishes what is missing (upload, rename, notice) and nothing more.

One run at a time: a run holds ``flock(OUT/.publish.lock)`` from start to end (released
by the kernel when the process dies, however it dies); another run waits up to
``wait`` seconds, then stops with ``PublishLocked`` before touching anything. Every
local file (data, manifest, state) is written under a unique temporary name in its
directory, fsynced, then renamed over the final name, so no reader ever sees a partial
file; the data file's sha256 is checked against its manifest right before the upload
and the bytes sent are hashed again before the remote rename.

Notices go through an outbox kept in the state, one entry per (site, day, sequence)
with a stable Message-ID ``<cdnctl-SITE-DAY-SEQ@DOMAIN>``: ``pending`` → ``sending``
(saved before the message is handed to the server) → ``sent`` (saved as soon as the
server answered 250 to DATA, before QUIT). An entry found ``sending`` was interrupted
with its outcome unknown; it is sent again with the same Message-ID, so the one
possible duplicate is recognisable.

The first part of this module is pure (config, split, manifest, sequence decision); the
SFTP and SMTP I/O is at the end.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import hashlib
import io
import json
import os
import socket
import tempfile
import time as clock
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import IO, Any

import yaml

from loggest.export import W3C_FIELDS, _v
from loggest.formats import FormatError, LogFormat, resolve_format
from loggest.formats.convert import LineError
from loggest.formats.model import COL
from loggest.formats.reference import clean_line
from loggest.ingest import open_lines
from loggest.sources import MANIFEST_SUFFIX, is_candidate
from loggest.synth import PARIS

TEMP_SUFFIX = ".part"           # never taken by the ingest side (loggest.sources)
LOCK_NAME = ".publish.lock"


class PublishError(Exception):
    """Configuration or input that cannot be used (message says which and why)."""


class PublishLocked(PublishError):
    """Another run holds the output directory's lock: nothing was done."""


# ---- local files: one run at a time, atomic writes ----

def _file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_beside(final: Path) -> tuple[int, Path]:
    """A new file with a unique name in ``final``'s directory (``.NAME.XXXX.part``)."""
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=TEMP_SUFFIX)
    os.fchmod(fd, _file_mode())
    return fd, Path(tmp)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` so that a reader (or a later run) sees the old or the new bytes, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _remove_temp_files(directory: Path) -> None:
    """Temp files of runs that died (only called with the lock held: no other run writes)."""
    if directory.is_dir():
        for p in directory.glob(f"*{TEMP_SUFFIX}"):
            if p.is_file():
                p.unlink(missing_ok=True)


@contextlib.contextmanager
def publish_lock(out: Path, wait: float = 0.0) -> Iterator[Path]:
    """Hold ``OUT/.publish.lock`` (flock, exclusive) for the block; wait up to ``wait`` s for it.

    The lock file is never removed (removing it would let two runs lock two different
    files); it holds the current holder's pid, host and start time, for the message.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = clock.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
            if clock.monotonic() >= deadline:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                waited = f" (still held after waiting {wait:g} s)" if wait > 0 else ""
                raise PublishLocked(
                    f"another 'logs publish' is running on {out} ({holder or 'holder unknown'}){waited}: "
                    f"nothing done; run again when it has finished (lock {path})")
            clock.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, (f"pid {os.getpid()} on {socket.gethostname()}, since "
                       f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n").encode(), 0)
        yield path
    finally:
        os.close(fd)           # releases the lock


# ---- configuration ----

@dataclass
class SiteTarget:
    site: str
    sftp: str
    recipients: list[str] = field(default_factory=list)
    identity: Path | None = None
    known_hosts: Path | None = None


@dataclass
class PublishConfig:
    logs: Path | None
    format: str
    out: Path
    sites: dict[str, SiteTarget]
    mail_from: str = ""
    smtp: str = ""


def _path(value: object, base: Path) -> Path | None:
    if value in (None, ""):
        return None
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else base / p


def load_config(path: Path) -> PublishConfig:
    """Read a publish config (see examples/publish.yaml); relative paths are relative to it."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise PublishError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PublishError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise PublishError(f"{path}: expected a mapping at the top")
    base = path.resolve().parent
    ssh = raw.get("ssh") or {}
    mail = raw.get("mail") or {}
    if not isinstance(ssh, dict) or not isinstance(mail, dict):
        raise PublishError(f"{path}: 'ssh' and 'mail' must be mappings")
    sites_raw = raw.get("sites")
    if not isinstance(sites_raw, dict) or not sites_raw:
        raise PublishError(f"{path}: 'sites' must map each site host name to its sftp account and recipients")
    sites: dict[str, SiteTarget] = {}
    for name, conf in sites_raw.items():
        if not isinstance(conf, dict) or not str(conf.get("sftp", "")).startswith("sftp://"):
            raise PublishError(f"{path}: sites.{name}.sftp: use sftp://user@host[:port]/directory")
        rcpt = conf.get("recipients") or []
        if isinstance(rcpt, str):
            rcpt = [rcpt]
        site = str(name).lower()
        sites[site] = SiteTarget(
            site, str(conf["sftp"]), [str(r) for r in rcpt],
            _path(conf.get("identity", ssh.get("identity")), base),
            _path(conf.get("known_hosts", ssh.get("known_hosts")), base),
        )
    needs_mail = any(t.recipients for t in sites.values())
    smtp = str(mail.get("smtp") or "")
    if needs_mail and not (smtp.startswith(("smtp://", "smtps://")) and mail.get("from")):
        raise PublishError(f"{path}: mail.from and mail.smtp (smtp://host:587, STARTTLS) are needed "
                           "to send the notices")
    out = _path(raw.get("out"), base)
    if out is None:
        raise PublishError(f"{path}: 'out' (local directory for the files and the sequence state) "
                           "is required")
    return PublishConfig(_path(raw.get("logs"), base), str(raw.get("format") or "nginx-cdn"), out, sites,
                         str(mail.get("from") or ""), smtp)


# ---- split (pure: local files in, local files out) ----

def file_name(site: str, day: date) -> str:
    return f"{site}_{day.isoformat()}.log.gz"


def manifest_name(site: str, day: date) -> str:
    return f"{site}_{day.isoformat()}{MANIFEST_SUFFIX}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    lo = datetime.combine(day, time(), PARIS).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=1), time(), PARIS).astimezone(UTC)
    return lo, hi


def w3c_line(row: list[Any], edge: str) -> str:
    t = row[COL["time"]]
    tt = row[COL["time_taken_us"]]
    taken = "-" if tt is None else f"{tt / 1_000_000:.6f}"
    vals = [row[COL[c]] for c in ("client", "method", "path", "query", "status", "bytes")]
    rest = [row[COL[c]] for c in ("protocol", "referer", "user_agent", "cache_status", "site")]
    return " ".join([f"{t:%Y-%m-%d}", f"{t:%H:%M:%S}", *map(_v, vals), taken, *map(_v, rest),
                     _v(row[COL["edge"]] or edge)])


def _gzip_writer(fd: int) -> tuple[IO[bytes], gzip.GzipFile]:
    raw = os.fdopen(fd, "wb")
    # no file name, mtime 0: the same lines always give the same bytes (and sha256)
    return raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)


@dataclass
class SplitResult:
    day: date
    lines: dict[str, int]                    # site → lines written
    files: dict[str, Path]                   # site → local W3C file
    read: int = 0                            # lines read from the node logs
    other_days: int = 0                      # lines of other days (ignored)
    unparsed: int = 0                        # lines the format could not parse (not published)
    unconfigured: dict[str, int] = field(default_factory=dict)   # site without a publish target → lines
    inputs: list[str] = field(default_factory=list)


def node_files(logs: Path) -> list[Path]:
    if logs.is_file():
        return [logs]
    if not logs.is_dir():
        raise PublishError(f"node logs {logs}: no such file or directory")
    return sorted(p for p in logs.iterdir() if p.is_file() and is_candidate(p.name))


def split_day(inputs: Iterable[Path], fmt: LogFormat, day: date, sites: Iterable[str],
              out: Path) -> SplitResult:
    """Stream the node logs once; write ``out/SITE_D.log.gz`` for every site in ``sites``.

    Lines keep their order (node files by name, then line order). The edge name
    (``s-computername``) is the node file's name up to its first dot when the format has
    no edge field.
    """
    lo, hi = day_bounds(day)
    out.mkdir(parents=True, exist_ok=True)
    wanted = sorted(set(sites))
    result = SplitResult(day, dict.fromkeys(wanted, 0), {})
    writers: dict[str, tuple[IO[bytes], gzip.GzipFile, Path, Path]] = {}
    header = (f"#Software: cdnctl\n#Version: 1.0\n#Date: {lo:%Y-%m-%d %H:%M:%S}\n"
              f"#Remark: Europe/Paris day {day}\n#Fields: {W3C_FIELDS}\n")
    try:
        for site in wanted:
            final = out / file_name(site, day)
            fd, tmp = _temp_beside(final)      # unique: a killed run's leftover is never reused
            raw, gz = _gzip_writer(fd)
            writers[site] = (raw, gz, tmp, final)
            gz.write((header + f"#Remark: site {site}\n").encode())
        for path in inputs:
            result.inputs.append(str(path))
            edge = path.name.split(".", 1)[0]
            parser = fmt.parser(None)
            with open_lines(path) as f:
                for raw_line in f:
                    text = clean_line(raw_line[:-1] if raw_line.endswith(b"\n") else raw_line)
                    if not text.strip():
                        continue
                    try:
                        row = parser.parse(text)
                    except LineError:
                        result.read += 1
                        result.unparsed += 1
                        continue
                    if row is None:
                        continue
                    result.read += 1
                    t = row[COL["time"]]
                    if not isinstance(t, datetime) or not lo <= t < hi:
                        result.other_days += 1
                        continue
                    site = str(row[COL["site"]] or "")
                    target = writers.get(site)
                    if target is None:
                        result.unconfigured[site or "-"] = result.unconfigured.get(site or "-", 0) + 1
                        continue
                    target[1].write((w3c_line(row, edge) + "\n").encode())
                    result.lines[site] += 1
    except BaseException:
        for raw, gz, tmp, _final in writers.values():
            gz.close()
            raw.close()
            tmp.unlink(missing_ok=True)
        raise
    for site, (raw, gz, tmp, final) in writers.items():
        gz.close()
        raw.flush()
        os.fsync(raw.fileno())
        raw.close()
        os.replace(tmp, final)
        result.files[site] = final
    if writers:
        _fsync_dir(out)
    return result


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# ---- sequence numbers (pure decision over the state) ----

@dataclass
class DayRecord:
    sequence: int
    sha256: str
    lines: int
    size: int
    replaces: list[int] = field(default_factory=list)
    created: str = ""
    uploaded: bool = False
    notified: bool = False


class State:
    """``OUT/state.json``: per site the last sequence number and each published day."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"sites": {}}
        if path.exists():
            try:
                self.data = json.loads(path.read_text())
            except ValueError as exc:
                raise PublishError(f"{path}: corrupt publish state ({exc}); restore it from backup") from None
        self.outbox = Outbox(self.data.setdefault("outbox", {}), self.save)

    def _site(self, site: str) -> dict[str, Any]:
        return self.data["sites"].setdefault(site, {"last_sequence": 0, "days": {}})

    def record(self, site: str, day: date) -> DayRecord | None:
        rec = self._site(site)["days"].get(day.isoformat())
        return DayRecord(**rec) if rec else None

    def decide(self, site: str, day: date, sha: str, lines: int, size: int) -> tuple[DayRecord, str]:
        """The record to publish under, and ``new`` / ``changed`` / ``same``."""
        s = self._site(site)
        rec = self.record(site, day)
        if rec is not None and rec.sha256 == sha:
            return rec, "same"
        seq = int(s["last_sequence"]) + 1
        replaces = [*rec.replaces, rec.sequence] if rec is not None else []
        new = DayRecord(seq, sha, lines, size, replaces, _now())
        s["last_sequence"] = seq
        self.put(site, day, new)
        return new, "changed" if rec is not None else "new"

    def put(self, site: str, day: date, rec: DayRecord) -> None:
        self._site(site)["days"][day.isoformat()] = asdict(rec)
        self.save()

    def save(self) -> None:
        write_atomic(self.path, (json.dumps(self.data, indent=2, sort_keys=True) + "\n").encode())


# ---- notices: the outbox (pure state machine over the state's "outbox" mapping) ----

PENDING, SENDING, SENT, SUPERSEDED = "pending", "sending", "sent", "superseded"
RESENT = "resent (same Message-ID, the previous attempt's outcome is unknown)"


def notice_id(site: str, day: date, sequence: int, mail_from: str = "") -> str:
    """The notice's Message-ID: the same for every attempt at the same publication."""
    addr = parseaddr(mail_from)[1]
    domain = addr.rpartition("@")[2].lower() if "@" in addr else ""
    return f"<cdnctl-{site}-{day.isoformat()}-{sequence}@{domain or socket.getfqdn()}>"


Transmit = Callable[[Callable[[], None], Callable[[], None]], None]   # (before_send, accepted)


class Outbox:
    """One entry per (site, day, sequence): ``pending`` → ``sending`` → ``sent``.

    ``sending`` is saved before the message is handed to the server and ``sent`` as soon
    as the server accepted it; in between (the DATA round trip, then the save) the
    outcome is unknown, so an entry found ``sending`` is sent again with the same
    Message-ID. A failure the server answered (it refused the message) puts a first
    attempt back to ``pending``. A newer sequence of the same day supersedes the
    unsent entries of the older ones (its notice says which number it replaces).
    """

    def __init__(self, entries: dict[str, dict[str, Any]], save: Callable[[], None]) -> None:
        self.entries = entries
        self.save = save

    @staticmethod
    def key(site: str, day: date, sequence: int) -> str:
        return f"{site} {day.isoformat()} {sequence}"

    def get(self, site: str, day: date, sequence: int) -> dict[str, Any] | None:
        return self.entries.get(self.key(site, day, sequence))

    def enqueue(self, site: str, day: date, sequence: int, recipients: list[str],
                message_id: str) -> dict[str, Any]:
        """The entry of this publication, recorded (``pending``, saved) if it is new."""
        found = self.get(site, day, sequence)
        if found is not None:
            return found
        for e in self.entries.values():
            if e["site"] == site and e["day"] == day.isoformat() and e["state"] in (PENDING, SENDING):
                e["state"] = SUPERSEDED
        entry = {"site": site, "day": day.isoformat(), "sequence": sequence, "message_id": message_id,
                 "recipients": list(recipients), "state": PENDING, "attempts": 0, "created": _now(),
                 "sent": ""}
        self.entries[self.key(site, day, sequence)] = entry
        self.save()
        return entry

    def deliver(self, entry: dict[str, Any], transmit: Transmit) -> str:
        """Send ``entry`` unless it is ``sent``: ``"sent"``, ``RESENT``, or ``""`` (nothing to do).

        ``transmit(before_send, accepted)`` does the SMTP exchange and calls
        ``before_send()`` just before handing the message over and ``accepted()`` right
        after the server's 250. An exception with ``maybe_sent = False`` says the server
        refused the message (``reports.mail.MailError``).
        """
        if entry["state"] in (SENT, SUPERSEDED):
            return ""
        unknown = entry["state"] == SENDING

        def before_send() -> None:
            entry.update(state=SENDING, attempts=int(entry.get("attempts", 0)) + 1)
            self.save()

        def accepted() -> None:
            entry.update(state=SENT, sent=_now())
            self.save()

        try:
            transmit(before_send, accepted)
        except Exception as exc:
            if entry["state"] == SENDING and not unknown and getattr(exc, "maybe_sent", True) is False:
                entry["state"] = PENDING           # refused by the server: surely not delivered
                self.save()
            raise
        return RESENT if unknown else "sent"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manifest(site: str, day: date, rec: DayRecord) -> dict[str, Any]:
    return {"site": site, "day": day.isoformat(), "sequence": rec.sequence, "replaces": rec.replaces,
            "file": file_name(site, day), "lines": rec.lines, "size": rec.size, "sha256": rec.sha256,
            "format": "w3c", "timezone": "Europe/Paris", "created": rec.created}


def manifest_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def notice(site: str, day: date, rec: DayRecord, target: SiteTarget, status: str) -> tuple[str, str]:
    """Subject and body of the e-mail notice."""
    subject = f"Journaux CDN {site} — {day.isoformat()} (n° {rec.sequence})"
    again = (f"\nCette livraison remplace la n° {rec.replaces[-1]} du même jour.\n"
             if status == "changed" and rec.replaces else "")
    body = (f"Bonjour,\n\nLes journaux d'accès CDN de {site} pour la journée du {day.isoformat()} "
            f"(heure de Paris) sont déposés sur votre compte SFTP :\n\n"
            f"  {target.sftp.rstrip('/')}/{file_name(site, day)}\n\n"
            f"  format      : W3C étendu (gzip)\n  lignes      : {rec.lines}\n"
            f"  sha256      : {rec.sha256}\n  n° de séquence : {rec.sequence}\n"
            f"  manifeste   : {manifest_name(site, day)}\n{again}\n"
            "Message automatique de cdnctl.\n")
    return subject, body


# ---- I/O: SFTP upload and SMTP notice ----

@dataclass
class SiteResult:
    site: str
    status: str               # published | republished | unchanged | failed
    sequence: int = 0
    lines: int = 0
    sha256: str = ""
    file: str = ""
    uploaded: bool = False
    notified: list[str] = field(default_factory=list)
    error: str = ""
    notice: str = ""          # "sent" | RESENT | "" (no notice sent by this run)
    message_id: str = ""      # the notice's Message-ID (stable across attempts)


@dataclass
class PublishReport:
    day: date
    split: SplitResult
    sites: list[SiteResult]

    def to_json(self) -> dict[str, Any]:
        sp = self.split
        return {
            "ok": not any(s.status == "failed" for s in self.sites),
            "day": self.day.isoformat(),
            "sites": [asdict(s) for s in self.sites],
            "input": {"files": len(sp.inputs), "lines": sp.read, "other_days": sp.other_days,
                      "unparsed": sp.unparsed, "unconfigured_sites": sp.unconfigured},
        }


Hook = Callable[[str, str], None]     # (stage, remote path): test hook for crash simulation


class _Hashing:
    """A reader that hashes what it hands out (the bytes actually sent)."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f, self.h = f, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        chunk = self.f.read(n)
        self.h.update(chunk)
        return chunk


def verified_data(data: Path, manifest_path: Path) -> tuple[IO[bytes], bytes, str]:
    """The data file opened, its manifest's bytes and sha256, once the file's sha256 has been
    checked against the manifest (raises PublishError, nothing is uploaded)."""
    mani = manifest_path.read_bytes()
    try:
        want = str(json.loads(mani)["sha256"])
    except (ValueError, KeyError, TypeError):
        raise PublishError(f"{manifest_path}: not a manifest; not uploaded (re-run to rebuild it)") from None
    f = data.open("rb")
    h = hashlib.sha256()
    while chunk := f.read(1 << 20):
        h.update(chunk)
    if h.hexdigest() != want:
        f.close()
        raise PublishError(f"{data}: sha256 {h.hexdigest()} differs from its manifest's {want}; "
                           "not uploaded (re-run to rebuild it)")
    f.seek(0)
    return f, mani, want


def upload(target: SiteTarget, data: Path, manifest_path: Path, staging: Path,
           hook: Hook | None = None) -> bool:
    """Upload the data file, then its manifest last, each as NAME.part then renamed.

    Nothing is written when the account already has the same manifest (it carries the
    data's sha256 and is renamed only after the data) and a data file of the right size.
    Right before the upload, the local data file's sha256 is checked against the
    manifest; the bytes sent are hashed too and must match before the rename makes them
    visible. Returns whether anything was written.
    """
    from loggest.sources.sftp import SftpSource

    data_name, mani_name = data.name, manifest_path.name
    with SftpSource.connect(target.sftp, identity=target.identity, known_hosts=target.known_hosts,
                            staging=staging, settle=0) as conn:
        sftp, directory = conn.sftp, conn.directory.rstrip("/") or "/"
        try:
            with sftp.open(f"{directory}/{mani_name}", "rb") as rf:
                same = rf.read() == manifest_path.read_bytes()
            same = same and sftp.stat(f"{directory}/{data_name}").st_size == data.stat().st_size
        except OSError:
            same = False
        if same:
            return False
        f, mani, sha = verified_data(data, manifest_path)
        with f:
            for name, reader in ((data_name, _Hashing(f)), (mani_name, None)):
                remote = f"{directory}/{name}"
                tmp = remote + TEMP_SUFFIX
                if reader is not None:
                    sftp.putfo(reader, tmp, file_size=os.fstat(f.fileno()).st_size, confirm=True)
                    if reader.h.hexdigest() != sha:
                        sftp.remove(tmp)
                        raise PublishError(f"{data}: the bytes sent do not match its manifest's sha256; "
                                           "not published (re-run)")
                else:
                    sftp.putfo(io.BytesIO(mani), tmp, file_size=len(mani), confirm=True)
                if hook:
                    hook("uploaded", tmp)
                sftp.posix_rename(tmp, remote)          # atomic, replaces an older version
    return True


def send_notice(mail_from: str, smtp: str, recipients: list[str], subject: str, body: str,
                message_id: str | None = None, before_send: Callable[[], None] | None = None,
                accepted: Callable[[], None] | None = None) -> None:
    from reports.mail import build_message, send

    send(smtp, build_message(mail_from, recipients, subject, body, [], message_id=message_id),
         before_send=before_send, accepted=accepted)


def publish(config: PublishConfig, day: date, logs: Path | None = None, fmt: str | None = None,
            sites: Iterable[str] | None = None, hook: Hook | None = None,
            wait: float = 0.0) -> PublishReport:
    """Publish ``day`` to the chosen sites, holding ``OUT/.publish.lock`` for the whole run
    (``wait`` seconds at most for another run to finish, else ``PublishLocked``)."""
    try:
        log_format = resolve_format(fmt or config.format)
    except FormatError as exc:
        raise PublishError(str(exc)) from None
    source = logs or config.logs
    if source is None:
        raise PublishError("no node logs: give --logs DIR or 'logs:' in the publish config")
    chosen = sorted(config.sites) if sites is None else [s.lower() for s in sites]
    unknown = [s for s in chosen if s not in config.sites]
    if unknown:
        raise PublishError(f"site(s) not in the publish config: {', '.join(unknown)}")
    inputs = node_files(source)
    with publish_lock(config.out, wait):
        work = config.out / day.isoformat()
        _remove_temp_files(config.out)
        _remove_temp_files(work)
        split = split_day(inputs, log_format, day, chosen, work)
        state = State(config.out / "state.json")          # read with the lock held
        results = [_publish_site(config, state, day, split, site, hook) for site in chosen]
    return PublishReport(day, split, results)


def _publish_site(config: PublishConfig, state: State, day: date, split: SplitResult, site: str,
                  hook: Hook | None) -> SiteResult:
    target = config.sites[site]
    local = split.files[site]
    sha, size = sha256_of(local), local.stat().st_size
    rec, change = state.decide(site, day, sha, split.lines[site], size)
    res = SiteResult(site, {"new": "published", "changed": "republished", "same": "unchanged"}[change],
                     rec.sequence, rec.lines, sha, file_name(site, day))
    mpath = local.parent / manifest_name(site, day)
    write_atomic(mpath, manifest_bytes(manifest(site, day, rec)))
    try:
        res.uploaded = upload(target, local, mpath, config.out / ".sftp", hook)
        if res.uploaded and change == "same":
            res.status = "published"          # an earlier run did not finish its upload
        if not rec.uploaded:
            rec.uploaded = True
            state.put(site, day, rec)
        outbox = state.outbox
        entry = outbox.get(site, day, rec.sequence)
        # rec.notified without an entry: notified by a version without the outbox
        if target.recipients and (entry is not None or not rec.notified):
            if entry is None:
                entry = outbox.enqueue(site, day, rec.sequence, target.recipients,
                                       notice_id(site, day, rec.sequence, config.mail_from))
            res.message_id = entry["message_id"]
            # the same text at every attempt (a re-run sees "same" where the first run saw "changed")
            subject, body = notice(site, day, rec, target, "changed" if rec.replaces else "new")

            def transmit(before_send: Callable[[], None], accepted: Callable[[], None]) -> None:
                send_notice(config.mail_from, config.smtp, entry["recipients"], subject, body,
                            entry["message_id"], before_send, accepted)

            res.notice = outbox.deliver(entry, transmit)
            if res.notice:
                res.notified = list(entry["recipients"])
                if res.status == "unchanged":
                    res.status = "published"
            if not rec.notified:
                rec.notified = True
                state.put(site, day, rec)
    except Exception as exc:   # SourceError, MailError, PublishError, paramiko/OSError: reported per site
        res.status, res.error = "failed", str(exc) or type(exc).__name__
    return res
