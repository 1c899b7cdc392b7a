"""Cache statuses of every vendor mapped to the SPEC §3 classes (hit/miss/pass/error).

Values are compared case-insensitively after trimming; anything else is ``unknown``
(the verbatim value is kept in the record). A ``-`` or empty value means the edge logged
no cache status for that request: the status is NULL and the class ``unknown``.
"""

from __future__ import annotations

HIT, MISS, PASS, ERROR, UNKNOWN = "hit", "miss", "pass", "error", "unknown"

# CloudFront x-edge-result-type (AWS "Standard log file fields"): Hit, RefreshHit,
# OriginShieldHit — served from the cache; Miss; Error, LimitExceeded (a CloudFront limit),
# CapacityExceeded (503, not enough capacity) — errors; Redirect — CloudFront itself redirected
# the viewer from HTTP to HTTPS, without the origin: counted as served by the CDN (hit), as
# the CDN share measures what the origin did not have to serve. The 33-field layout's
# x-edge-detailed-result-type adds origin and client error kinds, all errors.
CLASSES = (HIT, MISS, PASS, ERROR, UNKNOWN)

_TABLE: dict[str, tuple[str, ...]] = {
    HIT: ("HIT", "STALE", "UPDATING", "REVALIDATED", "TCP_HIT", "TCP_MEM_HIT", "TCP_IMS_HIT",
          "TCP_REFRESH_HIT", "TCP_REFRESH_UNMODIFIED", "TCP_NEGATIVE_HIT", "TCP_STALE_HIT",
          "REFRESHHIT", "ORIGINSHIELDHIT", "GRACE", "HIT-STALE", "STALE-HIT", "REDIRECT"),
    MISS: ("MISS", "EXPIRED", "TCP_MISS", "TCP_REFRESH_MISS", "TCP_REFRESH_MODIFIED",
           "TCP_CLIENT_REFRESH_MISS", "DYNAMIC", "HITMISS"),
    PASS: ("PASS", "BYPASS", "PIPE", "HITPASS", "TCP_DENIED_PASS", "NOCACHE", "NO-CACHE"),
    ERROR: ("ERROR", "LIMITEXCEEDED", "CAPACITYEXCEEDED", "TCP_DENIED", "TCP_MISS_ERROR",
            "TCP_ERROR", "SYNTH", "ABORTEDORIGIN", "CLIENTCOMMERROR", "CLIENTGEOBLOCKED",
            "CLIENTHUNGUPREQUEST", "INVALIDREQUEST", "ORIGINCOMMERROR", "ORIGINCONNECTERROR",
            "ORIGINDNSERROR", "ORIGINERROR", "ORIGINHEADERTOOBIGERROR", "ORIGININVALIDRESPONSEERROR",
            "ORIGINREADERROR", "ORIGINWRITEERROR", "ORIGINZEROSIZEOBJECTERROR",
            "SLOWREADERORIGINERROR"),
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
