"""CSV import of the registers and the two stores (memory, ClickHouse embedded)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reports.registers import (
    CHANGES,
    INCIDENTS,
    PROBES,
    Change,
    DetectedBy,
    Impact,
    Incident,
    MemoryStore,
    Probe,
    RegisterStore,
    failures_and_recoveries,
    import_csv,
    parse_csv,
)

HEADER = ("id,site,started_at,detected_at,detected_by,notified_at,resolved_at,impact,"
          "provider_responsible,planned_maintenance,description\n")
ROW1 = ("INC-1,www.example.gouv.fr,2025-04-03T10:00:00+02:00,2025-04-03T10:05:00+02:00,provider,"
        "2025-04-03T10:20:00+02:00,2025-04-03T11:30:00+02:00,full,true,false,origin timeouts\n")
ROW2 = ("INC-2,*,2025-04-10T22:00:00Z,2025-04-10T22:00:00Z,administration,,,partial,true,false,"
        "\"slow, then \"\"degraded\"\"\nin two lines\"\n")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_valid_incidents() -> None:
    parsed = parse_csv(INCIDENTS, HEADER + ROW1 + ROW2, "inc.csv")
    assert parsed.errors == []
    (l1, r1), (l2, r2) = parsed.records
    assert (l1, l2) == (2, 3)
    assert r1 == Incident(
        id="INC-1", site="www.example.gouv.fr", started_at=ts("2025-04-03T08:00:00+00:00"),
        detected_at=ts("2025-04-03T10:05:00+02:00"), detected_by=DetectedBy.PROVIDER,
        notified_at=ts("2025-04-03T10:20:00+02:00"), resolved_at=ts("2025-04-03T11:30:00+02:00"),
        impact=Impact.FULL, provider_responsible=True, planned_maintenance=False, description="origin timeouts")
    assert r2.site == "*" and r2.resolved_at is None and r2.notified_at is None
    assert r2.description == 'slow, then "degraded"\nin two lines'


def test_semicolon_separated_with_bom_and_crlf() -> None:
    text = "\ufeff" + (HEADER + ROW1).replace(",", ";").replace("\n", "\r\n")
    parsed = parse_csv(INCIDENTS, text)
    assert parsed.errors == [] and len(parsed.records) == 1


def test_every_bad_value_is_reported_with_line_and_column() -> None:
    bad = (HEADER + ROW1
           + "INC-3,www.example.gouv.fr,2025-04-03T10:00:00,2025-04-03 10:05,someone,,,down,yes,false,x\n"
           + ROW2
           + "INC-1,www.example.gouv.fr,2025-04-03T10:00:00+02:00,2025-04-03T09:00:00+02:00,provider,,"
             "2025-04-03T09:30:00+02:00,full,true,false,\n"
           + "INC-5,not a host,,2025-04-03T10:00:00+02:00,provider,,,full,true,false,\n")
    parsed = parse_csv(INCIDENTS, bad, "inc.csv")
    assert [str(e) for e in parsed.errors] == [
        "inc.csv:3: started_at: '2025-04-03T10:00:00' has no UTC offset; write it as e.g. "
        "2025-04-03T10:00:00+02:00 or 2025-04-03T10:00:00Z",
        "inc.csv:3: detected_at: '2025-04-03 10:05' has no UTC offset; write it as e.g. "
        "2025-04-03 10:05+02:00 or 2025-04-03 10:05Z",
        "inc.csv:3: detected_by: 'someone' is not one of provider|administration",
        "inc.csv:3: impact: 'down' is not one of none|partial|full",
        "inc.csv:3: provider_responsible: 'yes' is not true or false",
        # line 4-5 is ROW2 (two physical lines); the next record starts on line 6
        "inc.csv:6: detected_at: is before started_at",
        "inc.csv:6: resolved_at: is before started_at",
        "inc.csv:7: site: 'not a host' is not a host name or * for every site",
        "inc.csv:7: started_at: is empty",
    ]


def test_duplicate_id_in_one_file() -> None:
    parsed = parse_csv(INCIDENTS, HEADER + ROW1 + ROW1, "inc.csv")
    assert [str(e) for e in parsed.errors] == ["inc.csv:3: id: INC-1 is already on line 2"]


def test_header_problems() -> None:
    parsed = parse_csv(CHANGES, "id,site,requested,effective_at,descripton\n", "c.csv")
    assert [str(e) for e in parsed.errors] == [
        "c.csv:1: requested: unknown column (did you mean requested_at?); "
        "columns: id,site,requested_at,effective_at,dossier_updated_at,description",
        "c.csv:1: descripton: unknown column (did you mean description?); "
        "columns: id,site,requested_at,effective_at,dossier_updated_at,description",
        "c.csv:1: missing column(s): requested_at, dossier_updated_at",
    ]
    assert [str(e) for e in parse_csv(CHANGES, "", "c.csv").errors] == [
        "c.csv:1: no header line; expected: id,site,requested_at,effective_at,dossier_updated_at,description"]


def test_wrong_field_count() -> None:
    parsed = parse_csv(CHANGES, "id,site,requested_at,effective_at,dossier_updated_at\nC1,a.fr\n", "c.csv")
    assert [str(e) for e in parsed.errors] == ["c.csv:2: 2 fields, the header has 5"]


def test_change_consistency() -> None:
    text = ("id,site,requested_at,effective_at,dossier_updated_at\n"
            "C1,www.a.fr,2025-04-07T10:00:00+02:00,2025-04-07T09:00:00+02:00,2025-04-01T00:00:00+02:00\n")
    assert [str(e) for e in parse_csv(CHANGES, text, "c.csv").errors] == [
        "c.csv:2: effective_at: is before requested_at",
        "c.csv:2: dossier_updated_at: is before requested_at"]


def test_probe_parsing() -> None:
    text = ("site,at,ok,status,duration_s,error\n"
            "www.a.fr,2025-04-01T00:00:00+02:00,true,200,0.12,\n"
            "www.a.fr,2025-04-01T00:01:00+02:00,false,,,timeout\n"
            "www.a.fr,2025-04-01T00:02:00+02:00,false,700,-1,\n")
    parsed = parse_csv(PROBES, text, "p.csv")
    assert [str(e) for e in parsed.errors] == [
        "p.csv:4: status: 700 is not an HTTP status", "p.csv:4: duration_s: is negative"]
    assert [r.id for _l, r in parsed.records] == [
        "www.a.fr@2025-03-31T22:00:00+00:00", "www.a.fr@2025-03-31T22:01:00+00:00"]


def test_failures_and_recoveries() -> None:
    def p(minute: int, ok: bool, site: str = "a.fr") -> Probe:
        return Probe(site, ts(f"2025-04-01T10:{minute:02d}:00+00:00"), ok)
    probes = [p(0, True), p(1, False), p(2, False), p(3, True), p(4, True), p(5, False),
              p(0, False, "b.fr"), p(1, True, "b.fr")]
    kept = failures_and_recoveries(probes)
    assert [(q.site, q.at.minute) for q in kept] == [
        ("a.fr", 1), ("a.fr", 2), ("a.fr", 3), ("a.fr", 5), ("b.fr", 0), ("b.fr", 1)]


# --- through a store ----------------------------------------------------------------------


def test_import_is_all_or_nothing(store: RegisterStore, tmp_path: Path) -> None:
    path = write(tmp_path, "inc.csv", HEADER + ROW1 + ROW1.replace("INC-1", "INC-9").replace("full", "fuul"))
    result = import_csv(store, INCIDENTS, path)
    assert not result.ok
    assert [str(e) for e in result.errors] == [f"{path}:3: impact: 'fuul' is not one of none|partial|full"]
    assert store.incidents() == []


def test_reimport_updates_never_duplicates(store: RegisterStore, tmp_path: Path) -> None:
    first = import_csv(store, INCIDENTS, write(tmp_path, "a.csv", HEADER + ROW1 + ROW2))
    assert (first.inserted, first.updated, first.unchanged) == (["INC-1", "INC-2"], [], [])
    again = import_csv(store, INCIDENTS, write(tmp_path, "b.csv", HEADER + ROW1 + ROW2))
    assert (again.inserted, again.updated, again.unchanged) == ([], [], ["INC-1", "INC-2"])
    # Same instant written in UTC instead of +02:00: unchanged. A new resolution time: updated.
    row1_utc = ROW1.replace("2025-04-03T10:00:00+02:00", "2025-04-03T08:00:00Z")
    row2_fixed = ROW2.replace(",,,partial", ",,2025-04-11T01:00:00+02:00,partial")
    third = import_csv(store, INCIDENTS, write(tmp_path, "c.csv", HEADER + row1_utc + row2_fixed))
    assert (third.inserted, third.updated, third.unchanged) == ([], ["INC-2"], ["INC-1"])
    rows = store.incidents()
    assert [i.id for i in rows] == ["INC-1", "INC-2"]
    assert rows[1].resolved_at == ts("2025-04-10T23:00:00+00:00")
    assert rows[1].description == 'slow, then "degraded"\nin two lines'
    assert rows[0].started_at == ts("2025-04-03T08:00:00+00:00")


def test_store_round_trip_and_filters(store: RegisterStore) -> None:
    a = Incident("I1", "a.fr", ts("2025-03-31T23:00:00+02:00"), ts("2025-03-31T23:10:00+02:00"),
                 DetectedBy.PROVIDER, Impact.FULL, resolved_at=ts("2025-04-01T01:00:00+02:00"))
    b = Incident("I2", "*", ts("2025-04-15T10:00:00+02:00"), ts("2025-04-15T10:00:00+02:00"),
                 DetectedBy.ADMINISTRATION, Impact.PARTIAL, provider_responsible=False,
                 planned_maintenance=True, description="l'équipe")
    c = Incident("I3", "b.fr", ts("2025-05-02T10:00:00+02:00"), ts("2025-05-02T10:00:00+02:00"),
                 DetectedBy.PROVIDER, Impact.NONE)
    store.upsert(INCIDENTS, [a, b, c])
    april = (ts("2025-04-01T00:00:00+02:00"), ts("2025-05-01T00:00:00+02:00"))
    assert [i.id for i in store.incidents(None, *april)] == ["I1", "I2"]
    assert [i.id for i in store.incidents("a.fr", *april)] == ["I1", "I2"]  # "*" applies to every site
    assert [i.id for i in store.incidents("b.fr", *april)] == ["I2"]
    assert store.incidents("a.fr", *april)[0] == a
    assert store.incidents("b.fr")[0] == b
    # A quote in a site name is a value, not SQL: only the all-sites incident matches.
    assert [i.id for i in store.incidents("x' OR 1=1 --")] == ["I2"]
    assert store.probes("x' OR 1=1 --") == []
    assert store.delete(INCIDENTS, ["I2", "nope"]) == 1
    assert [i.id for i in store.incidents()] == ["I1", "I3"]
    assert store.sites() == ["a.fr", "b.fr"]


def test_changes_and_probes_in_store(store: RegisterStore) -> None:
    ch = [Change("C1", "a.fr", ts("2025-04-07T10:00:00+02:00"), ts("2025-04-08T10:00:00+02:00"), None, "TTL"),
          Change("C2", "a.fr", ts("2025-03-03T10:00:00+01:00"), ts("2025-03-03T11:00:00+01:00"),
                 ts("2025-03-04T11:00:00+01:00"))]
    store.upsert(CHANGES, ch)
    april = (ts("2025-04-01T00:00:00+02:00"), ts("2025-05-01T00:00:00+02:00"))
    assert [c.id for c in store.changes("a.fr", *april)] == ["C1"]  # C2 was all done in March
    assert store.changes("a.fr")[1] == ch[0]
    probes = [Probe("a.fr", ts(f"2025-04-01T10:0{m}:00+00:00"), ok, 200 if ok else None, 0.5 if ok else None,
                    "" if ok else "timeout") for m, ok in enumerate([True, False, False, True, True])]
    store.upsert(PROBES, probes)
    assert store.probes("a.fr") == probes
    assert [p.at.minute for p in store.probe_failures("a.fr", *april)] == [1, 2, 3]
    assert store.get(PROBES, [probes[1].id]) == {probes[1].id: probes[1]}


def test_probe_reimport_is_idempotent(store: RegisterStore, tmp_path: Path) -> None:
    text = ("site,at,ok,status,duration_s\nwww.a.fr,2025-04-01T00:00:00+02:00,true,200,0.12\n"
            "www.a.fr,2025-04-01T00:01:00+02:00,false,503,1.5\n")
    assert len(import_csv(store, PROBES, write(tmp_path, "p.csv", text)).inserted) == 2
    again = import_csv(store, PROBES, write(tmp_path, "p.csv", text.replace("503", "504")))
    assert (len(again.inserted), len(again.updated), len(again.unchanged)) == (0, 1, 1)
    assert [p.status for p in store.probes()] == [200, 504]


def test_memory_store_starts_with_records() -> None:
    inc = Incident("I1", "a.fr", datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC),
                   DetectedBy.PROVIDER, Impact.FULL)
    assert MemoryStore(incidents=[inc]).incidents() == [inc]


@pytest.mark.parametrize("bad", ["2025-04-03", "03/04/2025 10:00", "2025-04-03T10:00:00+25:00"])
def test_bad_timestamps(bad: str) -> None:
    text = f"id,site,requested_at,effective_at,dossier_updated_at\nC1,a.fr,{bad},,\n"
    errors = parse_csv(CHANGES, text, "c.csv").errors
    assert len(errors) == 1 and errors[0].column == "requested_at"


def test_notified_before_start_only_for_planned_maintenance() -> None:
    early = ROW1.replace("2025-04-03T10:20:00+02:00", "2025-04-01T10:00:00+02:00")
    assert [str(e) for e in parse_csv(INCIDENTS, HEADER + early, "i.csv").errors] == [
        "i.csv:2: notified_at: is before started_at (allowed only for planned maintenance)"]
    assert parse_csv(INCIDENTS, HEADER + early.replace("true,false,origin", "true,true,origin")).ok
