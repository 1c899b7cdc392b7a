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

The first part of this module is pure (config, split, manifest, sequence decision); the
SFTP and SMTP I/O is at the end.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

import yaml

from loggest.export import W3C_FIELDS, _v
from loggest.formats import FormatError, LogFormat, resolve_format
from loggest.formats.convert import LineError
from loggest.formats.model import COL
from loggest.formats.reference import clean_line
from loggest.ingest import open_lines
from loggest.sources import is_candidate
from loggest.synth import PARIS

MANIFEST_SUFFIX = ".manifest.json"
TEMP_SUFFIX = ".part"           # never taken by the ingest side (loggest.sources)


class PublishError(Exception):
    """Configuration or input that cannot be used (message says which and why)."""


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


def _gzip_writer(path: Path) -> tuple[IO[bytes], gzip.GzipFile]:
    raw = path.open("wb")
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
    writers: dict[str, tuple[IO[bytes], gzip.GzipFile, Path]] = {}
    header = (f"#Software: cdnctl\n#Version: 1.0\n#Date: {lo:%Y-%m-%d %H:%M:%S}\n"
              f"#Remark: Europe/Paris day {day}\n#Fields: {W3C_FIELDS}\n")
    try:
        for site in wanted:
            final = out / file_name(site, day)
            tmp = final.with_name(final.name + TEMP_SUFFIX)
            raw, gz = _gzip_writer(tmp)
            writers[site] = (raw, gz, final)
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
        for raw, gz, final in writers.values():
            gz.close()
            raw.close()
            final.with_name(final.name + TEMP_SUFFIX).unlink(missing_ok=True)
        raise
    for site, (raw, gz, final) in writers.items():
        gz.close()
        raw.flush()
        os.fsync(raw.fileno())
        raw.close()
        final.with_name(final.name + TEMP_SUFFIX).replace(final)
        result.files[site] = final
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
        new = DayRecord(seq, sha, lines, size, replaces, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        s["last_sequence"] = seq
        self.put(site, day, new)
        return new, "changed" if rec is not None else "new"

    def put(self, site: str, day: date, rec: DayRecord) -> None:
        self._site(site)["days"][day.isoformat()] = asdict(rec)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + TEMP_SUFFIX)
        with tmp.open("w") as f:
            json.dump(self.data, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)


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


def upload(target: SiteTarget, files: list[tuple[Path, str]], staging: Path,
           hook: Hook | None = None) -> bool:
    """Upload ``(local, remote name)`` pairs in order — the data file, then its manifest
    last — each as NAME.part then renamed. Nothing is written when the account already
    has the same manifest (it carries the data's sha256 and is renamed only after the
    data) and a data file of the right size. Returns whether anything was written.
    """
    from loggest.sources.sftp import SftpSource

    with SftpSource.connect(target.sftp, identity=target.identity, known_hosts=target.known_hosts,
                            staging=staging, settle=0) as conn:
        sftp, directory = conn.sftp, conn.directory.rstrip("/") or "/"
        (data, data_name), (mani, mani_name) = files[0], files[-1]
        try:
            with sftp.open(f"{directory}/{mani_name}", "rb") as rf:
                same = rf.read() == mani.read_bytes()
            same = same and sftp.stat(f"{directory}/{data_name}").st_size == data.stat().st_size
        except OSError:
            same = False
        if same:
            return False
        for local, name in files:
            remote = f"{directory}/{name}"
            tmp = remote + TEMP_SUFFIX
            sftp.put(str(local), tmp, confirm=True)
            if hook:
                hook("uploaded", tmp)
            sftp.posix_rename(tmp, remote)          # atomic, replaces an older version
    return True


def send_notice(mail_from: str, smtp: str, recipients: list[str], subject: str, body: str) -> None:
    from reports.mail import build_message, send

    send(smtp, build_message(mail_from, recipients, subject, body, []))


def publish(config: PublishConfig, day: date, logs: Path | None = None, fmt: str | None = None,
            sites: Iterable[str] | None = None, hook: Hook | None = None) -> PublishReport:
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
    work = config.out / day.isoformat()
    split = split_day(node_files(source), log_format, day, chosen, work)
    state = State(config.out / "state.json")
    results = []
    for site in chosen:
        target = config.sites[site]
        local = split.files[site]
        sha, size = sha256_of(local), local.stat().st_size
        rec, change = state.decide(site, day, sha, split.lines[site], size)
        res = SiteResult(site, {"new": "published", "changed": "republished", "same": "unchanged"}[change],
                         rec.sequence, rec.lines, sha, file_name(site, day))
        mpath = work / manifest_name(site, day)
        mpath.write_bytes(manifest_bytes(manifest(site, day, rec)))
        try:
            res.uploaded = upload(target, [(local, file_name(site, day)), (mpath, manifest_name(site, day))],
                                  config.out / ".sftp", hook)
            if res.uploaded and change == "same":
                res.status = "published"          # an earlier run did not finish its upload
            rec.uploaded = True
            state.put(site, day, rec)
            if target.recipients and not rec.notified:
                subject, body = notice(site, day, rec, target, change)
                send_notice(config.mail_from, config.smtp, target.recipients, subject, body)
                rec.notified = True
                state.put(site, day, rec)
                res.notified = list(target.recipients)
                if res.status == "unchanged":
                    res.status = "published"
        except Exception as exc:   # SourceError, MailError, paramiko/OSError: reported per site
            res.status, res.error = "failed", str(exc) or type(exc).__name__
        results.append(res)
    return PublishReport(day, split, results)
