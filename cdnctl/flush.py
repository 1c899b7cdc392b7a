"""Flush planning: what to purge for a site, checked and normalised before any vendor call.

Pure functions (no network): :func:`plan_flush` turns what a person or a CMS typed
(URLs, prefixes, cache tags, "everything") into a :class:`FlushPlan` — URLs normalised,
deduplicated, and refused as a whole when one names a host that is not the site's or
one of its aliases. :func:`batches` splits a list under a vendor's per-call limits;
drivers (:mod:`cdnctl.vendors`) only decide their limits and send.

:class:`ResumeState` is the small state file that lets a re-run of the same flush send
only what failed last time (see its docstring for when it is ignored).

URL normalisation: scheme and host lower-cased, default port dropped, fragment dropped,
the path normalised like policy paths (SPEC §1: unreserved escapes decoded, others
upper-case, unsafe characters encoded), the query string kept (it is part of every
engine's cache key) with unsafe characters encoded. A path alone (``/a/b``) means the
site's primary host. All hosts of a site share the same purge items: Varnish and nginx
key objects by site, and the commercial drivers expand a path to every host themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlsplit

from cache_rules.model import SitePolicy
from cache_rules.values import normalize_path

KINDS = ("url", "prefix", "tag", "all")
MAX_TAG_LENGTH = 1024
_TAG = re.compile(r"[!-~]+")  # printable ASCII, no space: every vendor separates tags by spaces or commas
_QUERY_SAFE = "/?:@!$&'()*+,;=%~-._"

T = TypeVar("T")


class FlushInputError(ValueError):
    """What was asked cannot be flushed; ``problems`` lists every reason at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Item:
    kind: str  # url (a path with its query) | prefix (a path prefix) | tag | all
    value: str  # "" for all

    def label(self) -> str:
        return "everything" if self.kind == "all" else f"{self.kind} {self.value}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "value": self.value}


@dataclass(frozen=True)
class FlushPlan:
    site: str  # primary host
    hosts: tuple[str, ...]  # primary first, then aliases
    items: tuple[Item, ...]
    soft: bool = False

    def of_kind(self, kind: str) -> list[str]:
        return [i.value for i in self.items if i.kind == kind]

    def fingerprint(self) -> str:
        """Identity of the request, for resuming: same site, same items, same mode."""
        data = {"site": self.site, "soft": self.soft, "items": sorted((i.kind, i.value) for i in self.items)}
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:24]

    def summary(self) -> str:
        counts = {k: sum(1 for i in self.items if i.kind == k) for k in KINDS}
        parts = [f"{n} {k}{'s' if n > 1 else ''}" for k, n in counts.items() if n and k != "all"]
        if counts["all"]:
            parts.append("everything")
        return ", ".join(parts) + (" (soft)" if self.soft else "")


def normalize_url(raw: str, site: SitePolicy) -> str:
    """The purge item (path + query) for one typed URL; ``ValueError`` when it is not the site's."""
    text = raw.strip()
    if not text:
        raise ValueError("empty URL")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(f"{raw!r}: control characters")
    if text.startswith("/") and not text.startswith("//"):
        path, query = _split(text)
    else:
        if "://" not in text:
            text = "https://" + text  # "www.example.fr/a" is a host and a path
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"{raw!r}: {exc}") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError(f"{raw!r}: scheme must be http or https")
        if parts.username or parts.password:
            raise ValueError(f"{raw!r}: credentials are not allowed in a URL")
        host = (parts.hostname or "").rstrip(".")
        if host not in site.hosts:
            raise ValueError(f"{raw!r}: host {host or '(none)'} is not {site.site} or one of its aliases "
                             f"({', '.join(site.aliases) or 'none'})")
        default = 443 if parts.scheme.lower() == "https" else 80
        if port not in (None, default):
            raise ValueError(f"{raw!r}: port {port} is not served by the CDN")
        path, query = parts.path or "/", parts.query
        if "?" in text.split("#", 1)[0] and not query:
            query = ""  # "?" with nothing after: same object as without
    if not path.startswith("/"):
        raise ValueError(f"{raw!r}: path must start with /")
    out = normalize_path(path)
    if query:
        out += "?" + quote(query, safe=_QUERY_SAFE)
    return out


def _split(text: str) -> tuple[str, str]:
    text = text.split("#", 1)[0]
    path, _, query = text.partition("?")
    return path, query


def normalize_prefix(raw: str) -> str:
    text = raw.strip()
    if not text.startswith("/") or "?" in text or "#" in text:
        raise ValueError(f"prefix {raw!r} must be a path starting with / (no query)")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(f"prefix {raw!r}: control characters")
    return normalize_path(text)


