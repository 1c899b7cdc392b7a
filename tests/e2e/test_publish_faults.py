"""`cdnctl logs publish` under faults, as separate processes against a real OpenSSH sshd
and a real SMTP server (aiosmtpd, STARTTLS): two runs at once, and kill -9 at random
moments followed by a plain re-run.

The SMTP handler can sleep after it has received a message and before it answers 250:
that is the window where a kill leaves the notice's outcome unknown (``sending``), so a
kill can be made to land there without any hook in the code.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from loggest.publish import RESENT, PublishError, load_config, upload
from loggest.synth import nginx_cdn_lines, write_log
from tests.e2e.sshd import Sshd, free_port
from tests.reports.test_mail import Inbox, _certificate

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
A, B, C = "www.alpha.gouv.fr", "www.beta.gouv.fr", "www.calme.gouv.fr"
SITES = {A: 500, B: 100, C: 0}          # site → lines of DAY in the node logs
DAY = "2027-04-25"
CLI = [sys.executable, "-c", "from cdnctl.cli import main; main()"]
LOCKED = "another 'logs publish' is running"


class SlowInbox(Inbox):
    """Records each message, then sleeps ``delay`` seconds before answering 250."""

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return answer

    def ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for _rcpt, m, _tls in self.messages)


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, SlowInbox]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box, port = SlowInbox(), free_port()
    controller = controller_mod.Controller(box, hostname="127.0.0.1", port=port, tls_context=context,
                                           require_starttls=True)
    controller.start()
    monkeypatch.setenv("CDNCTL_SMTP_CAFILE", str(cert))      # inherited by the cdnctl processes
    try:
        yield f"smtp://127.0.0.1:{port}", box
    finally:
        controller.stop()


class World:
    """Node logs, one SFTP account per site, and a publish config per output directory."""

    def __init__(self, sshd: Sshd, smtp_url: str, tmp: Path) -> None:
        self.sshd, self.smtp_url, self.tmp = sshd, smtp_url, tmp
        self.accounts = {site: sshd.root / site for site in SITES}
        self.nodes = tmp / "nodes"
        self.nodes.mkdir()
        t0 = datetime(2027, 4, 24, 22, 0, tzinfo=UTC)         # 00:00 Europe/Paris (CEST)
        write_log(self.nodes / "edge1.access.log", [*nginx_cdn_lines(300, A, t0, seed=1),
                                                    *nginx_cdn_lines(100, B, t0, seed=2)])
        write_log(self.nodes / "edge2.access.log.gz", list(nginx_cdn_lines(200, A, t0, seed=3)))
        self.reset()

    def reset(self) -> None:
        for d in self.accounts.values():
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()

    def config(self, name: str = "out") -> Path:
        path = self.tmp / f"publish-{name}.yaml"
        sites = "\n".join(f"  {s}:\n    sftp: {self.sshd.url(s)}\n    recipients: [webmaster@{s}]" for s in SITES)
        path.write_text(f"logs: {self.nodes}\nformat: nginx-cdn\nout: {self.tmp / name}\n"
                        f"mail: {{from: logs@cdn.numerique.gouv.fr, smtp: '{self.smtp_url}'}}\n"
                        f"ssh: {{identity: {self.sshd.client_key}, known_hosts: {self.sshd.known_hosts}}}\n"
                        f"sites:\n{sites}\n")
        return path


@pytest.fixture
def world(sshd: Sshd, inbox: tuple[str, SlowInbox], tmp_path: Path) -> World:
    return World(sshd, inbox[0], tmp_path)


def start(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, "logs", "publish", "--date", DAY, "--config", str(config), "--json", *extra],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, dict[str, Any], str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, json.loads(out[out.index("{"):]) if "{" in out else {}, err


def remote_ok(world: World) -> None:
    """Each account: exactly the data file and its manifest, valid gzip matching the manifest."""
    for site, lines in SITES.items():
        account = world.accounts[site]
        assert sorted(p.name for p in account.iterdir()) == [f"{site}_{DAY}.log.gz",
                                                             f"{site}_{DAY}.manifest.json"]
        manifest = json.loads((account / f"{site}_{DAY}.manifest.json").read_text())
        data = (account / manifest["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == manifest["sha256"] and len(data) == manifest["size"]
        text = gzip.decompress(data).decode()
        assert sum(1 for line in text.splitlines() if not line.startswith("#")) == manifest["lines"] == lines


def local_ok(out: Path) -> None:
    """The output directory: no temp file left, every data file matches its manifest."""
    assert not [p for p in out.rglob("*.part")]
    for mpath in (out / DAY).glob("*.manifest.json"):
        manifest = json.loads(mpath.read_text())
        data = (mpath.parent / manifest["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
        gzip.decompress(data)


def outbox(out: Path) -> dict[str, str]:
    path = out / "state.json"
    entries = json.loads(path.read_text()).get("outbox", {}) if path.exists() else {}
    return {e["site"]: e["state"] for e in entries.values()}


# ---- two runs at once ----

def test_two_publish_at_once_one_wins_the_other_says_why(world: World, inbox: tuple[str, SlowInbox]) -> None:
    _url, box = inbox
    box.delay = 1.0                          # the winner holds the lock for 3 s at least
    config = world.config()
    procs = [start(config), start(config)]
    results = [finish(p) for p in procs]
    codes = sorted(code for code, _out, _err in results)
    assert codes == [0, 4], results
    (win,) = [out for code, out, _err in results if code == 0]
    (lose_out, lose_err) = next((out, err) for code, out, err in results if code != 0)
    assert {s["site"]: (s["status"], s["notice"]) for s in win["sites"]} == {s: ("published", "sent") for s in SITES}
    assert LOCKED in lose_err and "nothing done" in lose_err and "Traceback" not in lose_err
    assert lose_out["ok"] is False and LOCKED in lose_out["error"]
    remote_ok(world)
    local_ok(world.tmp / "out")
    ids = box.ids()
    assert sorted(ids.values()) == [1, 1, 1] and len(box.messages) == 3
    assert set(ids) == {f"<cdnctl-{s}-{DAY}-1@cdn.numerique.gouv.fr>" for s in SITES}


def test_a_waiting_publish_runs_after_the_first_and_finds_everything_done(world: World,
                                                                         inbox: tuple[str, SlowInbox]) -> None:
    _url, box = inbox
    box.delay = 1.0
    config = world.config()
    lock = world.tmp / "out" / ".publish.lock"
    first = start(config)
    deadline = time.monotonic() + 60
    while not (lock.exists() and f"pid {first.pid} " in lock.read_text()):     # the first one holds it
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    t0 = time.monotonic()
    second = start(config, "--wait", "30")
    code2, out2, err2 = finish(second)
    waited = time.monotonic() - t0
    code1, out1, _ = finish(first)
    assert code1 == 0 and code2 == 0, err2
    assert {s["status"] for s in out1["sites"]} == {"published"}
    assert waited > 1.0                                                      # it did wait for the first
    assert {(s["status"], s["uploaded"], s["notice"], tuple(s["notified"])) for s in out2["sites"]} == {
        ("unchanged", False, "", ())}
    assert len(box.messages) == 3 and sorted(box.ids().values()) == [1, 1, 1]
    remote_ok(world)

    # and with a wait too short for the first one to finish: the message says how long it waited
    world.reset()
    config = world.config("out2")
    first = start(config)
    lock = world.tmp / "out2" / ".publish.lock"
    while not (lock.exists() and f"pid {first.pid} " in lock.read_text()):
        assert first.poll() is None
        time.sleep(0.05)
    code, _out, err = finish(start(config, "--wait", "0.5"))
    assert code == 4 and "still held after waiting 0.5 s" in err and "Traceback" not in err
    assert finish(first)[0] == 0


def test_a_corrupt_local_file_is_never_uploaded(world: World) -> None:
    """The measured failure: a data file starting with NUL bytes. Checked against the
    manifest right before the upload; nothing reaches the account."""
    conf = load_config(world.config())
    work = world.tmp / "corrupt"
    work.mkdir()
    data = work / f"{A}_{DAY}.log.gz"
    good = gzip.compress(b"#Fields: date time\n", mtime=0)
    data.write_bytes(good)
    mani = work / f"{A}_{DAY}.manifest.json"
    mani.write_text(json.dumps({"file": data.name, "sha256": hashlib.sha256(good).hexdigest()}))
    data.write_bytes(b"\0" * 32342 + good[:10])
    with pytest.raises(PublishError, match="differs from its manifest"):
        upload(conf.sites[A], data, mani, world.tmp / "staging")
    assert list(world.accounts[A].iterdir()) == []


# ---- kill -9 at random moments, then a plain re-run ----

def kill_trial(world: World, box: SlowInbox, name: str, after: float) -> dict[str, Any]:
    """One run killed after ``after`` s, then a plain re-run; checks everything, says what happened."""
    world.reset()
    box.messages.clear()
    config = world.config(name)
    out = world.tmp / name
    proc = start(config)
    time.sleep(after)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    left = outbox(out)
    before = len(box.messages)
    code, rerun, err = finish(start(config))
    assert code == 0, (rerun, err)
    remote_ok(world)
    local_ok(out)
    ids = box.ids()
    assert len(ids) == len(SITES), ids                                  # distinct Message-IDs == notices
    resent = {s["site"] for s in rerun["sites"] if s["notice"] == RESENT}
    for site in SITES:
        mid = f"<cdnctl-{site}-{DAY}-1@cdn.numerique.gouv.fr>"
        # once; twice (same Message-ID) only when the kill landed between DATA and the save
        assert ids[mid] in (1, 2), (site, ids)
        if ids[mid] == 2:
            assert site in resent, (site, ids, resent)
            copies = [m for _r, m, _t in box.messages if m["Message-ID"] == mid]
            assert copies[0].as_bytes() == copies[1].as_bytes()        # the very same message
    assert outbox(out) == dict.fromkeys(SITES, "sent")
    for site in resent:
        assert left[site] == "sending"                                  # only an unknown outcome is resent
    return {"killed": killed, "after": round(after, 2), "left": left, "received_before_rerun": before,
            "resent": sorted(resent), "duplicates": sum(n - 1 for n in ids.values())}


@pytest.mark.slow
def test_kill_at_random_moments_then_rerun(world: World, inbox: tuple[str, SlowInbox]) -> None:
    _url, box = inbox
    box.delay = 0.3                      # widens the DATA → 250 window so that some kills land there
    t0 = time.monotonic()
    assert finish(start(world.config("baseline")))[0] == 0
    full = time.monotonic() - t0
    seed = int(os.environ.get("PUBLISH_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    trials = [kill_trial(world, box, f"trial{i}", rng.uniform(0.05, full)) for i in range(12)]
    summary = {"seed": seed, "full_run_s": round(full, 2), "killed": sum(t["killed"] for t in trials),
               "resent": sum(len(t["resent"]) for t in trials),
               "duplicates": sum(t["duplicates"] for t in trials), "trials": trials}
    print(json.dumps(summary))
    assert summary["killed"] >= 6, summary                # most kills land inside the run


def test_kill_between_data_and_save_gives_one_duplicate_with_the_same_message_id(
        world: World, inbox: tuple[str, SlowInbox]) -> None:
    _url, box = inbox
    box.delay = 3.0                      # the server has the message and has not answered yet
    config = world.config()
    out = world.tmp / "out"
    proc = start(config)
    deadline = time.monotonic() + 60
    while not box.messages:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    ((rcpt, first, _tls),) = box.messages
    site = rcpt[0].split("@", 1)[1]
    assert outbox(out)[site] == "sending"
    box.delay = 0.0
    code, rerun, _err = finish(start(config))
    assert code == 0
    notices = {s["site"]: s["notice"] for s in rerun["sites"]}
    assert notices[site] == RESENT and [n for s, n in notices.items() if s != site] == ["sent", "sent"]
    ids = box.ids()
    assert ids[first["Message-ID"]] == 2 and len(ids) == 3 and len(box.messages) == 4
    assert outbox(out) == dict.fromkeys(SITES, "sent")
    remote_ok(world)
    # a further run: nothing more
    code, again, _err = finish(start(config))
    assert code == 0 and {s["notice"] for s in again["sites"]} == {""} and len(box.messages) == 4
