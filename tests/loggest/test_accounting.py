"""Every line accounted for (issue: logs truth): lines = records + quarantined + directives +
blank + older than the retention, in the summary, the JSON and the stored manifest; files
with data and no record refused; missing days judged from what files cover."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.ingest import add_months
from loggest.store import open_store
from loggest.synth import nginx_cdn_lines, write_log

SITE = "www.example.gouv.fr"
ENGINES = ["clickhouse", "python"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def ingest(store_url: str, *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    code, out, err = run("logs", "ingest", "--store", store_url, "--settle", "0", "--json", *args)
    return code, json.loads(out), err


def status_files(store_url: str) -> dict[str, dict]:  # type: ignore[type-arg]
    _code, out, _ = run("logs", "status", "--store", store_url, "--json")
    return {f["name"]: f for f in json.loads(out)["files"]}


def _sums(f: dict) -> int:  # type: ignore[type-arg]
    return f["records"] + f["quarantined"] + f["directives"] + f["blank"] + f["too_old"]


@pytest.mark.parametrize("engine", ENGINES)
def test_records_older_than_the_retention_are_counted_and_exit_3(store_url: str, logs_dir: Path,
                                                                 engine: str) -> None:
    old = datetime(2015, 6, 1, tzinfo=UTC)
    path = write_log(logs_dir / f"{SITE}_2015-06-01.log.gz", [*nginx_cdn_lines(10_000, SITE, old, seed=2), ""])
    code, data, _err = ingest(store_url, "--format", "nginx-cdn", "--engine", engine, str(path))
    f = data["files"][0]
    assert code == 3 and data["ok"] is False
    assert (f["status"], f["lines"], f["records"], f["too_old"], f["blank"]) == ("ingested", 10_001, 0, 10_000, 1)
    assert _sums(f) == f["lines"]
    assert any("10,000 records older than the raw retention (13 months" in w and "--retention-months" in w
               for w in data["warnings"])
    # the manifest keeps the same figures, whatever the TTL does later
    assert {k: status_files(store_url)[path.name][k] for k in ("lines", "records", "too_old", "blank")} == {
        "lines": 10_001, "records": 0, "too_old": 10_000, "blank": 1}
    with open_store(store_url) as st:
        assert st.rows("SELECT count() FROM records")[0][0] == 0
    # with a longer retention, the same file (replayed) keeps every record
    code, data, _ = ingest(store_url, "--format", "nginx-cdn", "--engine", engine, "--retention-months", "240",
                           "--replay", str(path))
    f = data["files"][0]
    assert code == 0 and (f["records"], f["too_old"], f["lines"]) == (10_000, 0, 10_001)


def test_old_and_recent_records_in_one_file_and_the_human_summary(store_url: str, logs_dir: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    recent = list(nginx_cdn_lines(30, SITE, now - timedelta(days=2), seed=4))
    old = list(nginx_cdn_lines(20, SITE, add_months(now, -14), seed=5))
    path = write_log(logs_dir / "mixed.log", ["", *old, *recent, "garbage"])
    code, out, err = run("logs", "ingest", "--store", store_url, "--settle", "0", "--format", "nginx-cdn",
                         str(path))
    assert code == 3
    assert "52 lines = 30 records + 1 quarantined + 1 blank + 20 older than the retention" in out
    assert "20 records older than the raw retention" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_a_file_with_no_record_is_refused_and_its_lines_still_count(store_url: str, logs_dir: Path,
                                                                     engine: str) -> None:
    path = write_log(logs_dir / f"{SITE}_2027-04-25.log", list(nginx_cdn_lines(50, SITE)))
    code, data, _err = ingest(store_url, "--format", "w3c", "--site", SITE, "--engine", engine, str(path))
    f = data["files"][0]
    assert code == 3 and f["status"] == "refused"
    assert (f["lines"], f["quarantined"], f["records"]) == (50, 50, 0)
    assert "no record: all 50 data lines were rejected with --format w3c" in f["reason"]
    assert "data line before any #Fields: directive (50)" in f["reason"] and "check --format" in f["reason"]
    # the rejected lines are visible and counted for the day the file's name says
    code, out, _ = run("logs", "rejects", "--store", store_url, "--json")
    assert json.loads(out)["total"] == 50
    code, out, _ = run("report", "stats", "--store", store_url, "--site", SITE, "--from", "2027-04-25",
                       "--to", "2027-04-25", "--json")
    assert json.loads(out)["quarantined"] == 50
    # the same file with the right format is ingested (a refusal for "no record" is not final)
    code, data, _ = ingest(store_url, "--format", "nginx-cdn", "--engine", engine, str(path))
    f = data["files"][0]
    assert code == 0 and (f["status"], f["records"], f["quarantined"]) == ("ingested", 50, 0)
    code, out, _ = run("logs", "rejects", "--store", store_url, "--json")
    assert json.loads(out)["total"] == 0


def test_human_output_of_a_refused_file_says_why(store_url: str, logs_dir: Path) -> None:
    path = write_log(logs_dir / "x.log", ["not a log line"] * 3)
    code, _out, err = run("logs", "ingest", "--store", store_url, "--settle", "0", "--site", SITE, str(path))
    assert code == 3
    assert "refused x.log: no record: all 3 data lines were rejected with --format combined" in err
    assert "3 lines = 0 records + 3 quarantined" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_w3c_directives_and_blank_lines_are_counted(store_url: str, logs_dir: Path, engine: str) -> None:
    text = ("\ufeff#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
            "#Date: 2027-04-25 00:00:00\r\n#Fields: date time c-ip cs-method cs-uri-stem sc-status time-taken\r\n"
            "2027-04-25 00:00:01 192.0.2.1 GET /a 200 1500\r\n\r\n   \r\n"
            "2027-04-25 00:00:02 192.0.2.2 GET /b 404 3\r\n#Remark: end\r\n")
    path = logs_dir / "u_ex270425.log"
    path.write_bytes(gzip.compress(text.encode()))
    code, data, _ = ingest(store_url, "--format", "w3c", "--site", SITE, "--engine", engine, str(path))
    f = data["files"][0]
    assert code == 0, data
    assert (f["lines"], f["records"], f["directives"], f["blank"], f["quarantined"]) == (9, 2, 5, 2, 0)
    assert f["time_unit"].startswith("ms (#Software: Microsoft Internet Information Services")
    shown = status_files(store_url)[path.name]
    assert shown["time_unit"] == f["time_unit"] and shown["file_day"] == "2027-04-25"
    with open_store(store_url) as st:
        assert st.rows("SELECT sum(time_taken_us) FROM records")[0][0] == 1_503_000


def test_time_taken_unit_option(store_url: str, logs_dir: Path) -> None:
    path = logs_dir / "u_ex270425.log"
    path.write_text("#Software: Microsoft Internet Information Services 10.0\n"
                    "#Fields: date time c-ip cs-uri-stem sc-status time-taken\n2027-04-25 00:00:01 192.0.2.1 /a 200 2\n")
    code, data, _ = ingest(store_url, "--format", "w3c", "--site", SITE, "--time-taken-unit", "s", str(path))
    assert code == 0 and data["files"][0]["time_unit"] == "s (--time-taken-unit)"
    code, _out, err = run("logs", "ingest", "--store", store_url, "--format", "combined", "--site", SITE,
                         "--time-taken-unit", "ms", str(path))
    assert code == 2 and "--time-taken-unit is for W3C and CloudFront logs" in err


def _day_lines(day: date, n: int, seed: int) -> list[str]:
    return list(nginx_cdn_lines(n, SITE, datetime(day.year, day.month, day.day, 8, tzinfo=UTC), seed=seed))


def test_missing_days_come_from_what_files_cover(store_url: str, logs_dir: Path) -> None:
    # one undated file with traffic on the 1st and 3rd only: the 2nd is covered (no traffic), no alarm
    d1, d3 = date(2027, 5, 1), date(2027, 5, 3)
    write_log(logs_dir / "access.log", [*_day_lines(d1, 5, 1)[:2], *_day_lines(d3, 5, 2)[:2]])
    code, data, _ = ingest(store_url, "--format", "nginx-cdn", str(logs_dir / "access.log"))
    assert code == 0 and data["alarms"] == []
    # IIS-style names: the 5th and the 7th delivered (the 7th empty: no traffic) → the 6th is missing
    for name, lines in (("u_ex270505.log", _day_lines(date(2027, 5, 5), 3, 3)), ("u_ex270507.log", [])):
        write_log(logs_dir / name, lines)
    code, data, _ = ingest(store_url, "--format", "nginx-cdn", "--site", SITE, str(logs_dir / "u_ex270505.log"),
                           str(logs_dir / "u_ex270507.log"))
    assert code == 3
    assert data["alarms"] == [f"{SITE}: no log file for 2027-05-04 (files present 2027-05-01..2027-05-07)",
                              f"{SITE}: no log file for 2027-05-06 (files present 2027-05-01..2027-05-07)"]


def test_a_zero_byte_gz_or_a_refused_file_is_not_a_present_day(store_url: str, logs_dir: Path) -> None:
    for day in ("2027-04-24", "2027-04-26"):
        write_log(logs_dir / f"{SITE}_{day}.log.gz", _day_lines(date.fromisoformat(day), 4, 1))
    (logs_dir / f"{SITE}_2027-04-25.log.gz").write_bytes(b"")
    code, data, _ = ingest(store_url, "--format", "nginx-cdn", str(logs_dir))
    status = {f["name"]: f for f in data["files"]}
    assert code == 3 and status[f"{SITE}_2027-04-25.log.gz"]["status"] == "refused"
    assert "empty .gz file" in status[f"{SITE}_2027-04-25.log.gz"]["reason"]
    assert data["alarms"] == [f"{SITE}: no log file for 2027-04-25 (files present 2027-04-24..2027-04-26)"]


def test_a_feed_that_stopped_is_an_alarm(store_url: str, logs_dir: Path) -> None:
    today = datetime.now(UTC).date()
    last = today - timedelta(days=5)
    write_log(logs_dir / f"{SITE}_{last}.log", _day_lines(last, 3, 1))
    code, data, _ = ingest(store_url, "--format", "nginx-cdn", "--retention-months", "600",
                           str(logs_dir))
    assert code == 0 and data["alarms"] == []                  # the check is asked for
    code, data, _ = ingest(store_url, "--format", "nginx-cdn", "--late-after", "1", str(logs_dir))
    assert code == 3 and len(data["alarms"]) == 1
    assert data["alarms"][0].startswith(f"{SITE}: no log file since {last}") and "late" in data["alarms"][0]
    code, out, _ = run("logs", "status", "--store", store_url, "--late-after", "1", "--json")
    assert code == 3 and json.loads(out)["sites"][0]["days_late"] >= 3
    code, out, _ = run("logs", "status", "--store", store_url, "--late-after", "10", "--json")
    assert code == 0 and json.loads(out)["sites"][0]["days_late"] == 0


def test_logs_status_counts_per_site_not_the_grand_total(store_url: str, logs_dir: Path) -> None:
    both = [*nginx_cdn_lines(30, SITE, seed=1), *nginx_cdn_lines(10, "www.autre.gouv.fr", seed=2), "garbage"]
    write_log(logs_dir / "edge_2027-04-25.log", both)
    write_log(logs_dir / f"{SITE}_2027-04-26.log", list(nginx_cdn_lines(5, SITE, seed=3)))
    assert ingest(store_url, "--format", "nginx-cdn", str(logs_dir))[0] == 0
    _code, out, _ = run("logs", "status", "--store", store_url, "--json")
    sites = {s["site"]: s for s in json.loads(out)["sites"]}
    assert (sites[SITE]["records"], sites[SITE]["lines"], sites[SITE]["shared_files"]) == (35, 5, 1)
    assert (sites["www.autre.gouv.fr"]["records"], sites["www.autre.gouv.fr"]["lines"]) == (10, 0)
