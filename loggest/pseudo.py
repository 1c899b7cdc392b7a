"""Client address pseudonymisation at ingest (SPEC §4), at the CNIL level for audience statistics.

``truncate[:N]`` (default N = 2): the last N bytes of an IPv4 address are zeroed
(``192.0.2.1`` → ``192.0.0.0``) and an IPv6 address keeps the matching prefix, /48 for
N = 2, /24 for N = 3, /0 for N = 4 (``2001:db8:1:2::1`` → ``2001:db8:1::``). Why: the CNIL
consent exemption for audience measurement asks for at least two IPv4 bytes removed, and
Matomo (which the CNIL lists as eligible) masks 80 IPv6 bits (/48 kept) for 2 bytes and
104 bits (/24) for 3 (matomo-org/component-network ``IPv6::anonymize``); N = 1 is refused.
IPv4-mapped IPv6 (``::ffff:192.0.2.1``) counts as IPv4. A value that is not an address
(host name, garbage) becomes ``t:`` + 16 hex digits of an unkeyed HMAC-SHA256.

``hmac:KEYFILE``: ``h:`` + the first 16 hex digits of HMAC-SHA256(day key, address), the
day key being HMAC-SHA256(master key, ``cdnctl-pseudo-v2:YYYY-MM-DD``) for the record's
Europe/Paris day. Visitors are counted per Paris day, so nothing is lost; the same
visitor on two days gets two unlinkable pseudonyms, and a file ingested again gives the
same values. Whoever holds the master key can recompute every day key: keep the key file
outside the store, readable by the ingest account only. The SQL spells the HMACs out with
SHA256 (RFC 2104; ClickHouse's ``HMAC()`` is several times slower) and carries the padded
master key: it runs on the embedded store only, which keeps no query log.

Python (:meth:`Pseudonymiser.apply`) and ClickHouse SQL (:meth:`Pseudonymiser.sql`) give
identical values: an address is what one strict grammar (:data:`ADDRESS_RE`) accepts, the
same regular expression on both sides; both then parse it to the same 16 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
DAY_KEY_CONTEXT = "cdnctl-pseudo-v2:"

#: IPv4 bytes removed → IPv6 prefix bytes kept (Matomo's table; 4 keeps nothing)
LEVELS = {2: 6, 3: 3, 4: 0}
DEFAULT_LEVEL = 2                 # CNIL: at least two IPv4 bytes


def _address_re() -> str:
    """RFC 4291 text forms, no zone: ``::`` stands for at least one group, no leading zero
    in a dotted quad, 1 to 4 hex digits a group. ASCII classes and ``[.]`` only, so the
    pattern means the same to Python ``re`` and RE2 and needs no escaping in SQL."""
    o = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    v4 = f"{o}([.]{o}){{3}}"
    h = "[0-9a-fA-F]{1,4}"

    def left(n: int) -> str:               # n groups, each followed by ':'
        return f"({h}:){{{n}}}" if n else ""

    forms = [v4, f"{left(7)}{h}", f"{left(6)}{v4}"]
    for a in range(8):                     # a groups before '::', at most 7 - a after
        before = f"{left(a - 1)}{h}" if a else ""
        after = f"({h}(:{h}){{0,{6 - a}}})?" if a < 7 else ""
        forms.append(f"{before}::{after}")
    for a in range(6):                     # the same with a dotted quad (two groups) at the end
        before = f"{left(a - 1)}{h}" if a else ""
        forms.append(f"{before}::({h}:){{0,{5 - a}}}{v4}")
    return "^(" + "|".join(f"({f})" for f in forms) + ")$"


ADDRESS_RE = _address_re()
_ADDRESS = re.compile(ADDRESS_RE[1:-1])   # fullmatch: Python's $ also matches before a final \n
_MAPPED = bytes(10) + b"\xff\xff"
_PAD_SQL = {pad: "toFixedString(unhex('" + f"{pad:02x}" * 32 + "'), 32)" for pad in (0x36, 0x5C)}


class PseudoError(ValueError):
    pass


@lru_cache(maxsize=64)
def _day_key(master: bytes, day: str) -> bytes:
    return hmac.new(master, (DAY_KEY_CONTEXT + day).encode("ascii"), hashlib.sha256).digest()


def _hex16(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Pseudonymiser:
    mode: str                 # hmac | truncate
    key: bytes = field(default=b"", repr=False)   # hmac: the master key (kept out of reprs)
    level: int = DEFAULT_LEVEL  # truncate: IPv4 bytes removed

    def __post_init__(self) -> None:
        if self.mode == "truncate" and self.level not in LEVELS:
            raise PseudoError(_level_message(str(self.level)))

    @classmethod
    def from_option(cls, value: str | None) -> Pseudonymiser | None:
        """``--pseudonymise hmac:KEYFILE`` or ``--pseudonymise truncate[:N]``."""
        if not value:
            return None
        if value == "truncate":
            return cls("truncate")
        if value.startswith("truncate:"):
            n = value[len("truncate:"):]
            if not (n.isascii() and n.isdigit() and int(n) in LEVELS):
                raise PseudoError(_level_message(n))
            return cls("truncate", level=int(n))
        if value.startswith("hmac:"):
            path = Path(value[5:])
            try:
                key = path.read_bytes().strip()
            except OSError as exc:
                raise PseudoError(f"--pseudonymise: cannot read key file {path}: {exc.strerror}") from None
            if len(key) < 16:
                raise PseudoError(f"--pseudonymise: key in {path} is shorter than 16 bytes")
            return cls("hmac", key)
        raise PseudoError(f"--pseudonymise {value!r}: use hmac:KEYFILE or truncate[:N] (N = 2, 3 or 4)")

    def apply(self, client: str | None, when: datetime | None) -> str | None:
        """The stored value for a client address seen at ``when`` (the record time)."""
        if client is None:
            return None
        if self.mode == "hmac":
            if when is None:
                return None
            local = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(PARIS)
            return "h:" + _hex16(_day_key(self.key, local.date().isoformat()), client)
        if not _ADDRESS.fullmatch(client):
            return "t:" + _hex16(b"", client)
        packed = ipaddress.ip_address(client).packed
        if packed[:12] == _MAPPED:
            packed = packed[12:]
        if len(packed) == 4:
            keep = 4 - self.level
            return str(ipaddress.IPv4Address(packed[:keep] + bytes(self.level)))
        keep = LEVELS[self.level]
        return str(ipaddress.IPv6Address(packed[:keep] + bytes(16 - keep)))

    def sql(self, expr: str, time_expr: str) -> str:
        """The same transformation of a String SQL expression, the record time being the
        DateTime('UTC') expression ``time_expr`` (NULL time: NULL for hmac)."""
        if self.mode == "hmac":
            # HMAC(K, m) = SHA256(K' ^ opad || SHA256(K' ^ ipad || m)), K' = K padded to 64 bytes
            k = hashlib.sha256(self.key).digest() if len(self.key) > 64 else self.key
            k = k.ljust(64, b"\0")
            inner, outer = (bytes(b ^ pad for b in k).hex() for pad in (0x36, 0x5C))
            day = f"toString(toDate({time_expr}, 'Europe/Paris'))"
            day_key = (f"SHA256(concat(unhex('{outer}'), "
                       f"SHA256(concat(unhex('{inner}'), '{DAY_KEY_CONTEXT}', {day}))))")   # FixedString(32)
            mac = (f"SHA256(concat(bitXor({day_key}, {_PAD_SQL[0x5C]}), unhex('{'5c' * 32}'), "
                   f"SHA256(concat(bitXor({day_key}, {_PAD_SQL[0x36]}), unhex('{'36' * 32}'), {expr}))))")
            return f"concat('h:', substring(lower(hex({mac})), 1, 16))"
        num = f"IPv6StringToNumOrDefault({expr})"      # IPv4 text → ::ffff:a.b.c.d
        return (
            f"multiIf(NOT match({expr}, '{ADDRESS_RE}'), "
            f"concat('t:', substring(lower(hex(HMAC('sha256', {expr}, ''))), 1, 16)), "
            f"startsWith({num}, unhex('{_MAPPED.hex()}')), substring(cutIPv6({num}, 0, {self.level}), 8), "
            f"cutIPv6({num}, {16 - LEVELS[self.level]}, 0))"
        )


def _level_message(n: str) -> str:
    if n == "1":
        return ("--pseudonymise truncate:1 removes one IPv4 byte, below the CNIL level for audience "
                "statistics (at least two): use truncate (= truncate:2), truncate:3 or truncate:4")
    return f"--pseudonymise truncate:{n}: the level is the number of IPv4 bytes removed, 2, 3 or 4"
