"""`cdnctl logs publish` (provider side) against a real OpenSSH sshd and a real SMTP server
(aiosmtpd, STARTTLS), then `cdnctl logs ingest --sftp` of what was published (round trip)."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import ssl
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.publish import load_config, publish
from loggest.sources.sftp import SftpSource
from loggest.synth import nginx_cdn_lines, write_log
from tests.e2e.sshd import Sshd, free_port
from tests.reports.test_mail import Inbox, _certificate

pytestmark = pytest.mark.e2e
A, B, C = "www.alpha.gouv.fr", "www.beta.gouv.fr", "www.calme.gouv.fr"
DAY = "2027-04-25"
PARIS_DAY_START = datetime(2027, 4, 24, 22, 0, tzinfo=UTC)     # 00:00 Europe/Paris (CEST)
NEXT_DAY_START = datetime(2027, 4, 25, 22, 0, tzinfo=UTC)


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Inbox]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                                           require_starttls=True)
    controller.start()
    monkeypatch.setenv("CDNCTL_SMTP_CAFILE", str(cert))
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


@pytest.fixture
def setup(sshd: Sshd, smtp: tuple[str, Inbox], tmp_path: Path) -> tuple[Path, dict[str, Path], Path]:
    """Node logs (2 edges), one SFTP account directory per site, and the publish config."""
    accounts = {}
    for site in (A, B, C):
        d = sshd.root / site
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        accounts[site] = d
    nodes = tmp_path / "nodes"
    nodes.mkdir()
    write_log(nodes / "edge1.access.log", [*nginx_cdn_lines(300, A, PARIS_DAY_START, seed=1),
                                           *nginx_cdn_lines(100, B, PARIS_DAY_START, seed=2)])
    write_log(nodes / "edge2.access.log.gz", [*nginx_cdn_lines(200, A, PARIS_DAY_START, seed=3),
                                              *nginx_cdn_lines(10, A, NEXT_DAY_START, seed=4),   # other day
                                              *nginx_cdn_lines(5, "www.inconnu.fr", PARIS_DAY_START),
                                              "garbage line", "another one"])
    url, _inbox = smtp
    config = tmp_path / "publish.yaml"
    sites = "\n".join(f"  {s}:\n    sftp: {sshd.url(s)}\n    recipients: [webmaster@{s}]" for s in (A, B, C))
    config.write_text(f"logs: {nodes}\nformat: nginx-cdn\nout: {tmp_path / 'out'}\n"
                      f"mail: {{from: logs@cdn.numerique.gouv.fr, smtp: '{url}'}}\n"
                      f"ssh: {{identity: {sshd.client_key}, known_hosts: {sshd.known_hosts}}}\n"
                      f"sites:\n{sites}\n")
    return config, accounts, nodes


def run(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, list(args))
    out = result.stdout
    return result.exit_code, json.loads(out[out.index("{"):]) if "{" in out else {"output": result.output}


def published(account: Path) -> dict[str, object]:
    """The manifest, with the actual data file's sha256 and log line count next to it."""
    (manifest_path,) = account.glob("*.manifest.json")
    manifest = json.loads(manifest_path.read_text())
    data = (account / manifest["file"]).read_bytes()
    text = gzip.decompress(data).decode()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return {**manifest, "actual_sha256": hashlib.sha256(data).hexdigest(), "actual_lines": len(lines),
            "fields": [line for line in text.splitlines() if line.startswith("#Fields:")]}


def ingest_account(sshd: Sshd, site: str, tmp: Path, store: str) -> tuple[int, dict]:
    return run("logs", "ingest", "--sftp", sshd.url(site), "--identity", str(sshd.client_key),
               "--known-hosts", str(sshd.known_hosts), "--format", "w3c", "--store", store,
               "--staging", str(tmp / "staging"), "--settle", "0", "--json")


