"""Client address pseudonymisation at ingest (SPEC §4): keyed HMAC or truncation.

``hmac``: ``h:`` + the first 16 hex digits of HMAC-SHA256(key, address) — stable for a
key (visitors still count), not reversible without it. ``truncate``: IPv4 to /24
(``192.0.2.0``), anything else (IPv6, names) is replaced by its HMAC with an empty key
cut to ``t:`` + 16 hex digits. Python and ClickHouse SQL give identical values.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}")


class PseudoError(ValueError):
    pass


@dataclass(frozen=True)
class Pseudonymiser:
    mode: str                 # hmac | truncate
    key: bytes = b""

    @classmethod
    def from_option(cls, value: str | None) -> Pseudonymiser | None:
        """``--pseudonymise hmac:KEYFILE`` or ``--pseudonymise truncate``."""
        if not value:
            return None
        if value == "truncate":
            return cls("truncate")
        if value.startswith("hmac:"):
            path = Path(value[5:])
            try:
                key = path.read_bytes().strip()
            except OSError as exc:
                raise PseudoError(f"--pseudonymise: cannot read key file {path}: {exc.strerror}") from None
            if len(key) < 16:
                raise PseudoError(f"--pseudonymise: key in {path} is shorter than 16 bytes")
            return cls("hmac", key)
        raise PseudoError(f"--pseudonymise {value!r}: use hmac:KEYFILE or truncate")

    def apply(self, client: str | None) -> str | None:
        if client is None:
            return None
        if self.mode == "hmac":
            return "h:" + hmac.new(self.key, client.encode("utf-8", "surrogateescape"),
                                   hashlib.sha256).hexdigest()[:16]
        m = _IPV4.fullmatch(client)
        if m:
            return f"{m.group(1)}.{m.group(2)}.{m.group(3)}.0"
        return (
            "t:" + hmac.new(b"", client.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:16]
        )

    def sql(self, expr: str) -> str:
        """The same transformation of a Nullable(String) SQL expression."""
        if self.mode == "hmac":
            mac = f"HMAC('sha256', {expr}, unhex('{self.key.hex()}'))"
            return f"concat('h:', substring(lower(hex({mac})), 1, 16))"
        return (
            f"if(match({expr}, '^[0-9]{{1,3}}\\\\.[0-9]{{1,3}}\\\\.[0-9]{{1,3}}\\\\.[0-9]{{1,3}}$'), "
            f"replaceRegexpOne({expr}, '\\\\.[0-9]+$', '.0'), "
            f"concat('t:', substring(lower(hex(HMAC('sha256', {expr}, ''))), 1, 16)))"
        )