def normalize_tag(raw: str) -> str:
    tag = raw.strip()
    if not tag or len(tag) > MAX_TAG_LENGTH or not _TAG.fullmatch(tag) or "," in tag:
        raise ValueError(f"tag {raw!r} must be 1–{MAX_TAG_LENGTH} printable characters, no space or comma")
    return tag


def plan_flush(site: SitePolicy, urls: Iterable[str] = (), prefixes: Iterable[str] = (),
               tags: Iterable[str] = (), everything: bool = False, soft: bool = False) -> FlushPlan:
    """Check and normalise everything first: one bad entry refuses the whole flush."""
    problems: list[str] = []
    items: list[Item] = []
    for kind, values, norm in (("url", urls, lambda v: normalize_url(v, site)),
                               ("prefix", prefixes, normalize_prefix), ("tag", tags, normalize_tag)):
        for value in values:
            try:
                items.append(Item(kind, norm(value)))
            except ValueError as exc:
                problems.append(str(exc))
    if everything:
        items.append(Item("all", ""))
    if problems:
        raise FlushInputError(problems)
    if not items:
        raise FlushInputError(["nothing to flush: give URLs, --from-file, --prefix, --tag or --all"])
    return FlushPlan(site.site, site.hosts, tuple(dedupe(items)), soft)


def dedupe(values: Iterable[T]) -> list[T]:
    """First occurrence kept, order kept (people read the result in the order they typed)."""
    return list(dict.fromkeys(values))


def read_url_file(path: str | os.PathLike[str]) -> list[str]:
    """One URL per line; blank lines and ``#`` comments ignored; ``-`` is stdin."""
    import sys

    text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def batches(values: Sequence[T], max_items: int, max_bytes: int | None = None,
            size: Callable[[T], int] | None = None, overhead: int = 0) -> Iterator[list[T]]:
    """Consecutive batches of at most ``max_items`` values and ``max_bytes`` (sum of ``size``
    plus ``overhead`` per batch). A single value larger than ``max_bytes`` is an error: a
    vendor would refuse it, better say so before sending anything."""
    if max_items < 1:
        raise ValueError("max_items must be ≥ 1")
    measure = size or (lambda v: len(str(v).encode("utf-8")))
    batch: list[T] = []
    used = overhead
    for value in values:
        n = measure(value)
        if max_bytes is not None and overhead + n > max_bytes:
            raise ValueError(f"{str(value)[:80]!r} alone exceeds the {max_bytes}-byte limit of one call")
        if batch and (len(batch) >= max_items or (max_bytes is not None and used + n > max_bytes)):
            yield batch
            batch, used = [], overhead
        batch.append(value)
        used += n
    if batch:
        yield batch


# -- resuming -----------------------------------------------------------------------------

RESUME_MAX_AGE = 30 * 60


@dataclass
class ResumeState:
    """What failed, per target, for the last runs of each flush request (by fingerprint).

    A re-run of the *same* request (same site, items and mode) within ``RESUME_MAX_AGE``
    (30 min) sends only the items that failed on each target. Older entries are ignored:
    a page may have changed again since the targets that succeeded were flushed.
    ``--fresh`` ignores the state. An entry is removed when its flush fully succeeds.
    """

    path: Path
    data: dict[str, dict[str, object]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path, site: str) -> ResumeState:
        path = directory / "flush-resume" / f"{site}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return cls(path, data if isinstance(data, dict) else {})

    def pending(self, fingerprint: str, now: float | None = None) -> dict[str, list[Item]] | None:
        """Target name → items still to do, or None when there is nothing to resume."""
        entry = self.data.get(fingerprint)
        now = time.time() if now is None else now
        if not isinstance(entry, dict) or now - float(entry.get("at", 0)) > RESUME_MAX_AGE:  # type: ignore[arg-type]
            return None
        failed = entry.get("failed")
        if not isinstance(failed, dict):
            return None
        return {str(t): [Item(str(i["kind"]), str(i["value"])) for i in items]  # type: ignore[index]
                for t, items in failed.items() if isinstance(items, list)}

    def save(self, fingerprint: str, failed: dict[str, list[Item]], now: float | None = None) -> None:
        now = time.time() if now is None else now
        # forget stale entries so the file stays small
        self.data = {k: v for k, v in self.data.items()
                     if isinstance(v, dict) and now - float(v.get("at", 0)) <= RESUME_MAX_AGE}  # type: ignore[arg-type]
        if failed:
            self.data[fingerprint] = {"at": now, "failed": {t: [i.to_json() for i in items]
                                                           for t, items in failed.items() if items}}
        else:
            self.data.pop(fingerprint, None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)
