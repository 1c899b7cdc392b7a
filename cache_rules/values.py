"""Parsing and normalisation of the scalar values a policy holds (SPEC §1).

Each parser returns the canonical value or raises ``ValueError`` with a message meant
for the person editing the file. The same normalisation is applied to requests so
that a policy path and a request path compare byte for byte.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

_DURATION = re.compile(r"^([0-9]+)\s*([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

# RFC 9110 token characters: what a media type and subtype may contain.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"^({_TOKEN})/({_TOKEN})$")
_MEDIA_PATTERN = re.compile(rf"^({_TOKEN})/({_TOKEN}|\*)$")

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

# RFC 3986: unreserved characters are decoded; other escapes keep upper-case hex.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters allowed verbatim in a normalised path (pchar + "/"), everything else escaped.
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_HEX = frozenset("0123456789abcdefABCDEF")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SAFE_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


def parse_duration(value: object) -> int:
    """Seconds from an integer or ``Ns``/``Nm``/``Nh``/``Nd``."""
    if isinstance(value, bool):
        raise ValueError(f"duration must be seconds or Ns/Nm/Nh/Nd, not {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"duration must not be negative: {value}")
        return value
    if isinstance(value, str):
        m = _DURATION.fullmatch(value.strip())
        if m:
            return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    raise ValueError(f"bad duration {value!r}: use seconds or Ns, Nm, Nh, Nd (e.g. 30s, 5m, 1h, 7d)")


def format_duration(seconds: int) -> str:
    """Shortest exact unit form: 86400 -> '1d', 90 -> '90s'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def normalize_content_type(value: str | None) -> str | None:
    """Media type of a Content-Type header value, lower-cased, parameters dropped.

    Used on requests: anything that is not a well-formed ``type/subtype`` yields
    ``None`` (it then matches only rules without a type selector).
    """
    if value is None:
        return None
    media = value.split(";", 1)[0].strip().lower()
    return media if _MEDIA_TYPE.fullmatch(media) else None


def parse_content_type(value: object) -> str:
    """An exact media type in a policy: ``text/html`` (parameters are refused)."""
    if not isinstance(value, str):
        raise ValueError(f"content type must be a string like text/html, not {value!r}")
    media = value.strip().lower()
    if ";" in media:
        raise ValueError(f"content type {value!r} has parameters; rules match the media type only")
    if not _MEDIA_TYPE.fullmatch(media) or "*" in media:
        raise ValueError(f"bad content type {value!r}: expected type/subtype, e.g. text/html")
    return media


def parse_content_type_pattern(value: object) -> str:
    """A group entry: ``image/png`` or ``image/*``."""
    if not isinstance(value, str):
        raise ValueError(f"content type pattern must be a string, not {value!r}")
    media = value.strip().lower()
    if media.startswith("*/"):
        raise ValueError(f"bad content type pattern {value!r}: use a rule without a type instead of */*")
    m = _MEDIA_PATTERN.fullmatch(media)
    if not m or "*" in m.group(1) or ("*" in m.group(2) and m.group(2) != "*"):
        raise ValueError(f"bad content type pattern {value!r}: expected type/subtype or type/*")
    return media


def patterns_overlap(a: str, b: str) -> bool:
    """Whether some media type matches both patterns."""
    ta, sa = a.split("/", 1)
    tb, sb = b.split("/", 1)
    return ta == tb and (sa == "*" or sb == "*" or sa == sb)


def pattern_matches(pattern: str, media_type: str) -> bool:
    if pattern.endswith("/*"):
        return media_type.startswith(pattern[:-1])
    return pattern == media_type


def normalize_path(path: str) -> str:
    """Canonical form of a URL path for matching (SPEC §1).

    Query and fragment are dropped; escapes of unreserved characters are decoded,
    other escapes get upper-case hex; characters that may not appear raw in a path
    (non-ASCII, spaces, quotes…) are percent-encoded as UTF-8. A stray ``%`` is
    encoded as ``%25`` so that the result is always a valid path.
    """
    for sep in ("?", "#"):
        cut = path.find(sep)
        if cut >= 0:
            path = path[:cut]
    if _SAFE_PATH.fullmatch(path):
        return path  # fast path: nothing to normalise
    out: list[str] = []
    i, n = 0, len(path)
    while i < n:
        c = path[i]
        if c == "%" and i + 2 < n and path[i + 1] in _HEX and path[i + 2] in _HEX:
            decoded = chr(int(path[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + path[i + 1 : i + 3].upper())
            i += 3
            continue
        if c in _PATH_SAFE:
            out.append(c)
        else:
            out.extend(f"%{b:02X}" for b in c.encode("utf-8"))
        i += 1
    return "".join(out)


def _check_policy_path(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string path, not {value!r}")
    if not value.startswith("/"):
        raise ValueError(f"{what} {value!r} must start with /")
    if "?" in value or "#" in value:
        raise ValueError(f"{what} {value!r} must not contain a query or fragment")
    if _CONTROL.search(value):
        raise ValueError(f"{what} {value!r} contains control characters")
    bad = _BAD_ESCAPE.search(value)
    if bad:
        raise ValueError(f"{what} {value!r} has a malformed percent escape at offset {bad.start()}")
    return normalize_path(value)


def parse_directory(value: object) -> str:
    path = _check_policy_path(value, "directory")
    if not path.endswith("/"):
        raise ValueError(f"directory {value!r} must end with / (use page: for a single path)")
    if "//" in path:
        raise ValueError(f"directory {value!r} contains an empty segment (//)")
    return path


def parse_page(value: object) -> str:
    path = _check_policy_path(value, "page")
    if "//" in path:
        raise ValueError(f"page {value!r} contains an empty segment (//)")
    return path


def parse_host(value: object, what: str = "host") -> str:
    """A DNS host name, lower-cased (IDNs must be given in their xn-- form)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a host name, not {value!r}")
    host = value.strip().lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_HOST_LABEL.fullmatch(lb) for lb in labels):
        raise ValueError(f"bad {what} {value!r}: expected a DNS name like www.example.gouv.fr")
    return host


def host_key(host: str) -> str:
    """A Host header as sites are keyed: lower case, no trailing dot, no ``:port``."""
    name, sep, port = host.strip().rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        host = name
    return host.lower().rstrip(".")


def parse_origin(value: object) -> str:
    """The origin URL: ``http(s)://host[:port][/base]``, no credentials, no query."""
    if not isinstance(value, str):
        raise ValueError(f"origin must be a URL, not {value!r}")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad origin {value!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"bad origin {value!r}: scheme must be http or https")
    if parts.username or parts.password:
        raise ValueError("origin must not embed credentials")
    if parts.query or parts.fragment:
        raise ValueError(f"bad origin {value!r}: no query or fragment allowed")
    host = parts.hostname or ""
    if not re.fullmatch(r"[0-9.]+", host):
        parse_host(host, "origin host")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"bad origin {value!r}: port out of range")
    path = parts.path.rstrip("/")
    if path:
        _check_policy_path(path, "origin path")
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{path}"


def parse_instant(value: object) -> datetime:
    """An ISO 8601 date-time with an explicit UTC offset."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"bad date-time {value!r}: expected ISO 8601 like 2027-04-25T18:00:00+02:00"
            ) from None
    else:
        raise ValueError(f"bad date-time {value!r}: expected ISO 8601 with an offset")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"date-time {value!r} has no UTC offset (add +01:00, +02:00 or Z)")
    return dt
