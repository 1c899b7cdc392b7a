"""The registers behind the quality indicators: incidents, changes, probe results.

Each register is importable from CSV (UTF-8, optional BOM, ``,`` or ``;`` separated, one
header line naming the columns). Rules of an import:

- timestamps are ISO 8601 **with** a UTC offset (``2025-04-03T10:00:00+02:00`` or ``…Z``);
  a time without an offset is refused, never guessed;
- the file is checked whole first: every bad value is reported as ``file:line: column:
  message`` (the line where the record starts), and **nothing** is imported from a file
  with any error, so a fixed file can simply be imported again;
- an id already in the register is updated (the row is replaced), never duplicated; an
  id twice in the same file is an error; rows identical to what is stored are left
  alone, so re-importing a file changes nothing.

Storage is behind :class:`RegisterStore`; :class:`MemoryStore` keeps records in memory
(CSV-only reports, tests) and ``reports.store.ClickHouseRegisterStore`` keeps them in the
ClickHouse store next to the logs.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

ALL_SITES = "*"

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#@+-]{0,127}$")


class Impact(StrEnum):
    NONE = "none"
    PARTIAL = "partial"
    FULL = "full"


class DetectedBy(StrEnum):
    PROVIDER = "provider"
    ADMINISTRATION = "administration"


@dataclass(frozen=True)
class Incident:
    """One incident. ``site`` is a host name, or ``*`` for an incident of the whole CDN."""

    id: str
    site: str
    started_at: datetime
    detected_at: datetime
    detected_by: DetectedBy
    impact: Impact
    notified_at: datetime | None = None
    resolved_at: datetime | None = None  # None while the incident is still open
    provider_responsible: bool = True
    planned_maintenance: bool = False
    description: str = ""

    def applies_to(self, site: str) -> bool:
        return self.site in (site, ALL_SITES)

    def problems(self) -> list[tuple[str, str]]:
        """(column, message) for each inconsistency between fields."""
        out: list[tuple[str, str]] = []
        if self.detected_at < self.started_at:
            out.append(("detected_at", "is before started_at"))
        # Planned maintenance is announced beforehand; an incident cannot be.
        early = self.notified_at is not None and self.notified_at < self.started_at
        if early and not self.planned_maintenance:
            out.append(("notified_at", "is before started_at (allowed only for planned maintenance)"))
        if self.resolved_at is not None and self.resolved_at < self.started_at:
            out.append(("resolved_at", "is before started_at"))
        return out


@dataclass(frozen=True)
class Change:
    """A configuration change requested by the administration (QS-06, QS-07)."""

    id: str
    site: str
    requested_at: datetime
    effective_at: datetime | None = None        # None while not done yet
    dossier_updated_at: datetime | None = None  # None while the dossier is not updated
    description: str = ""

    def applies_to(self, site: str) -> bool:
        return self.site in (site, ALL_SITES)

    def problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.effective_at is not None and self.effective_at < self.requested_at:
            out.append(("effective_at", "is before requested_at"))
        if self.dossier_updated_at is not None and self.dossier_updated_at < self.requested_at:
            out.append(("dossier_updated_at", "is before requested_at"))
        return out


@dataclass(frozen=True)
class Probe:
    """One check of a site through the CDN (``cdnctl probe``, or imported from a monitor)."""

    site: str
    at: datetime
    ok: bool
    status: int | None = None
    duration_s: float | None = None
    error: str = ""

    @property
    def id(self) -> str:
        # A site is probed at most once per instant: (site, time) is the natural key.
        return f"{self.site}@{self.at.astimezone(UTC).isoformat()}"

    def applies_to(self, site: str) -> bool:
        return self.site == site

    def problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.status is not None and not 100 <= self.status <= 599:
            out.append(("status", f"{self.status} is not an HTTP status"))
        if self.duration_s is not None and self.duration_s < 0:
            out.append(("duration_s", "is negative"))
        return out


Record = Incident | Change | Probe
R = TypeVar("R", Incident, Change, Probe)


# --- value parsers (CSV text → typed value; ValueError carries the message) ---------------


def parse_timestamp(text: str) -> datetime:
    value = text.strip()
    if value.endswith(("z", "Z")):
        value = value[:-1] + "+00:00"
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 timestamp (e.g. 2025-04-03T10:00:00+02:00)") from None
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset; write it as e.g. {value}+02:00 or {value}Z")
    return ts


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError(f"{text!r} is not true or false")


def _enum_parser(enum: type[StrEnum]) -> Callable[[str], StrEnum]:
    def parse(text: str) -> StrEnum:
        try:
            return enum(text.strip().lower())
        except ValueError:
            allowed = "|".join(e.value for e in enum)
            raise ValueError(f"{text!r} is not one of {allowed}") from None
    return parse


def parse_id(text: str) -> str:
    value = text.strip()
    if not _ID.match(value):
        raise ValueError(f"{text!r} is not an id (letters, digits and ._:/#@+- , at most 128)")
    return value


def parse_site(text: str, allow_all: bool = True) -> str:
    value = text.strip().lower().rstrip(".")
    if allow_all and value == ALL_SITES:
        return value
    if not _HOST.match(value):
        extra = " or * for every site" if allow_all else ""
        raise ValueError(f"{text!r} is not a host name{extra}")
    return value


def parse_probe_site(text: str) -> str:
    return parse_site(text, allow_all=False)


def parse_status(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an HTTP status") from None


def parse_seconds(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None


def parse_text(text: str) -> str:
    return text.strip()


# --- register specifications -------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], object]
    required: bool = True   # an empty value is an error
    in_header: bool = True  # the header must name it


@dataclass(frozen=True)
class Register:
    kind: str  # "incidents", "changes", "probes"
    record: type
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


INCIDENTS = Register("incidents", Incident, (
    Column("id", parse_id),
    Column("site", parse_site),
    Column("started_at", parse_timestamp),
    Column("detected_at", parse_timestamp),
    Column("detected_by", _enum_parser(DetectedBy)),
    Column("notified_at", parse_timestamp, required=False),
    Column("resolved_at", parse_timestamp, required=False),
    Column("impact", _enum_parser(Impact)),
    Column("provider_responsible", parse_bool),
    Column("planned_maintenance", parse_bool),
    Column("description", parse_text, required=False, in_header=False),
))

CHANGES = Register("changes", Change, (
    Column("id", parse_id),
    Column("site", parse_site),
    Column("requested_at", parse_timestamp),
    Column("effective_at", parse_timestamp, required=False),
    Column("dossier_updated_at", parse_timestamp, required=False),
    Column("description", parse_text, required=False, in_header=False),
))

PROBES = Register("probes", Probe, (
    Column("site", parse_probe_site),
    Column("at", parse_timestamp),
    Column("ok", parse_bool),
    Column("status", parse_status, required=False),
    Column("duration_s", parse_seconds, required=False),
    Column("error", parse_text, required=False, in_header=False),
))

REGISTERS = {r.kind: r for r in (INCIDENTS, CHANGES, PROBES)}


# --- CSV reading ------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


@dataclass
class Parsed:
    """A whole file read: records with the line each starts on, or the errors."""

    register: Register
    file: str
    records: list[tuple[int, Record]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _delimiter(header_line: str) -> str:
    # French spreadsheets export with ';' because ',' is their decimal separator.
    return ";" if header_line.count(";") > header_line.count(",") else ","


def parse_csv(register: Register, text: str, file: str = "<csv>") -> Parsed:
    """Read every row of ``text``; never raises for bad data, returns the errors instead."""
    out = Parsed(register, file)
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    if not first.strip():
        out.errors.append(RowError(file, 1, None, f"no header line; expected: {','.join(register.names)}"))
        return out
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    header = [h.strip().lower() for h in next(reader)]
    if not _check_header(register, header, file, out.errors):
        return out
    index = {name: i for i, name in enumerate(header)}
    seen: dict[str, int] = {}
    line = reader.line_num + 1
    for row in reader:
        start, line = line, reader.line_num + 1  # a quoted field may span several lines
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            out.errors.append(RowError(file, start, None, f"{len(row)} fields, the header has {len(header)}"))
            continue
        record = _build(register, row, index, file, start, out.errors)
        if record is None:
            continue
        if record.id in seen:
            out.errors.append(RowError(file, start, "id" if register is not PROBES else "at",
                                       f"{record.id} is already on line {seen[record.id]}"))
            continue
        seen[record.id] = start
        out.records.append((start, record))
    return out


def _check_header(register: Register, header: list[str], file: str, errors: list[RowError]) -> bool:
    known = register.names
    ok = True
    for name in header:
        if name not in known:
            hint = difflib.get_close_matches(name, known, n=1)
            suffix = f" (did you mean {hint[0]}?)" if hint else ""
            errors.append(RowError(file, 1, name, f"unknown column{suffix}; columns: {','.join(known)}"))
            ok = False
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        errors.append(RowError(file, 1, dup[0], "column appears twice"))
        ok = False
    missing = [c.name for c in register.columns if c.in_header and c.name not in header]
    if missing:
        errors.append(RowError(file, 1, None, f"missing column(s): {', '.join(missing)}"))
        ok = False
    return ok


def _build(register: Register, row: list[str], index: dict[str, int], file: str, line: int,
           errors: list[RowError]) -> Record | None:
    values: dict[str, object] = {}
    bad = False
    for col in register.columns:
        raw = row[index[col.name]] if col.name in index else ""
        if not raw.strip():
            if col.required:
                errors.append(RowError(file, line, col.name, "is empty"))
                bad = True
            continue
        try:
            values[col.name] = col.parse(raw)
        except ValueError as exc:
            errors.append(RowError(file, line, col.name, str(exc)))
            bad = True
    if bad:
        return None
    record = register.record(**values)
    problems = record.problems()
    for column, message in problems:
        errors.append(RowError(file, line, column, message))
    return None if problems else record


def read_csv(register: Register, path: Path) -> Parsed:
    """A CSV file, gzip-compressed or not (recognised by its bytes: a month of minute probes
    is 43,200 rows per site)."""
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        text = data.decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        parsed = Parsed(register, str(path))
        parsed.errors.append(RowError(str(path), 1, None, f"cannot read the file: {exc}"))
        return parsed
    except UnicodeDecodeError as exc:
        parsed = Parsed(register, str(path))
        parsed.errors.append(RowError(str(path), 1, None, f"not UTF-8 ({exc.reason} at byte {exc.start})"))
        return parsed
    return parse_csv(register, text, str(path))


def load_csv(register: Register, path: Path) -> list[Record]:
    """The records of a valid file; ValueError listing every error otherwise."""
    parsed = read_csv(register, path)
    if not parsed.ok:
        raise ValueError("\n".join(str(e) for e in parsed.errors))
    return [r for _line, r in parsed.records]


# --- probe coverage --------------------------------------------------------------------

# How long one probe result stands for at most: the 1-minute cron period and its jitter.
# A run of failures is an outage until the next probe or this long after the last failure;
# a probe observes the site until the next probe or this long, so a stopped prober neither
# invents downtime nor vouches for time nobody watched.
PROBE_INTERVAL = timedelta(seconds=90)


@dataclass(frozen=True)
class ProbeSpan:
    """Consecutive probes of a site no more than ``probe_interval`` apart: observed time."""

    site: str
    start: datetime
    end: datetime        # last probe + probe_interval
    probes: int


def probe_spans(probes: Iterable[Probe], interval: timedelta = PROBE_INTERVAL) -> list[ProbeSpan]:
    """The observed spans of each site (the SQL side computes the same in the store)."""
    out: list[ProbeSpan] = []
    first: Probe | None = None
    last: Probe | None = None
    n = 0
    for p in sorted(probes, key=lambda p: (p.site, p.at)):
        if first is not None and last is not None and (p.site != first.site or p.at - last.at > interval):
            out.append(ProbeSpan(first.site, first.at, last.at + interval, n))
            first, n = None, 0
        if first is None:
            first = p
        last = p
        n += 1
    if first is not None and last is not None:
        out.append(ProbeSpan(first.site, first.at, last.at + interval, n))
    return out


# --- storage -----------------------------------------------------------------------------


class RegisterStore(Protocol):
    def get(self, register: Register, ids: Sequence[str]) -> dict[str, Record]: ...

    def upsert(self, register: Register, records: Sequence[Record]) -> None: ...

    def delete(self, register: Register, ids: Sequence[str]) -> int: ...

    def incidents(self, site: str | None = None, start: datetime | None = None,
                  end: datetime | None = None) -> list[Incident]: ...

    def changes(self, site: str | None = None, start: datetime | None = None,
                end: datetime | None = None) -> list[Change]: ...

    def probes(self, site: str | None = None, start: datetime | None = None,
               end: datetime | None = None) -> list[Probe]: ...

    def probe_failures(self, site: str | None = None, start: datetime | None = None,
                       end: datetime | None = None) -> list[Probe]: ...

    def probe_spans(self, site: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, interval: timedelta = ...) -> list[ProbeSpan]: ...

    def sites(self) -> list[str]: ...


def incident_overlaps(i: Incident, start: datetime | None, end: datetime | None) -> bool:
    if end is not None and i.started_at >= end:
        return False
    return not (start is not None and i.resolved_at is not None and i.resolved_at < start)


def change_overlaps(c: Change, start: datetime | None, end: datetime | None) -> bool:
    # A change matters to a period from its request until both its effect and its dossier are done.
    if end is not None and c.requested_at >= end:
        return False
    if start is None or c.effective_at is None or c.dossier_updated_at is None:
        return True
    return max(c.effective_at, c.dossier_updated_at) >= start


def failures_and_recoveries(probes: Iterable[Probe]) -> list[Probe]:
    """The failed probes and the first success after each run of failures, by (site, time)."""
    out: list[Probe] = []
    previous: Probe | None = None
    for p in sorted(probes, key=lambda p: (p.site, p.at)):
        after_failure = previous is not None and previous.site == p.site and not previous.ok
        if not p.ok or after_failure:
            out.append(p)
        previous = p
    return out


class MemoryStore:
    """Records in dicts; the reference behaviour for other stores."""

    def __init__(self, incidents: Iterable[Incident] = (), changes: Iterable[Change] = (),
                 probes: Iterable[Probe] = ()) -> None:
        self._data: dict[str, dict[str, Record]] = {"incidents": {}, "changes": {}, "probes": {}}
        self.upsert(INCIDENTS, list(incidents))
        self.upsert(CHANGES, list(changes))
        self.upsert(PROBES, list(probes))

    def get(self, register: Register, ids: Sequence[str]) -> dict[str, Record]:
        table = self._data[register.kind]
        return {i: table[i] for i in ids if i in table}

    def upsert(self, register: Register, records: Sequence[Record]) -> None:
        self._data[register.kind].update((r.id, r) for r in records)

    def delete(self, register: Register, ids: Sequence[str]) -> int:
        table = self._data[register.kind]
        return sum(table.pop(i, None) is not None for i in ids)

    def incidents(self, site: str | None = None, start: datetime | None = None,
                  end: datetime | None = None) -> list[Incident]:
        rows = [r for r in self._data["incidents"].values() if isinstance(r, Incident)]
        kept = [i for i in rows if (site is None or i.applies_to(site)) and incident_overlaps(i, start, end)]
        return sorted(kept, key=lambda i: (i.started_at, i.id))

    def changes(self, site: str | None = None, start: datetime | None = None,
                end: datetime | None = None) -> list[Change]:
        rows = [r for r in self._data["changes"].values() if isinstance(r, Change)]
        kept = [c for c in rows if (site is None or c.applies_to(site)) and change_overlaps(c, start, end)]
        return sorted(kept, key=lambda c: (c.requested_at, c.id))

    def probes(self, site: str | None = None, start: datetime | None = None,
               end: datetime | None = None) -> list[Probe]:
        rows = [r for r in self._data["probes"].values() if isinstance(r, Probe)]
        return sorted((p for p in rows if (site is None or p.site == site)
                       and (start is None or p.at >= start) and (end is None or p.at < end)),
                      key=lambda p: (p.site, p.at))

    def probe_failures(self, site: str | None = None, start: datetime | None = None,
                       end: datetime | None = None) -> list[Probe]:
        return failures_and_recoveries(self.probes(site, start, end))

    def probe_spans(self, site: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, interval: timedelta | None = None) -> list[ProbeSpan]:
        return probe_spans(self.probes(site, start, end), interval or PROBE_INTERVAL)

    def sites(self) -> list[str]:
        return sorted({r.site for table in self._data.values() for r in table.values()} - {ALL_SITES})


@dataclass
class ImportResult:
    register: str
    file: str
    rows: int = 0
    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, object]:
        return {"register": self.register, "file": self.file, "ok": self.ok, "rows": self.rows,
                "inserted": len(self.inserted), "updated": len(self.updated),
                "unchanged": len(self.unchanged),
                "updated_ids": self.updated, "errors": [e.to_json() for e in self.errors]}


def same_record(a: Record, b: Record) -> bool:
    """Equal as stored: instants compare as instants whatever offset they were written with."""
    return type(a) is type(b) and all(getattr(a, f.name) == getattr(b, f.name) for f in fields(a))


def import_records(store: RegisterStore, parsed: Parsed) -> ImportResult:
    """Store a parsed file: all of it, or nothing when it has any error."""
    result = ImportResult(parsed.register.kind, parsed.file, rows=len(parsed.records),
                          errors=list(parsed.errors))
    if not parsed.ok:
        return result
    records = [r for _line, r in parsed.records]
    existing = store.get(parsed.register, [r.id for r in records])
    changed: list[Record] = []
    for record in records:
        old = existing.get(record.id)
        if old is None:
            result.inserted.append(record.id)
            changed.append(record)
        elif same_record(old, record):
            result.unchanged.append(record.id)
        else:
            result.updated.append(record.id)
            changed.append(record)
    if changed:
        store.upsert(parsed.register, changed)
    return result


def import_csv(store: RegisterStore, register: Register, path: Path) -> ImportResult:
    return import_records(store, read_csv(register, path))


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return str(value)


def edit_record(store: RegisterStore, register: Register, record_id: str,
                assignments: dict[str, str]) -> tuple[Record, bool]:
    """Create or update one record from ``column=value`` texts, checked like a CSV row.

    Returns (record, created). ValueError lists every problem; nothing is stored then.
    """
    if register is PROBES:
        raise ValueError("probe results are not edited; import them again instead")
    unknown = sorted(set(assignments) - set(register.names))
    if unknown or "id" in assignments:
        names = ", ".join(n for n in register.names if n != "id")
        raise ValueError(f"unknown or fixed column(s): {', '.join(unknown or ['id'])}; editable: {names}")
    old = store.get(register, [record_id]).get(record_id)
    row = {c.name: _as_text(getattr(old, c.name)) if old is not None else "" for c in register.columns}
    row.update(assignments)
    row["id"] = record_id
    errors: list[RowError] = []
    names = register.names
    index = {n: i for i, n in enumerate(names)}
    record = _build(register, [row[n] for n in names], index, "<cli>", 0, errors)
    if record is None:
        raise ValueError("\n".join(f"{e.column}: {e.message}" if e.column else e.message for e in errors))
    if old is None or not same_record(old, record):
        store.upsert(register, [record])
    return record, old is None


def with_utc(record: R) -> R:
    """The same record with every instant in UTC (how stores hand them back)."""
    updates = {f.name: getattr(record, f.name).astimezone(UTC) for f in fields(record)
               if isinstance(getattr(record, f.name), datetime)}
    return replace(record, **updates)
