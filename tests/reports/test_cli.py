"""`cdnctl incidents|changes|probes …` and `cdnctl report qs`, driven as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cdnctl.cli import cli

ROOT = Path(__file__).resolve().parents[2]
REGISTERS = ROOT / "examples" / "registers"
SITES = ROOT / "examples" / "sites"
AS_OF = "2026-06-01T00:00:00+02:00"
FILES = ["--incidents", str(REGISTERS / "incidents.csv"), "--changes", str(REGISTERS / "changes.csv"),
         "--probes", str(REGISTERS / "probes-2026-04.csv.gz")]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"CDNCTL_CLICKHOUSE_URL": f"chdb://{tmp_path}/store", "CDNCTL_POLICY_DIR": str(SITES)}


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def indicators(data: dict[str, object]) -> dict[str, dict[str, object]]:
    inds = data["indicators"]
    assert isinstance(inds, list)
    return {i["id"]: i for i in inds}


# April 2026 (30 days of CEST = 2,592,000 s) in examples/registers, by hand:
# - maintenance INC-2026-002 (site *) 02:00–04:00 on 8 April: 7,200 s excluded on each of 3 sites;
# - INC-2026-005 (origin, not the provider's) 07:00–07:45: 2,700 s excluded on interieur;
#   measured = 3 × (2,592,000 − 7,200) − 2,700 = 7,751,700 s;
# - interieur: INC-2026-001 [09:12, 09:14:30) ∪ failed probes 09:13, 09:14, ok 09:15 → [09:12, 09:15) = 180 s;
# - france2030: INC-2026-004 10:00–14:30 = 16,200 s (its failed probe at 10:00 is inside);
#   unavailable = 16,380 s → QS-02 = (7,751,700 − 16,380) / 7,751,700 = 99.78869… %.
# QS-03: 001, 003, 004 count (002 maintenance, 005 not the provider's) → 3 ≤ 4.
# QS-04: 001 150 s ok, 003 2 h 05 ok, 004 4 h 30 late → 2 / 3. QS-05: 001 27 min ok, 004 4 h 40 late → 50 %.
# QS-06: 014 Fri → Sat ok; 016 Mon 13 → due end of Tue 14, effective Wed 15 → late; 017 Fri → Sat ok;
#        015 Thu 30 Apr → (Fri 1 May) → Sat 2 May, effective Sat 09:00 ok → 3 / 4 = 75 %.
# QS-07: 014 effective Sat 4 → (Mon 6 Easter Monday) Tue 7, Wed 8 → updated Wed 8 ok; 016 Wed 15 → Thu, Fri ok;
#        017 Sat 25 → Mon 27, Tue 28 → updated Thu 30 late → 2 / 3.
EXPECTED = {
    "QS-01": (None, None),
    "QS-02": ((7_751_700 - 16_380) * 100 / 7_751_700, False),
    "QS-03": (3, True),
    "QS-04": (200 / 3, False),
    "QS-05": (50.0, False),
    "QS-06": (75.0, False),
    "QS-07": (200 / 3, False),
}


def check_expected(data: dict[str, object]) -> None:
    got = indicators(data)
    for id_, (value, passed) in EXPECTED.items():
        assert got[id_]["value"] == (pytest.approx(value) if value is not None else None), id_
        assert got[id_]["passed"] is passed, id_


def test_report_from_files(env: dict[str, str]) -> None:
    result = run("report", "qs", "--month", "2026-04", *FILES, "--as-of", AS_OF, "--json", env=env)
    # No access log in files mode: QS-01 is not measured, and the exit code says data was missing.
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert data["not_measured"] == ["QS-01", *(f"QS-01 {s}" for s in data["sites"])]
    # probes-2026-04.csv.gz: a probe a minute on 3 sites, every second of April observed
    cov = indicators(data)["QS-02"]["coverage"]
    assert (cov["probes"], cov["share"], cov["observed_s"]) == (3 * 43_200, 1, 7_751_700)
    assert data["sites"] == ["www.france2030-sommet.gouv.fr", "www.interieur.gouv.fr",
                             "www.journees-patrimoine.gouv.fr"]
    check_expected(data)
    q2 = indicators(data)["QS-02"]
    assert (q2["measured_s"], q2["unavailable_s"]) == (7_751_700, 16_380)
    for ind in data["indicators"]:
        assert {"id", "value", "target", "passed", "details"} <= set(ind)
        assert all("id" in d and "passed" in d for d in ind["details"])
    assert [d["id"] for d in indicators(data)["QS-06"]["details"] if d["passed"] is False] == ["CHG-2026-016"]


def test_report_human_output(env: dict[str, str]) -> None:
    result = run("report", "qs", "--month", "2026-04", *FILES, "--as-of", AS_OF, env=env)
    assert result.exit_code == 3, result.output
    assert "Quality indicators 2026-04 — overall (3 site(s))" in result.stdout
    assert "NOT MEASURED" in result.stdout and "not measured (not enough data): QS-01" in result.stderr
    # 16,380 s down against 775.17 s allowed (7,751,700 / 10,000), beside the rounded value
    assert "(down 16,380 s of 775.2 s" in result.stdout
    assert "QS-06 records" in result.stdout and "✘ fail" in result.stdout
    assert "21 Apr 2026 10:00" in result.stdout and "started_at=" not in result.stdout   # tables, readable times


def test_import_then_report_from_the_store(env: dict[str, str]) -> None:
    first = run("incidents", "import", str(REGISTERS / "incidents.csv"), env=env)
    assert first.exit_code == 0, first.output
    assert "5 incidents: 5 new, 0 updated, 0 unchanged" in first.stdout
    again = run("incidents", "import", str(REGISTERS / "incidents.csv"), "--json", env=env)
    assert json.loads(again.stdout)["files"][0]["unchanged"] == 5
    assert run("changes", "import", str(REGISTERS / "changes.csv"), env=env).exit_code == 0
    assert run("probes", "import", str(REGISTERS / "probes-2026-04.csv.gz"), env=env).exit_code == 0
    listed = json.loads(run("incidents", "list", "--json", env=env).stdout)
    assert [i["id"] for i in listed] == [f"INC-2026-00{n}" for n in range(1, 6)]
    france = json.loads(run("incidents", "list", "--site", "www.france2030-sommet.gouv.fr", "--json", env=env).stdout)
    assert [i["id"] for i in france] == ["INC-2026-002", "INC-2026-004"]  # the * maintenance applies too
    assert "5 incident(s)" in run("incidents", "list", env=env).stdout
    assert len(json.loads(run("changes", "list", "--month", "2026-04", "--json", env=env).stdout)) == 4
    result = run("report", "qs", "--month", "2026-04", "--as-of", AS_OF, "--json", env=env)
    assert result.exit_code == 3, result.output   # no access log: QS-01 not measured
    check_expected(json.loads(result.stdout))
    site = json.loads(run("report", "qs", "--month", "2026-04", "--site", "www.interieur.gouv.fr", "--as-of", AS_OF,
                          "--json", env=env).stdout)
    # interieur: measured 2,592,000 − 7,200 − 2,700 = 2,582,100; 180 s down → 99.99303 % > 99.99 %
    q2 = indicators(site)["QS-02"]
    assert (q2["measured_s"], q2["unavailable_s"], q2["passed"]) == (2_582_100, 180, True)
    assert site["per_site"] == {} and site["site"] == "www.interieur.gouv.fr"


def test_import_with_errors_imports_nothing(env: dict[str, str], tmp_path: Path) -> None:
    good = (REGISTERS / "incidents.csv").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text(good.replace("2026-04-21T10:00:00+02:00", "2026-04-21 10:00", 1).replace(",full,true,false,Edge",
                                                                                          ",total,true,false,Edge"))
    result = run("incidents", "import", str(bad), env=env)
    assert result.exit_code == 1
    assert f"{bad}:2: impact: 'total' is not one of none|partial|full" in result.stderr
    assert f"{bad}:5: started_at: '2026-04-21 10:00' has no UTC offset" in result.stderr
    assert "2 error(s); nothing imported" in result.stderr
    data = json.loads(run("incidents", "import", str(bad), "--json", env=env).stdout)
    assert data["ok"] is False and [(e["line"], e["column"]) for e in data["errors"]] == [
        (2, "impact"), (5, "started_at")]
    # Two files, the second bad: the good one is not imported either.
    result = run("incidents", "import", str(REGISTERS / "incidents.csv"), str(bad), env=env)
    assert result.exit_code == 1
    assert json.loads(run("incidents", "list", "--json", env=env).stdout) == []


def test_delete(env: dict[str, str]) -> None:
    run("incidents", "import", str(REGISTERS / "incidents.csv"), env=env)
    assert run("incidents", "delete", "INC-2026-003", env=env).exit_code == 0
    assert len(json.loads(run("incidents", "list", "--json", env=env).stdout)) == 4
    missing = run("incidents", "delete", "NOPE", env=env)
    assert missing.exit_code == 1 and "1 id(s) not found" in missing.stderr


def test_usage_errors(env: dict[str, str]) -> None:
    bad_month = run("report", "qs", "--month", "2026-4", env=env)
    assert bad_month.exit_code == 2 and "not a month" in bad_month.stderr
    bad_as_of = run("report", "qs", "--month", "2026-04", "--as-of", "yesterday", env=env)
    assert bad_as_of.exit_code == 2


def test_unknown_site_is_an_error_with_suggestions(env: dict[str, str]) -> None:
    run("incidents", "import", str(REGISTERS / "incidents.csv"), env=env)
    result = run("report", "qs", "--month", "2026-04", "--site", "x' OR '1'='1", "--as-of", AS_OF, env=env)
    assert result.exit_code == 2 and "unknown site \"x' OR '1'='1\"" in result.stderr
    typo = run("report", "qs", "--month", "2026-04", "--site", "www.interieur.gouv.fe", env=env)
    assert typo.exit_code == 2 and "did you mean www.interieur.gouv.fr?" in typo.stderr
    stats = run("report", "stats", "--site", "www.interieur.gouv.fe", "--from", "2026-04-01", "--to", "2026-04-02",
                env=env)
    assert stats.exit_code == 2 and "did you mean www.interieur.gouv.fr?" in stats.stderr
    weekly = run("report", "weekly", "--site", "nope.gouv.fr", "--week", "2026-W15", env=env)
    assert weekly.exit_code == 2 and "unknown site 'nope.gouv.fr'" in weekly.stderr


def test_alias_reports_its_site(env: dict[str, str]) -> None:
    run("incidents", "import", str(REGISTERS / "incidents.csv"), env=env)
    result = run("report", "qs", "--month", "2026-04", "--site", "interieur.gouv.fr", "--as-of", AS_OF, "--json",
                 env=env)
    assert json.loads(result.stdout)["site"] == "www.interieur.gouv.fr"
    assert "interieur.gouv.fr is an alias of www.interieur.gouv.fr" in result.stderr


def test_qs01_from_the_log_store(env: dict[str, str], tmp_path: Path) -> None:
    # 2 April: 10 requests, one of 2.5 s → 9 / 10 = 90 % (passes, ≥ 90 %).
    # 3 April 23:30 CEST (still 3 April in Paris, 21:30 UTC): 3 s, exactly 2 s, 1.999999 s and 7 fast
    # → 8 / 10 = 80 %. Month: 17 / 20 = 85 % < 90 % → fail.
    lines = [f'192.0.2.{i} - - [02/Apr/2026:10:00:{i:02d} +0200] "GET /p{i} HTTP/1.1" 200 123 '
             f'{2_500_000 if i == 0 else 150_000}' for i in range(10)]
    lines += [f'192.0.2.{i} - - [03/Apr/2026:23:30:{i:02d} +0200] "GET /q HTTP/1.1" 200 10 '
              f'{ {0: 3_000_000, 1: 2_000_000, 2: 1_999_999}.get(i, 100) }' for i in range(10)]
    log = tmp_path / "access.log"
    log.write_text("\n".join(lines) + "\n")
    ingest = run("logs", "ingest", str(log), "--format", '%h %l %u %t "%r" %>s %b %D', "--site",
                 "www.interieur.gouv.fr", "--settle", "0", env=env)
    assert ingest.exit_code == 0, ingest.output
    data = json.loads(run("report", "qs", "--month", "2026-04", "--as-of", AS_OF, "--json", env=env).stdout)
    q1 = indicators(data)["QS-01"]
    assert (q1["value"], q1["requests"], q1["timed"], q1["under_2s"]) == (85.0, 20, 20, 17)
    # The file covers 2–3 April (its records' span): 2 of the 29 days due from its first day
    # (1 April is before the site's first log file) → not measured, not "fail" nor "pass".
    assert (q1["passed"], q1["status"]) == (None, "not_measured")
    cov = q1["coverage"]["sites"]["www.interieur.gouv.fr"]
    assert (cov["expected_days"], cov["days_with_logs"], cov["before_first_day"]) == (29, 2, 1)
    assert q1["note"] == "not measured: logs cover 2 of 89 day(s) expected (at least 95% needed)"
    loose = json.loads(run("report", "qs", "--month", "2026-04", "--site", "www.interieur.gouv.fr", "--as-of", AS_OF,
                           "--min-coverage", "5", "--json", env=env).stdout)
    assert (indicators(loose)["QS-01"]["passed"], indicators(loose)["QS-01"]["status"]) == (False, "fail")
    assert [(d["id"], d["share"], d["passed"]) for d in q1["details"]] == [
        ("2026-04-02", 90.0, True), ("2026-04-03", 80.0, False)]
    # The logged site counts in the overall availability even without any incident.
    assert data["sites"] == ["www.france2030-sommet.gouv.fr", "www.interieur.gouv.fr",
                             "www.journees-patrimoine.gouv.fr"]
    other = json.loads(run("report", "qs", "--month", "2026-04", "--site", "www.france2030-sommet.gouv.fr",
                           "--as-of", AS_OF, "--json", env=env).stdout)
    assert indicators(other)["QS-01"]["value"] is None


def test_report_stats(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        '192.0.2.1 - - [02/Apr/2026:10:00:00 +0200] "GET /<script>\'x HTTP/1.1" 200 100 150000\n'
        '192.0.2.1 - - [02/Apr/2026:10:00:01 +0200] "GET / HTTP/1.1" 404 50 2500000\n'
        '192.0.2.2 - - [03/Apr/2026:00:00:00 +0200] "GET / HTTP/1.1" 200 7 100\n')
    assert run("logs", "ingest", str(log), "--format", '%h %l %u %t "%r" %>s %b %D', "--site",
               "www.interieur.gouv.fr", "--settle", "0", env=env).exit_code == 0
    result = run("report", "stats", "--site", "www.interieur.gouv.fr", "--from", "2026-04-02", "--to", "2026-04-02",
                 "--json", env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["coverage"]["expected_days"], data["coverage"]["days_with_logs"]) == (1, 1)
    assert data["coverage"]["last_file"]["name"] == "access.log"
    # this format logs no rule id: both requests are counted without a rule, none invented
    assert (data["misses_by_rule"]["with_rule"], data["misses_by_rule"]["without_rule"]) == (0, 2)
    # 3 April 00:00 CEST is outside the period: 2 requests, 150 bytes, 1 visitor (one address, no user agent)
    assert (data["requests"], data["bytes"], data["visitors"]) == (2, 150, 1)
    assert data["status"] == {"1xx": 0, "2xx": 1, "3xx": 0, "4xx": 1, "5xx": 0}
    assert data["time_taken"] == {"records": 2, "p50": 2.5, "p90": 2.5, "p99": 2.5}
    assert {p["path"] for p in data["top_paths"]["by_requests"]} == {"/", "/<script>'x"}
    assert {"cdn_share", "origin_requests", "quarantined"} <= set(data)
    human = run("report", "stats", "--site", "www.interieur.gouv.fr", "--from", "2026-04-02", "--to", "2026-04-02",
                env=env)
    assert "time taken p50" in human.stdout and "/<script>'x" in human.stdout
    bad = run("report", "stats", "--site", "a.fr", "--from", "2026-04-03", "--to", "2026-04-02", env=env)
    assert bad.exit_code == 2
    # 2–5 April: the file covers 2–3 April; 4 and 5 April have no log file → unknown, not zero: exit 3
    gap = run("report", "stats", "--site", "www.interieur.gouv.fr", "--from", "2026-04-01", "--to", "2026-04-05",
              "--json", env=env)
    assert gap.exit_code == 3
    cov = json.loads(gap.stdout)["coverage"]
    assert (cov["expected_days"], cov["days_with_logs"], cov["missing_days"], cov["before_first_day"]) == (
        4, 2, ["2026-04-04", "2026-04-05"], 1)
    said = run("report", "stats", "--site", "interieur.gouv.fr", "--from", "2026-04-01", "--to", "2026-04-05",
               env=env)
    assert said.exit_code == 3 and "logs for 2 of 4 day(s); missing: 2026-04-04, 2026-04-05" in said.stderr
    assert "days with log files" in said.stdout


def test_weekly_and_monthly_documents(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(
        f'192.0.2.{i % 5} - - [{6 + i % 7:02d}/Apr/2026:10:00:{i % 60:02d} +0200] "GET /p{i % 4} HTTP/1.1" '
        f'200 100 {1000 * i}\n' for i in range(70)))
    assert run("logs", "ingest", str(log), "--format", '%h %l %u %t "%r" %>s %b %D', "--site",
               "www.interieur.gouv.fr", "--settle", "0", env=env).exit_code == 0
    assert run("incidents", "import", str(REGISTERS / "incidents.csv"), env=env).exit_code == 0
    out = tmp_path / "out"
    weekly = run("report", "weekly", "--site", "www.interieur.gouv.fr", "--week", "2026-W15", "--out", str(out),
                 "--json", env=env)
    assert weekly.exit_code == 0, weekly.output
    names = sorted(Path(p).name for p in json.loads(weekly.stdout)["files"])
    assert names == [f"weekly-www.interieur.gouv.fr-2026-W15.{x}" for x in ("csv", "html", "json", "xlsx")]
    data = json.loads((out / "weekly-www.interieur.gouv.fr-2026-W15.json").read_text())
    assert data["sites"]["www.interieur.gouv.fr"]["requests"] == 70   # 6–12 April: all 70 lines
    assert data["sites"]["www.interieur.gouv.fr"]["coverage"]["complete"] is True
    monthly = run("report", "monthly", "--month", "2026-04", "--out", str(out), "--format", "html,json,xlsx,csv",
                  "--lang", "en", "--as-of", AS_OF, env=env)
    assert monthly.exit_code == 3, monthly.output   # written; no probe at all: QS-02 not measured
    assert "not measured (not enough data): QS-01, QS-02" in monthly.stderr
    doc = json.loads((out / "monthly-2026-04.json").read_text())
    assert indicators(doc["qs"])["QS-03"]["value"] == 3
    assert "Monthly quality of service report" in (out / "monthly-2026-04.html").read_text()
    assert run("report", "weekly", "--site", "a.fr", "--week", "2026-15", env=env).exit_code == 2
    assert run("report", "monthly", "--month", "2026-04", "--format", "pdf", env=env).exit_code == 2


def test_set_creates_and_updates(env: dict[str, str]) -> None:
    new = run("incidents", "set", "INC-9", "site=www.a.gouv.fr", "started_at=2026-04-02T10:00:00+02:00",
              "detected_at=2026-04-02T10:05:00+02:00", "detected_by=provider", "impact=full",
              "provider_responsible=true", "planned_maintenance=false", "--json", env=env)
    assert new.exit_code == 0, new.output
    data = json.loads(new.stdout)
    assert data["created"] is True and data["incident"]["resolved_at"] is None
    upd = run("incidents", "set", "INC-9", "resolved_at=2026-04-02T11:00:00+02:00", env=env)
    assert upd.exit_code == 0 and "updated INC-9" in upd.stdout
    (inc,) = json.loads(run("incidents", "list", "--json", env=env).stdout)
    assert inc["duration_s"] == 3600 and inc["description"] == ""
    bad = run("incidents", "set", "INC-9", "resolved_at=2026-04-02T09:00:00+02:00", "impact=down", env=env)
    assert bad.exit_code == 1
    assert "impact: 'down' is not one of none|partial|full" in bad.stderr
    incomplete = run("incidents", "set", "INC-10", "site=www.a.gouv.fr", env=env)
    assert incomplete.exit_code == 1 and "started_at: is empty" in incomplete.stderr
    assert run("incidents", "set", "INC-9", "nope=1", env=env).exit_code == 1
    assert run("incidents", "set", "INC-9", "resolved_at", env=env).exit_code == 2
    chg = run("changes", "set", "CHG-1", "site=www.a.gouv.fr", "requested_at=2026-04-03T16:30:00+02:00", env=env)
    assert chg.exit_code == 0, chg.output
    assert run("changes", "set", "CHG-1", "effective_at=2026-04-04T10:00:00+02:00", env=env).exit_code == 0
    (c,) = json.loads(run("changes", "list", "--json", env=env).stdout)
    assert c["effective_at"] == "2026-04-04T10:00:00+02:00"
