"""Cache statuses of every vendor mapped to the SPEC §3 classes (hit/miss/pass/error).

Values are compared case-insensitively after trimming; anything else is ``unknown``
(the verbatim value is kept in the record). A ``-`` or empty value means the edge logged
no cache status for that request: the status is NULL and the class ``unknown``.
"""

from __future__ import annotations

HIT, MISS, PASS, ERROR, UNKNOWN = "hit", "miss", "pass", "error", "unknown"
CLASSES = (HIT, MISS, PASS, ERROR, UNKNOWN)

_TABLE: dict[str, tuple[str, ...]] = {
    HIT: ("HIT", "STALE", "UPDATING", "REVALIDATED", "TCP_HIT", "TCP_MEM_HIT", "TCP_IMS_HIT",
          "TCP_REFRESH_HIT", "TCP_REFRESH_UNMODIFIED", "TCP_NEGATIVE_HIT", "TCP_STALE_HIT",
          "REFRESHHIT", "ORIGINSHIELDHIT", "GRACE", "HIT-STALE", "STALE-HIT"),
    MISS: ("MISS", "EXPIRED", "TCP_MISS", "TCP_REFRESH_MISS", "TCP_REFRESH_MODIFIED",
           "TCP_CLIENT_REFRESH_MISS", "DYNAMIC", "HITMISS"),
    PASS: ("PASS", "BYPASS", "PIPE", "HITPASS", "TCP_DENIED_PASS", "NOCACHE", "NO-CACHE"),
    ERROR: ("ERROR", "LIMITEXCEEDED", "CAPACITYEXCEEDED", "TCP_DENIED", "TCP_MISS_ERROR",
            "TCP_ERROR", "SYNTH"),
}

CACHE_CLASS: dict[str, str] = {value: cls for cls, values in _TABLE.items() for value in values}


def normalise(value: str) -> str:
    """Trim spaces/tabs and upper-case ASCII letters only (as ClickHouse's ``upper``)."""
    return value.strip(" \t").upper() if value.isascii() else value.strip(" \t")


def cache_class(value: str | None) -> str:
    """The class of a verbatim cache status (``None`` → ``unknown``)."""
    if value is None:
        return UNKNOWN
    return CACHE_CLASS.get(normalise(value), UNKNOWN)
