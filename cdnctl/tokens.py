"""API tokens for publishing systems: scoped to sites, shown once, stored hashed, revocable.

A token reads ``cdnctl_<id>_<secret>``: ``id`` (8 hex digits) finds the record without
scanning, ``secret`` is 32 random bytes (urlsafe base64). Only the SHA-256 of the whole
token is stored (``<state dir>/tokens.json``, mode 0600): a high-entropy secret needs
no slow hash, and the file alone lets nobody flush. Comparison is constant-time
(:func:`hmac.compare_digest`), also for an unknown id, so timing reveals nothing.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cdnctl.audit import state_dir

_TOKEN = re.compile(r"cdnctl_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()


class TokenError(ValueError):
    pass


@dataclass
class TokenRecord:
    id: str
    name: str  # who this token is, in the audit journal (e.g. "cms-interieur")
    sites: list[str]  # primary host names it may flush
    sha256: str
    created_at: str
    created_by: str
    expires_at: str | None = None
    revoked_at: str | None = None

    def state(self, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        if self.revoked_at:
            return "revoked"
        if self.expires_at and datetime.fromisoformat(self.expires_at) <= now:
            return "expired"
        return "active"

    def public(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("sha256")
        data["state"] = self.state()
        return data


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "tokens.json"

    @contextmanager
    def _locked(self) -> Iterator[dict[str, TokenRecord]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            records = self._read()
            yield records
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({k: asdict(v) for k, v in sorted(records.items())}, out, indent=1)
            os.replace(tmp, self.path)

    def _read(self) -> dict[str, TokenRecord]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise TokenError(f"{self.path} is unreadable: {exc}") from None
        return {k: TokenRecord(**v) for k, v in raw.items()}

    def list(self) -> list[TokenRecord]:
        return sorted(self._read().values(), key=lambda r: r.created_at)

    def create(self, name: str, sites: list[str], created_by: str,
               expires_in: timedelta | None = None) -> tuple[str, TokenRecord]:
        """Returns the token (to show once) and its record."""
        if not _NAME.fullmatch(name):
            raise TokenError(f"token name {name!r}: letters, digits and _ . @ - (up to 64)")
        if not sites:
            raise TokenError("a token needs at least one --site")
        now = datetime.now(UTC)
        with self._locked() as records:
            ident = secrets.token_hex(4)
            while ident in records:
                ident = secrets.token_hex(4)
            secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
            token = f"cdnctl_{ident}_{secret}"
            record = TokenRecord(ident, name, sorted(set(sites)), _digest(token), now.isoformat(), created_by,
                                 (now + expires_in).isoformat() if expires_in else None)
            records[ident] = record
        return token, record

    def revoke(self, ident: str) -> TokenRecord:
        with self._locked() as records:
            record = records.get(ident)
            if record is None:
                raise TokenError(f"no token {ident!r} (see `cdnctl token list`)")
            if not record.revoked_at:
                record.revoked_at = datetime.now(UTC).isoformat()
        return record

    def authenticate(self, token: str) -> tuple[TokenRecord | None, str]:
        """(record, "active") for a good token; (record or None, why) otherwise."""
        match = _TOKEN.fullmatch(token.strip())
        record = self._read().get(match.group(1)) if match else None
        # Compare even when there is nothing to compare with: same work, same time.
        good = hmac.compare_digest(record.sha256 if record else _DUMMY_HASH, _digest(token.strip()))
        if record is None or not good:
            return None, "unknown token"
        state = record.state()
        return record, state
