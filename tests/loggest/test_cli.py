"""`cdnctl logs …` through click: summaries, --json, exit codes, messages for user mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.synth import nginx_cdn_lines, write_log

SITE = "www.example.gouv.fr"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_ingest_summary_and_json(store_url: str, logs_dir: Path) -> None:
    write_log(logs_dir / f"{SITE}_2027-04-25.log.gz", [*nginx_cdn_lines(20, SITE), "oops"])
    code, out, err = run("logs", "ingest", "--store", store_url, "--format", "nginx-cdn", "--settle", "0",
                         str(logs_dir))
    assert code == 0, err
    assert (f"ingested {SITE}_2027-04-25.log.gz: 21 lines = 20 records + 1 quarantined; "
            "time taken in s ($request_time)") in out
    assert "1 file(s): 1 ingested, 0 skipped, 0 refused, 0 pending; 21 lines = 20 records + 1 quarantined" in out
    code, out, _ = run("logs", "ingest", "--store", store_url, "--format", "nginx-cdn", "--settle", "0", "--json",
                       str(logs_dir))
    data = json.loads(out)
    assert code == 0 and data["ok"] is True and data["totals"]["skipped"] == 1
    assert data["files"][0]["status"] == "skipped"
    code, out, _ = run("logs", "stats", "--store", store_url, "--json")
    days = json.loads(out)
    assert code == 0 and sum(d["requests"] for d in days) == 20 and days[0]["site"] == SITE
    code, out, _ = run("logs", "rejects", "--store", store_url, "--json")
    assert json.loads(out) == {"total": 1, "lines": [{"file": f"{SITE}_2027-04-25.log.gz", "line": 21,
                                                      "reason": "does not match the format", "raw": "oops",
                                                      "detail": "expected ' - ' after $remote_addr at column "
                                                                "5, found the end of the line"}]}
    code, out, _ = run("logs", "rejects", "--store", store_url)
    assert f"{SITE}_2027-04-25.log.gz:21: does not match the format (expected ' - ' after" in out
    code, out, _ = run("logs", "status", "--store", store_url, "--json")
    status = json.loads(out)
    assert status["files"][0]["status"] == "done" and status["files"][0]["quarantined"] == 1
    assert status["sites"] == [{"site": SITE, "files": 1, "last_file": f"{SITE}_2027-04-25.log.gz",
                                "first_day": "2027-04-25", "last_day": "2027-04-25", "days_present": 1,
                                "days_missing": [], "days_late": 0, "records": 20, "lines": 21,
                                "quarantined": 1, "quarantine_rate": round(1 / 21, 6), "shared_files": 0}]
    code, out, _ = run("logs", "status", "--store", store_url)
    assert code == 0 and "1 site(s)" in out
    code, out, _ = run("logs", "stats", "--store", store_url)
    assert code == 0 and SITE in out


def test_refused_file_exits_3_and_says_why(store_url: str, logs_dir: Path) -> None:
    (logs_dir / "a.log.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    write_log(logs_dir / "b.log", list(nginx_cdn_lines(3, SITE)))
    code, out, err = run("logs", "ingest", "--store", store_url, "--format", "nginx-cdn", "--settle", "0",
                         str(logs_dir))
    assert code == 3
    assert "refused a.log.gz:" in err and "gzip" in err
    assert "ingested b.log" in out


def test_user_mistakes_are_messages_not_tracebacks(store_url: str, logs_dir: Path) -> None:
    d = str(logs_dir)
    cases = [
        (["--format", "%h %Z", d], 2, "unknown directive %Z"),
        (["--format", "combined", d], 2, "has no host field"),
        (["--format", "nginx-cdn", str(logs_dir / "missing")], 1, "no such file or directory"),
        (["--format", "nginx-cdn", str(logs_dir)], 1, "no log files in"),
        (["--format", "nginx-cdn", "--pseudonymise", "rot13", str(logs_dir)], 2, "hmac:KEYFILE or truncate"),
        ([], 2, "give at least one PATH"),
    ]
    for extra, want_code, message in cases:
        code, _out, err = run("logs", "ingest", "--store", store_url, *extra)
        assert code == want_code, (extra, err)
        assert message in err and "Traceback" not in err, (extra, err)
    code, out, _ = run("logs", "ingest", "--store", store_url, "--format", "%h %Z", "--json", str(logs_dir))
    assert code == 2 and "unknown directive %Z" in json.loads(out)["error"]
    code, _out, err = run("logs", "stats", "--store", "mysql://x", "--from", "2027-01-01")
    assert code == 1 and "use chdb:///PATH or http(s)://" in err
    code, _out, err = run("logs", "stats", "--store", store_url, "--from", "yesterday")
    assert code == 2 and "is not a date" in err


def test_database_in_use_names_the_pid(store_url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom loggest.store import open_store\n"
         f"s = open_store({store_url!r})\nprint('open', flush=True)\ntime.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        code, _out, err = run("logs", "stats", "--store", store_url)
        assert code == 1
        assert f"is in use by PID {holder.pid}" in err and "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.2)
    code, _out, _err = run("logs", "stats", "--store", store_url)          # the lock goes with the process
    assert code == 0


def test_store_from_environment(tmp_path: Path, logs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDNCTL_CLICKHOUSE_URL", f"chdb://{tmp_path / 'env.chdb'}")
    write_log(logs_dir / "x.log", list(nginx_cdn_lines(4, SITE)))
    code, _out, err = run("logs", "ingest", "--format", "nginx-cdn", "--settle", "0", str(logs_dir))
    assert code == 0, err
    assert (tmp_path / "env.chdb").is_dir()
    monkeypatch.delenv("CDNCTL_CLICKHOUSE_URL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    code, _out, err = run("logs", "stats")
    assert code == 0 and (tmp_path / "xdg" / "cdnctl" / "logs.chdb").is_dir()


def test_export_w3c_round_trip(tmp_path: Path, logs_dir: Path) -> None:
    store_a, store_b = f"chdb://{tmp_path / 'a.chdb'}", f"chdb://{tmp_path / 'b.chdb'}"
    write_log(logs_dir / f"{SITE}_2027-04-25.log.gz", list(nginx_cdn_lines(400, SITE)))
    assert run("logs", "ingest", "--store", store_a, "--format", "nginx-cdn", "--settle", "0", str(logs_dir))[0] == 0
    out_dir = tmp_path / "export"
    out_dir.mkdir()
    out = out_dir / f"{SITE}_2027-04-25.log.gz"
    code, text, err = run("logs", "export", "--store", store_a, "--site", SITE, "--from", "2027-04-25",
                          "--to", "2027-04-26", "-o", str(out), "--json")
    assert code == 0, err
    assert json.loads(text)["records"] == 400
    code, _text, err = run("logs", "ingest", "--store", store_b, "--format", "w3c", "--settle", "0",
                           str(out_dir))
    assert code == 0, err
    stats = [json.loads(run("logs", "stats", "--store", s, "--json")[1]) for s in (store_a, store_b)]
    keys = ("site", "day", "requests", "bytes", "hit", "miss", "pass", "unknown", "s2xx", "s5xx", "timed",
            "under_2s")
    assert [{k: d[k] for k in keys} for d in stats[0]] == [{k: d[k] for k in keys} for d in stats[1]]
    code, _t, err = run("logs", "export", "--store", store_a, "--site", SITE, "--from", "2027-04-26",
                        "--to", "2027-04-25", "-o", str(out))
    assert code == 2 and "before --from" in err
