"""The audit journal: who did what, when, from where, with which result — tamper-evident.

One JSON object per line in ``<state dir>/audit.jsonl`` (state dir: ``$CDNCTL_STATE_DIR``,
default ``$XDG_STATE_HOME/cdnctl``, i.e. ``~/.local/state/cdnctl``). Each entry holds

- ``seq`` (1, 2, 3… never reused, also across pruning), ``at`` (UTC) and ``at_paris``;
- ``who`` (``user:<login>`` or ``token:<name>``), ``source`` (host, pid, tty, SSH client
  address for the CLI; client address and user agent for the API), ``action``, ``site``,
  ``what`` (the details), ``result`` (``ok``, ``partial``, ``failed``, ``denied``…);
- ``prev``: the ``hash`` of the entry before it, and ``hash``: SHA-256 of the entry's
  canonical JSON without ``hash``.

So an edited entry no longer matches its hash, a deleted or moved one breaks the next
``prev`` and the ``seq`` run. Deleting the *last* entries leaves a valid chain, so every
append also rewrites ``audit.head`` (last ``seq`` and ``hash``): a journal shorter than
its head is truncated. Someone who can rewrite both files and recompute every hash can
still forge a history; ``cdnctl audit verify`` prints the head hash so it can be noted
elsewhere (a ticket, another machine) and checked later with ``--anchor SEQ:HASH``.
Mirroring into the ClickHouse store is the planned external anchor (not done yet).

Retention is 12 months: :func:`Journal.prune` rewrites the file without older entries,
starting with a ``checkpoint`` line that carries the ``seq`` and ``hash`` of the last
entry removed, and appends an ``audit-prune`` entry saying the same inside the chain.
``verify`` accepts a checkpoint only if it agrees with that chained entry, so pruning
cannot be used to silently drop recent entries.

Appends take an exclusive ``flock`` and are fsync'ed; a line is written with a single
``write`` so concurrent writers (CLI and API server) never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
GENESIS = "0" * 64
RETENTION_MONTHS = 12
JOURNAL_NAME = "audit.jsonl"
HEAD_NAME = "audit.head"

_thread_lock = threading.Lock()  # flock is per open file; this also orders threads of one process


class AuditError(Exception):
    """The journal cannot be written (or its tail does not match its head)."""


def state_dir() -> Path:
    """Where cdnctl keeps its own state (audit journal, tokens, flush resume files)."""
    explicit = os.environ.get("CDNCTL_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cdnctl"


def canonical(data: dict[str, object]) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: dict[str, object]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def cli_actor() -> str:
    """The person at the keyboard: ``$CDNCTL_WHO`` (CI passes the ticket's requester) or the login.

    The login is also kept in ``source`` so a ``CDNCTL_WHO`` cannot hide who ran the command.
    """
    return "user:" + (os.environ.get("CDNCTL_WHO") or _login())


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no passwd entry (containers)
        return f"uid{os.getuid()}"


def cli_source() -> dict[str, object]:
    source: dict[str, object] = {"via": "cli", "host": socket.gethostname(), "pid": os.getpid(),
                                 "login": _login()}
    with contextlib.suppress(OSError):
        if sys.stdin.isatty():
            source["tty"] = os.ttyname(sys.stdin.fileno())
    ssh = os.environ.get("SSH_CLIENT") or os.environ.get("SSH_CONNECTION")
    if ssh:
        source["ssh_client"] = ssh.split()[0]
    return source


@dataclass
class Problem:
    line: int  # 1-based line in the journal (0: the head file / anchor)
    message: str


@dataclass
class Verification:
    entries: int
    problems: list[Problem]
    head_seq: int | None
    head_hash: str | None
    first_seq: int | None
    checkpoint: dict[str, object] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "entries": self.entries, "first_seq": self.first_seq,
                "head": {"seq": self.head_seq, "hash": self.head_hash},
                "checkpoint": self.checkpoint, "warnings": self.warnings,
                "problems": [{"line": p.line, "message": p.message} for p in self.problems]}


class Journal:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else state_dir()
        self.path = self.directory / JOURNAL_NAME
        self.head_path = self.directory / HEAD_NAME

    # -- writing ------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Fail before acting rather than act and leave no trace."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise AuditError(f"audit journal {self.path} is not writable: {exc.strerror} "
                             "(set CDNCTL_STATE_DIR)") from None

    def record(self, action: str, result: str, *, who: str | None = None, site: str | None = None,
               what: dict[str, object] | None = None, source: dict[str, object] | None = None,
               at: datetime | None = None) -> dict[str, object]:
        """Append one entry; returns it with its ``seq`` and ``hash``."""
        when = (at or datetime.now(UTC)).astimezone(UTC)
        body: dict[str, object] = {
            "at": when.isoformat().replace("+00:00", "Z"),
            "at_paris": when.astimezone(PARIS).isoformat(),
            "who": who or cli_actor(), "source": source or cli_source(), "action": action,
            "site": site, "what": what or {}, "result": result,
        }
        return self._append(body)

    def _append(self, body: dict[str, object]) -> dict[str, object]:
        self.check_writable()
        with _thread_lock, self.path.open("rb+") as out:
            fcntl.flock(out, fcntl.LOCK_EX)
            try:
                last = _last_entry(out, self.path)
                prev_seq, prev_hash = (int(last["seq"]), str(last["hash"])) if last else (0, GENESIS)  # type: ignore[call-overload]
                lagging = self._check_head(prev_seq, prev_hash, last)
                entry = {"seq": prev_seq + 1, **body, "prev": prev_hash}
                if lagging:
                    # Accepted so that a crash cannot block every later flush, but kept in the
                    # chain for ever: it may also be an entry added by hand.
                    entry["head_lag"] = prev_seq
                entry["hash"] = entry_hash(entry)
                out.seek(0, os.SEEK_END)
                out.write(canonical(entry) + b"\n")
                out.flush()
                os.fsync(out.fileno())
                self._write_head(int(entry["seq"]), str(entry["hash"]))  # type: ignore[call-overload]
            finally:
                fcntl.flock(out, fcntl.LOCK_UN)
        return entry

    def _check_head(self, seq: int, digest: str, last: dict[str, object] | None) -> bool:
        """True when the head is one entry behind (crash between the two writes)."""
        head = self.read_head()
        if head is None:
            if seq:
                raise AuditError(f"{self.head_path} is missing while the journal has entries: "
                                 "run `cdnctl audit verify`")
            return False
        if head == (seq, digest):
            return False
        if last is not None and head == (seq - 1, last.get("prev")):
            return True
        raise AuditError(f"audit journal tail (seq {seq}) does not match {self.head_path} (seq {head[0]}): "
                         "entries were removed or edited; run `cdnctl audit verify`")

    def read_head(self) -> tuple[int, str] | None:
        try:
            data = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(data["seq"]), str(data["hash"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise AuditError(f"{self.head_path} is unreadable: {exc}") from None

    def _write_head(self, seq: int, digest: str) -> None:
        tmp = self.head_path.with_name(self.head_path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            out.write(json.dumps({"seq": seq, "hash": digest}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.head_path)

    # -- reading ------------------------------------------------------------------------
    def lines(self) -> Iterator[tuple[int, str]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8", errors="replace") as src:
            yield from enumerate(src, start=1)

    def entries(self, since: datetime | None = None, site: str | None = None,
                action: str | None = None) -> Iterator[dict[str, object]]:
        """Entries (not checkpoints), oldest first; unparsable lines are skipped (verify reports them)."""
        for _n, line in self.lines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict) or entry.get("action") == "checkpoint":
                continue
            if since is not None and _when(entry) < since:
                continue
            if site is not None and entry.get("site") != site:
                continue
            if action is not None and entry.get("action") != action:
                continue
            yield entry

    # -- verifying ----------------------------------------------------------------------
    def verify(self, anchor: tuple[int, str] | None = None) -> Verification:
        problems: list[Problem] = []
        warnings: list[str] = []
        prev_seq: int | None = None
        prev_hash: str | None = None
        first_seq: int | None = None
        checkpoint: dict[str, object] | None = None
        last_prune: dict[str, object] | None = None
        count = 0
        seen: dict[int, str] = {}
        raw = self.path.read_bytes() if self.path.exists() else b""
        if raw and not raw.endswith(b"\n"):
            problems.append(Problem(raw.count(b"\n") + 1, "last line is incomplete (crash during a write, "
                                    "or truncated)"))
        for number, line in self.lines():
            if not line.endswith("\n"):
                break  # reported above
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
                seq, digest = int(entry["seq"]), str(entry["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(Problem(number, f"not a journal entry: {exc}"))
                prev_seq, prev_hash = None, None
                continue
            if entry.get("action") == "checkpoint":
                if number != 1:
                    problems.append(Problem(number, "checkpoint anywhere but on the first line"))
                checkpoint = entry
                prev_seq, prev_hash = seq, digest  # the last pruned entry, as the checkpoint says
                continue
            count += 1
            if first_seq is None:
                first_seq = seq
            if entry_hash(entry) != digest:
                problems.append(Problem(number, f"entry seq {seq} was modified (hash mismatch)"))
            if prev_seq is None and prev_hash is None and number == 1:
                if seq != 1 or entry.get("prev") != GENESIS:
                    problems.append(Problem(number, f"journal starts at seq {seq} without a checkpoint: "
                                            "earlier entries were removed"))
            elif prev_seq is not None:
                if seq != prev_seq + 1:
                    problems.append(Problem(number, f"seq {seq} follows seq {prev_seq}: entries missing "
                                            "or out of order"))
                if entry.get("prev") != prev_hash:
                    problems.append(Problem(number, f"entry seq {seq} does not chain to the entry before it"))
            if entry.get("action") == "audit-prune":
                last_prune = entry
            if "head_lag" in entry:
                warnings.append(f"seq {seq} was appended while the head lagged one entry behind (seq "
                                f"{entry['head_lag']}): a crash, or that entry was added by hand")
            seen[seq] = digest
            prev_seq, prev_hash = seq, digest
        if checkpoint is not None:
            what = last_prune.get("what") if last_prune else None
            if not isinstance(what, dict) or (what.get("through_seq"), what.get("through_hash")) != (
                    checkpoint.get("seq"), checkpoint.get("hash")):
                problems.append(Problem(1, "checkpoint does not match the last audit-prune entry: "
                                        "entries were removed outside `cdnctl audit prune`"))
        head = None
        try:
            head = self.read_head()
        except AuditError as exc:
            problems.append(Problem(0, str(exc)))
        if head is not None:
            if prev_seq is None or head[0] > prev_seq:
                problems.append(Problem(0, f"head says seq {head[0]} but the journal ends at seq {prev_seq}: "
                                        "the journal was truncated"))
            elif head != (prev_seq, prev_hash) and seen.get(head[0]) != head[1]:
                problems.append(Problem(0, f"head (seq {head[0]}) does not match the journal"))
            elif head[0] < (prev_seq or 0) - 1:
                problems.append(Problem(0, f"journal has entries after its head (seq {head[0]}): "
                                        "entries were added by hand"))
            elif head[0] == (prev_seq or 0) - 1:
                problems.append(Problem(0, f"head is one entry behind (seq {head[0]}): a crash between the "
                                        "two writes, or the last entry was added by hand"))
        elif count:
            problems.append(Problem(0, f"{self.head_path} is missing"))
        if anchor is not None:
            a_seq, a_hash = anchor
            if checkpoint is not None and a_seq <= int(checkpoint["seq"]):  # type: ignore[call-overload]
                if a_seq == checkpoint["seq"] and a_hash != checkpoint["hash"]:
                    problems.append(Problem(0, f"anchor seq {a_seq} does not match the checkpoint"))
                else:
                    warnings.append(f"anchor seq {a_seq} was pruned; cannot be checked")
            elif seen.get(a_seq) != a_hash:
                problems.append(Problem(0, f"anchor {a_seq}:{a_hash[:12]}… is not in the journal: "
                                        "history was rewritten"))
        cutoff = retention_cutoff()
        old = next((e for e in self.entries() if _when(e) < cutoff), None)
        if old is not None:
            warnings.append(f"entries older than {RETENTION_MONTHS} months are kept: "
                            "run `cdnctl audit prune`")
        return Verification(count, problems, prev_seq, prev_hash, first_seq, checkpoint, warnings)

    # -- retention ----------------------------------------------------------------------
    def prune(self, before: datetime | None = None, who: str | None = None,
              source: dict[str, object] | None = None) -> dict[str, object]:
        """Drop entries older than ``before`` (default: 12 months ago); keeps the chain verifiable.

        Refuses on a journal that does not verify: pruning would erase the evidence.
        """
        before = before or retention_cutoff()
        check = self.verify()
        if not check.ok:
            raise AuditError("the journal does not verify; not pruning: "
                             + "; ".join(p.message for p in check.problems[:3]))
        self.check_writable()
        with _thread_lock, self.path.open("rb+") as out:
            fcntl.flock(out, fcntl.LOCK_EX)
            try:
                lines = out.read().splitlines(keepends=True)
                entries = [json.loads(line) for line in lines]
                drop = 0
                for entry in entries:
                    if entry.get("action") == "checkpoint":
                        drop += 1
                        continue
                    if _when(entry) >= before:
                        break
                    drop += 1
                # The newest entry is never pruned: the chain needs something to hang on.
                drop = min(drop, len(entries) - 1)
                removed = [e for e in entries[:drop] if e.get("action") != "checkpoint"]
                if not removed:
                    return {"removed": 0}
                through = entries[drop - 1]
                cp = {"seq": through["seq"], "hash": through["hash"], "action": "checkpoint",
                      "what": {"removed": len(removed), "before": before.isoformat(),
                               "oldest_removed": removed[0].get("at")}}
                tmp = self.path.with_name(self.path.name + ".prune")
                with tmp.open("wb") as new:
                    new.write(canonical(cp) + b"\n")
                    new.writelines(lines[drop:])
                    new.flush()
                    os.fsync(new.fileno())
                os.replace(tmp, self.path)
            finally:
                fcntl.flock(out, fcntl.LOCK_UN)
        what = {"through_seq": through["seq"], "through_hash": through["hash"], "removed": len(removed),
                "before": before.isoformat()}
        self.record("audit-prune", "ok", who=who, source=source, what=what)
        return what


def retention_cutoff(now: datetime | None = None) -> datetime:
    now = (now or datetime.now(UTC)).astimezone(PARIS)
    month = now.month - RETENTION_MONTHS
    year = now.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    try:
        return now.replace(year=year, month=month)
    except ValueError:  # 29 February a year before a non-leap year
        return now.replace(year=year, month=month, day=28)


def _when(entry: dict[str, object]) -> datetime:
    value = entry.get("at")
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _last_entry(out: object, path: Path) -> dict[str, object] | None:
    """The last complete entry, read from the end (journals grow; appends must stay O(1))."""
    import io

    assert isinstance(out, io.BufferedRandom)
    end = out.seek(0, os.SEEK_END)
    if end == 0:
        return None
    out.seek(end - 1)
    if out.read(1) != b"\n":
        raise AuditError(f"{path} ends with an incomplete line (crash during a write?): "
                         "run `cdnctl audit verify`; nothing was appended")
    block = 4096
    pos = end - 1  # the final newline is excluded: we want the line it ends
    data = b""
    while pos > 0 and b"\n" not in data:
        step = min(block, pos)
        pos -= step
        out.seek(pos)
        data = out.read(step) + data
        block *= 2
    line = data.rsplit(b"\n", 1)[-1]
    try:
        entry = json.loads(line)
    except ValueError:
        raise AuditError(f"{path}: the last line is not a journal entry: run `cdnctl audit verify`") from None
    if not isinstance(entry, dict) or "seq" not in entry or "hash" not in entry:
        raise AuditError(f"{path}: the last line is not a journal entry: run `cdnctl audit verify`")
    return entry


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``--since``: ``7d``/``12h``/``30m`` ago, or an ISO date/time (no offset = Europe/Paris)."""
    now = now or datetime.now(UTC)
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    text = value.strip()
    if text[:-1].isdigit() and text[-1:] in units:
        return now - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    at = datetime.fromisoformat(text)
    return at.replace(tzinfo=PARIS) if at.tzinfo is None else at
