"""Change records for QS-06 (SPEC §6): who asked, when, when it took effect, what changed.

Every ``cdnctl apply`` and ``cdnctl site enable|disable`` appends one :class:`Change`.
Storage is behind :class:`ChangeLog` so that a later store (ClickHouse) can replace or
mirror the JSON-lines file without touching the commands: implement ``append`` and
``read``.

The JSON-lines file holds one object per line (:meth:`Change.to_json`); appends are
serialised with an exclusive ``flock`` and fsync'ed, so two applies never interleave
half lines and an acknowledged change survives a crash.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from reports.registers import Change as RegisterChange

# failed: refused or failed before anything changed; rolled-back: nodes changed, then put
# back; partial: some node could not be put back (the fleet is half-applied).
STATUSES = ("applied", "unchanged", "failed", "rolled-back", "partial")


@dataclass(frozen=True)
class Change:
    who: str
    requested_at: datetime  # from the ticket (--requested-at), with its UTC offset
    effective_at: datetime | None  # when the last node switched; None if nothing took effect
    what: str  # one line for people: "interieur: enabled → disabled; 2 nodes"
    kind: str  # apply | site-enable | site-disable
    status: str  # one of STATUSES
    sites: tuple[str, ...] = ()  # the sites whose edge behaviour changed (one register row each)
    details: dict[str, object] = field(default_factory=dict)  # nodes, config names, decisions
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        for name in ("requested_at", "recorded_at"):
            if getattr(self, name).utcoffset() is None:
                raise ValueError(f"{name} needs a UTC offset")

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id, "kind": self.kind, "status": self.status, "who": self.who,
            "requested_at": self.requested_at.isoformat(),
            "effective_at": self.effective_at.isoformat() if self.effective_at else None,
            "recorded_at": self.recorded_at.isoformat(), "what": self.what, "sites": list(self.sites),
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Change:
        def when(key: str) -> datetime | None:
            value = data.get(key)
            return datetime.fromisoformat(value) if isinstance(value, str) else None

        requested, recorded = when("requested_at"), when("recorded_at")
        if requested is None or recorded is None:
            raise ValueError("change record without requested_at/recorded_at")
        details = data.get("details")
        sites = data.get("sites")
        return cls(who=str(data["who"]), requested_at=requested, effective_at=when("effective_at"),
                   what=str(data["what"]), kind=str(data["kind"]), status=str(data["status"]),
                   sites=tuple(str(x) for x in sites) if isinstance(sites, list) else (),
                   details=details if isinstance(details, dict) else {}, id=str(data["id"]),
                   recorded_at=recorded)


class ChangeLog(Protocol):
    def append(self, change: Change) -> None: ...

    def read(self) -> Iterator[Change]: ...


class JsonlChangeLog:
    """Append-only JSON lines file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def append(self, change: Change) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(change.to_json(), ensure_ascii=False, sort_keys=True) + "\n"
        with self.path.open("a", encoding="utf-8") as out:
            fcntl.flock(out, fcntl.LOCK_EX)
            try:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())
            finally:
                fcntl.flock(out, fcntl.LOCK_UN)

    def read(self) -> Iterator[Change]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as src:
            for number, line in enumerate(src, start=1):
                if not line.strip():
                    continue
                try:
                    yield Change.from_json(json.loads(line))
                except (ValueError, KeyError) as exc:
                    raise ValueError(f"{self.path}:{number}: bad change record: {exc}") from None


def current_user() -> str:
    """Who is applying: $CDNCTL_WHO (set by CI from the ticket), else the login name."""
    return os.environ.get("CDNCTL_WHO") or getpass.getuser()


# -- the reports change register (QS-06/QS-07) --------------------------------------------
#
# The JSON-lines journal is the record of what cdnctl did; the ClickHouse register is what
# the monthly QS report reads. Each applied change becomes one register row per site
# (id ``<change id>:<site>``). Failed or rolled-back applies get no row: nothing took
# effect, and a retry is a new change id, so a row would stay "pending" for ever.


def register_rows(change: Change, dossier_updated_at: datetime | None = None) -> list[RegisterChange]:
    """The register rows of one change: one per site, only when it took effect."""
    if change.status != "applied" or change.effective_at is None:
        return []
    return [RegisterChange(id=f"{change.id}:{site}", site=site, requested_at=change.requested_at,
                           effective_at=change.effective_at, dossier_updated_at=dossier_updated_at,
                           description=f"{change.kind}: {change.what}")
            for site in change.sites]


@dataclass
class RegisterUpdate:
    """What happened to the register: said to the user, never silently skipped."""

    store: str  # the store URL, password removed
    rows: int = 0  # rows written
    error: str | None = None  # why the register was not updated

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, object]:
        return {"updated": self.ok, "store": self.store, "rows": self.rows, "error": self.error}


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def update_register(store_url: str | None, rows: list[RegisterChange],
                    touch_dossier: tuple[list[RegisterChange], datetime] | None = None) -> RegisterUpdate:
    """Upsert ``rows`` into the change register of the configured store.

    ``touch_dossier`` = (rows, when): set ``dossier_updated_at`` to ``when`` on those rows,
    keeping the register's own values of every other field (they may have been corrected
    with ``cdnctl changes set``) and creating the rows the register does not have yet.

    Never raises: the edge change has already happened when this runs, so a store that is
    down must not turn a successful apply into a failure — the caller reports the error.
    """
    from loggest.store import open_store
    from loggest.store import store_url as resolve_url
    from reports.registers import CHANGES
    from reports.store import ClickHouseRegisterStore

    url = resolve_url(store_url)
    update = RegisterUpdate(_redacted(url))
    if not rows and not touch_dossier:
        return update
    try:
        with open_store(url) as store:
            register = ClickHouseRegisterStore(store.client)
            out = list(rows)
            if touch_dossier:
                wanted, when = touch_dossier
                existing = register.get(CHANGES, [r.id for r in wanted])
                for row in wanted:
                    current = existing.get(row.id, row)
                    assert isinstance(current, RegisterChange)
                    if current.dossier_updated_at is None:
                        out.append(replace(current, dossier_updated_at=when))
            register.upsert(CHANGES, out)
            update.rows = len(out)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".strip()
        password = urlsplit(url).password
        # the driver's messages quote the URL it was given: never print the password
        update.error = message.replace(f":{password}@", ":***@") if password else message
    return update