def test_publish_upload_notify_then_ingest_round_trip(sshd: Sshd, smtp: tuple[str, Inbox], setup, tmp_path: Path
                                                      ) -> None:
    config, accounts, nodes = setup
    _url, inbox = smtp
    code, out = run("logs", "publish", "--date", DAY, "--config", str(config), "--json")
    assert code == 0, out
    by_site = {s["site"]: s for s in out["sites"]}
    assert {s: (r["status"], r["sequence"], r["lines"]) for s, r in by_site.items()} == {
        A: ("published", 1, 500), B: ("published", 1, 100), C: ("published", 1, 0)}
    assert out["input"] == {"files": 2, "lines": 617, "other_days": 10, "unparsed": 2,
                            "unconfigured_sites": {"www.inconnu.fr": 5}}
    for site, want in ((A, 500), (B, 100), (C, 0)):
        got = published(accounts[site])
        assert got["lines"] == got["actual_lines"] == want and got["sha256"] == got["actual_sha256"]
        assert got["sequence"] == 1 and got["replaces"] == [] and got["fields"]     # headers even when empty
        assert sorted(p.name for p in accounts[site].iterdir()) == [f"{site}_{DAY}.log.gz",
                                                                    f"{site}_{DAY}.manifest.json"]
    assert sorted((rcpt[0], encrypted) for rcpt, _msg, encrypted in inbox.messages) == [
        (f"webmaster@{s}", True) for s in (A, B, C)]
    msg = next(m for rcpt, m, _ in inbox.messages if rcpt == [f"webmaster@{A}"])
    assert A in msg["Subject"] and DAY in msg["Subject"] and "n° 1" in msg["Subject"]
    assert published(accounts[A])["sha256"] in msg.get_content()

    # idempotent: same content → same sequence, nothing uploaded, no new notice
    code, out = run("logs", "publish", "--date", DAY, "--config", str(config), "--json")
    assert code == 0 and {(s["status"], s["sequence"], s["uploaded"]) for s in out["sites"]} == {
        ("unchanged", 1, False)}
    assert len(inbox.messages) == 3

    # round trip: ingesting each account gives exactly the published lines, no alarm
    store = f"chdb://{tmp_path / 'store.chdb'}"
    for site, want in ((A, 500), (B, 100), (C, 0)):
        code, got = ingest_account(sshd, site, tmp_path, store)
        assert code == 0, got
        assert got["totals"]["records"] == want and got["totals"]["quarantined"] == 0
        assert got["manifests"] == [f"{site}_{DAY}.manifest.json"] and got["alarms"] == []
    stats = json.loads(CliRunner().invoke(cli, ["logs", "stats", "--store", store, "--json"]).stdout)
    assert {(r["site"], r["requests"]) for r in stats} == {(A, 500), (B, 100)}

    # a changed day: a new sequence number for that site only, a new notice, the old number "replaced"
    write_log(nodes / "edge3.access.log", list(nginx_cdn_lines(7, A, PARIS_DAY_START, seed=9)))
    code, out = run("logs", "publish", "--date", DAY, "--config", str(config), "--json")
    assert code == 0
    assert {s["site"]: (s["status"], s["sequence"]) for s in out["sites"]} == {
        A: ("republished", 2, ), B: ("unchanged", 1), C: ("unchanged", 1)}
    got = published(accounts[A])
    assert got["lines"] == got["actual_lines"] == 507 and got["replaces"] == [1]
    assert len(inbox.messages) == 4 and "n° 2" in inbox.messages[-1][1]["Subject"]
    assert not [p for p in sshd.root.rglob("*.part")]


def test_sequence_gap_raises_an_alarm_on_ingest(sshd: Sshd, setup, tmp_path: Path) -> None:
    config, accounts, _nodes = setup
    for day in ("2027-04-25", "2027-04-26", "2027-04-27"):
        code, out = run("logs", "publish", "--date", day, "--config", str(config), "--site", C, "--json")
        assert code == 0 and out["sites"][0]["sequence"] == int(day[-2:]) - 24
    for p in accounts[C].glob("*2027-04-26*"):      # publication 2 lost on the way
        p.unlink()
    code, out = ingest_account(sshd, C, tmp_path, f"chdb://{tmp_path / 'store.chdb'}")
    assert code == 3
    assert f"{C}: sequence gap: publication(s) 2 never received (manifests 1..3)" in out["alarms"]


class Crash(BaseException):
    """A process death between the upload of the temp file and its rename."""


def test_crash_between_upload_and_rename_then_rerun(sshd: Sshd, smtp: tuple[str, Inbox], setup,
                                                    tmp_path: Path) -> None:
    config, accounts, _nodes = setup
    _url, inbox = smtp
    conf = load_config(config)

    def crash(stage: str, remote: str) -> None:
        raise Crash(remote)

    with pytest.raises(Crash):
        publish(conf, date.fromisoformat(DAY), sites=[A], hook=crash)
    assert [p.name for p in accounts[A].iterdir()] == [f"{A}_{DAY}.log.gz.part"]      # only the temp name
    assert inbox.messages == []
    with SftpSource.connect(sshd.url(A), identity=sshd.client_key, known_hosts=sshd.known_hosts,
                            staging=tmp_path / "staging", settle=0) as src:
        assert list(src.files()) == []                                                # never taken
    report = publish(conf, date.fromisoformat(DAY), sites=[A])
    (res,) = report.sites
    assert (res.status, res.sequence, res.uploaded, res.notified) == ("published", 1, True, [f"webmaster@{A}"])
    assert sorted(p.name for p in accounts[A].iterdir()) == [f"{A}_{DAY}.log.gz", f"{A}_{DAY}.manifest.json"]
    got = published(accounts[A])
    assert got["sha256"] == got["actual_sha256"] and got["lines"] == got["actual_lines"] == 500
    assert len(inbox.messages) == 1


def test_unknown_host_key_refuses_upload(sshd: Sshd, setup, tmp_path: Path) -> None:
    config, accounts, _nodes = setup
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    config.write_text(config.read_text().replace(str(sshd.known_hosts), str(empty)))
    code, out = run("logs", "publish", "--date", DAY, "--config", str(config), "--site", B, "--json")
    assert code == 3 and out["sites"][0]["status"] == "failed"
    assert "refusing to connect to an unknown server" in out["sites"][0]["error"]
    assert list(accounts[B].iterdir()) == []
