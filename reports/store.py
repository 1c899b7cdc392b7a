"""The QS registers kept in ClickHouse (embedded chDB or a server), next to the logs.

Values are always bound as query parameters or sent through ``client.insert``; no value
is ever formatted into SQL text. Only fixed WHERE fragments are chosen in Python.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from reports.registers import (
    CHANGES,
    INCIDENTS,
    PROBE_INTERVAL,
    PROBES,
    Change,
    DetectedBy,
    Impact,
    Incident,
    Probe,
    ProbeSpan,
    Record,
    Register,
)
from reports.schema import ensure_schema

_TABLE = {"incidents": "reg_incidents", "changes": "reg_changes", "probes": "reg_probes"}

_INCIDENT_COLS = ["id", "site", "started_at", "detected_at", "detected_by", "notified_at", "resolved_at",
                  "impact", "provider_responsible", "planned_maintenance", "description"]
_CHANGE_COLS = ["id", "site", "requested_at", "effective_at", "dossier_updated_at", "description"]
_PROBE_COLS = ["site", "at", "ok", "status", "duration_s", "error"]
_COLS = {"incidents": _INCIDENT_COLS, "changes": _CHANGE_COLS, "probes": _PROBE_COLS}


def _utc(ts: datetime | None) -> datetime | None:
    # clickhouse-connect hands back naive datetimes for a UTC column; they are UTC.
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _req(ts: datetime | None) -> datetime:
    value = _utc(ts)
    assert value is not None  # NOT NULL column
    return value


def _incident(row: Sequence[Any]) -> Incident:
    (id_, site, started, detected, by, notified, resolved, impact, responsible, planned, desc) = row
    return Incident(id=id_, site=site, started_at=_req(started), detected_at=_req(detected),
                    detected_by=DetectedBy(by), notified_at=_utc(notified), resolved_at=_utc(resolved),
                    impact=Impact(impact), provider_responsible=bool(responsible),
                    planned_maintenance=bool(planned), description=desc)


def _change(row: Sequence[Any]) -> Change:
    (id_, site, requested, effective, dossier, desc) = row
    return Change(id=id_, site=site, requested_at=_req(requested), effective_at=_utc(effective),
                  dossier_updated_at=_utc(dossier), description=desc)


def _probe(row: Sequence[Any]) -> Probe:
    (site, at, ok, status, duration, error) = row
    return Probe(site=site, at=_req(at), ok=bool(ok), status=status, duration_s=duration, error=error)


def _values(register: Register, record: Record) -> list[Any]:
    out: list[Any] = []
    for name in _COLS[register.kind]:
        value = getattr(record, name)
        out.append(value.value if hasattr(value, "value") else value)
    return out


class ClickHouseRegisterStore:
    """:class:`reports.registers.RegisterStore` over a clickhouse-connect client (not owned)."""

    def __init__(self, client: Any, create: bool = True) -> None:
        self.client = client
        if create:
            ensure_schema(client)

    # Writes ------------------------------------------------------------------------------

    def upsert(self, register: Register, records: Sequence[Record]) -> None:
        if not records:
            return
        version = time.time_ns()
        rows = [[*_values(register, r), version, 0] for r in records]
        self.client.insert(_TABLE[register.kind], rows,
                           column_names=[*_COLS[register.kind], "version", "is_deleted"])

    def delete(self, register: Register, ids: Sequence[str]) -> int:
        existing = self.get(register, ids)
        if not existing:
            return 0
        version = time.time_ns()
        # A tombstone repeats the row with is_deleted = 1; FINAL then drops the id.
        rows = [[*_values(register, r), version, 1] for r in existing.values()]
        self.client.insert(_TABLE[register.kind], rows,
                           column_names=[*_COLS[register.kind], "version", "is_deleted"])
        return len(existing)

    # Reads -------------------------------------------------------------------------------

    def get(self, register: Register, ids: Sequence[str]) -> dict[str, Record]:
        if not ids:
            return {}
        if register is PROBES:
            found = [p for p in self._probes_by_key(ids)]
            return {p.id: p for p in found if p.id in set(ids)}
        table = _TABLE[register.kind]
        cols = ", ".join(_COLS[register.kind])
        rows = self.client.query(f"SELECT {cols} FROM {table} FINAL WHERE id IN {{ids:Array(String)}}",
                                 parameters={"ids": list(ids)}).result_rows
        build = _incident if register is INCIDENTS else _change
        return {r[0]: build(r) for r in rows}

    def _probes_by_key(self, ids: Sequence[str]) -> list[Probe]:
        keys = [i.rsplit("@", 1) for i in ids]
        sites = sorted({k[0] for k in keys})
        ats = [datetime.fromisoformat(k[1]) for k in keys if len(k) == 2]
        if not ats:
            return []
        return self.probes(site=None, start=min(ats), end=max(ats), sites=sites, inclusive_end=True)

    def incidents(self, site: str | None = None, start: datetime | None = None,
                  end: datetime | None = None) -> list[Incident]:
        where, params = ["1"], {}
        if site is not None:
            where.append("site IN ({site:String}, '*')")
            params["site"] = site
        if end is not None:
            where.append("started_at < {end:DateTime64(6, 'UTC')}")
            params["end"] = _utc(end)
        if start is not None:
            where.append("(resolved_at IS NULL OR resolved_at >= {start:DateTime64(6, 'UTC')})")
            params["start"] = _utc(start)
        sql = (f"SELECT {', '.join(_INCIDENT_COLS)} FROM reg_incidents FINAL "
               f"WHERE {' AND '.join(where)} ORDER BY started_at, id")
        return [_incident(r) for r in self.client.query(sql, parameters=params).result_rows]

    def changes(self, site: str | None = None, start: datetime | None = None,
                end: datetime | None = None) -> list[Change]:
        where, params = ["1"], {}
        if site is not None:
            where.append("site IN ({site:String}, '*')")
            params["site"] = site
        if end is not None:
            where.append("requested_at < {end:DateTime64(6, 'UTC')}")
            params["end"] = _utc(end)
        if start is not None:
            where.append("(effective_at IS NULL OR dossier_updated_at IS NULL "
                         "OR greatest(effective_at, dossier_updated_at) >= {start:DateTime64(6, 'UTC')})")
            params["start"] = _utc(start)
        sql = (f"SELECT {', '.join(_CHANGE_COLS)} FROM reg_changes FINAL "
               f"WHERE {' AND '.join(where)} ORDER BY requested_at, id")
        return [_change(r) for r in self.client.query(sql, parameters=params).result_rows]

    def probes(self, site: str | None = None, start: datetime | None = None, end: datetime | None = None,
               sites: Sequence[str] | None = None, inclusive_end: bool = False) -> list[Probe]:
        where, params = self._probe_where(site, start, end, sites, inclusive_end)
        sql = (f"SELECT {', '.join(_PROBE_COLS)} FROM reg_probes FINAL "
               f"WHERE {' AND '.join(where)} ORDER BY site, at")
        return [_probe(r) for r in self.client.query(sql, parameters=params).result_rows]

    def probe_failures(self, site: str | None = None, start: datetime | None = None,
                       end: datetime | None = None) -> list[Probe]:
        """Failed probes and the first success after each run of failures: all QS-02 needs.

        A month of minute probes is 43,200 rows per site; the outages need only the few
        rows around failures, so the window function keeps the rest in the database.
        """
        where, params = self._probe_where(site, start, end, None, False)
        sql = (f"SELECT {', '.join(_PROBE_COLS)} FROM ("
               f"  SELECT {', '.join(_PROBE_COLS)}, lagInFrame(ok, 1, true) OVER ("
               f"    PARTITION BY site ORDER BY at ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev_ok"
               f"  FROM reg_probes FINAL WHERE {' AND '.join(where)}"
               f") WHERE NOT ok OR NOT prev_ok ORDER BY site, at")
        return [_probe(r) for r in self.client.query(sql, parameters=params).result_rows]

    def probe_spans(self, site: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, interval: timedelta = PROBE_INTERVAL) -> list[ProbeSpan]:
        """Observed spans (``reports.qs.probe_spans``) computed in the database: a month of
        minute probes of 50 sites is 2 million rows, the spans a handful."""
        where, params = self._probe_where(site, start, end, None, False)
        params["gap"] = interval // timedelta(microseconds=1)
        sql = (f"SELECT site, min(at), max(at), count() FROM ("
               f"  SELECT site, at, sum(new) OVER (PARTITION BY site ORDER BY at"
               f"    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS span FROM ("
               f"    SELECT site, at, dateDiff('microsecond', lagInFrame(at, 1, at) OVER ("
               f"      PARTITION BY site ORDER BY at ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), at)"
               f"        > {{gap:Int64}} AS new"
               f"    FROM reg_probes FINAL WHERE {' AND '.join(where)}))"
               f" GROUP BY site, span ORDER BY site, min(at)")
        return [ProbeSpan(s, _req(lo), _req(hi) + interval, int(n))
                for s, lo, hi, n in self.client.query(sql, parameters=params).result_rows]

    @staticmethod
    def _probe_where(site: str | None, start: datetime | None, end: datetime | None,
                     sites: Sequence[str] | None, inclusive_end: bool) -> tuple[list[str], dict[str, Any]]:
        where: list[str] = ["1"]
        params: dict[str, Any] = {}
        if site is not None:
            where.append("site = {site:String}")
            params["site"] = site
        if sites is not None:
            where.append("site IN {sites:Array(String)}")
            params["sites"] = list(sites)
        if start is not None:
            where.append("at >= {start:DateTime64(6, 'UTC')}")
            params["start"] = _utc(start)
        if end is not None:
            op = "<=" if inclusive_end else "<"
            where.append(f"at {op} {{end:DateTime64(6, 'UTC')}}")
            params["end"] = _utc(end)
        return where, params

    def sites(self) -> list[str]:
        sql = ("SELECT DISTINCT site FROM (SELECT site FROM reg_incidents FINAL UNION ALL "
               "SELECT site FROM reg_changes FINAL UNION ALL SELECT site FROM reg_probes FINAL) "
               "WHERE site != '*' ORDER BY site")
        return [r[0] for r in self.client.query(sql).result_rows]


__all__ = ["CHANGES", "INCIDENTS", "PROBES", "ClickHouseRegisterStore"]
