"""The publish state on its own (no server): the notice outbox's state machine, the run lock,
and atomic writes of the state and output files."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from loggest.publish import (
    PENDING,
    RESENT,
    SENDING,
    SENT,
    SUPERSEDED,
    PublishError,
    PublishLocked,
    State,
    notice_id,
    publish_lock,
    verified_data,
    write_atomic,
)

DAY = date(2027, 4, 25)
SITE = "www.alpha.gouv.fr"
MID = notice_id(SITE, DAY, 1, "CDN <logs@cdn.numerique.gouv.fr>")


class Killed(BaseException):
    """The process dies here (nothing after it runs)."""


def on_disk(state: State) -> dict[str, str]:
    """What a re-run would read: each entry's state in the saved file."""
    return {k: e["state"] for k, e in json.loads(state.path.read_text())["outbox"].items()}


def transmit(log: list[str], state: State, die: str = "", fail: BaseException | None = None
             ) -> Callable[[Callable[[], None], Callable[[], None]], None]:
    """A fake SMTP exchange that records what is on disk at each step, and can die or fail."""

    def run(before_send: Callable[[], None], accepted: Callable[[], None]) -> None:
        before_send()
        log.append(f"DATA with {on_disk(state)}")
        if die == "after DATA":
            raise Killed
        if fail is not None:
            raise fail
        accepted()
        log.append(f"QUIT with {on_disk(state)}")

    return run


def test_message_id_is_stable_and_names_the_publication() -> None:
    assert MID == "<cdnctl-www.alpha.gouv.fr-2027-04-25-1@cdn.numerique.gouv.fr>"
    assert notice_id(SITE, DAY, 1, "logs@CDN.numerique.gouv.fr") == MID
    assert notice_id(SITE, DAY, 2, "logs@cdn.numerique.gouv.fr") != MID
    assert notice_id(SITE, DAY, 1, "").startswith("<cdnctl-www.alpha.gouv.fr-2027-04-25-1@")   # host name


def test_pending_sending_sent_each_saved_before_the_next_step(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    entry = state.outbox.enqueue(SITE, DAY, 1, ["w@alpha.fr"], MID)
    key = state.outbox.key(SITE, DAY, 1)
    assert on_disk(state) == {key: PENDING}                          # recorded before any sending
    log: list[str] = []
    assert state.outbox.deliver(entry, transmit(log, state)) == "sent"
    assert log == [f"DATA with { {key: SENDING} }", f"QUIT with { {key: SENT} }"]   # sent saved before QUIT
    again = State(state.path).outbox
    assert again.deliver(again.get(SITE, DAY, 1) or {}, transmit(log, state)) == ""   # nothing more
    assert len(log) == 2
    saved = json.loads(state.path.read_text())["outbox"][key]
    assert saved["message_id"] == MID and saved["attempts"] == 1 and saved["sent"]


def test_killed_between_data_and_save_is_resent_with_the_same_id(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    entry = state.outbox.enqueue(SITE, DAY, 1, ["w@alpha.fr"], MID)
    with pytest.raises(Killed):
        state.outbox.deliver(entry, transmit([], state, die="after DATA"))
    rerun = State(state.path)                                          # a new process reads the file
    (key,) = on_disk(rerun)
    assert on_disk(rerun) == {key: SENDING}
    assert rerun.outbox.enqueue(SITE, DAY, 1, ["w@alpha.fr"], "<other@id>")["message_id"] == MID
    sent: list[str] = []

    def record(before_send: Callable[[], None], accepted: Callable[[], None]) -> None:
        before_send()
        sent.append(rerun.outbox.get(SITE, DAY, 1)["message_id"])      # type: ignore[index]
        accepted()

    assert rerun.outbox.deliver(rerun.outbox.get(SITE, DAY, 1) or {}, record) == RESENT
    assert sent == [MID] and on_disk(rerun) == {key: SENT}
    assert json.loads(rerun.path.read_text())["outbox"][key]["attempts"] == 2


class Refused(Exception):
    maybe_sent = False


class LinkLost(Exception):
    maybe_sent = True


@pytest.mark.parametrize(("error", "first_after", "again_after"), [
    (Refused("550 no"), PENDING, SENDING),       # refused: surely not sent — unless an earlier attempt may have been
    (LinkLost("reset"), SENDING, SENDING),       # the link failed with the message on its way: unknown
    (OSError("refused"), SENDING, SENDING),      # no maybe_sent attribute: assume it may have gone
])
def test_failures(tmp_path: Path, error: Exception, first_after: str, again_after: str) -> None:
    state = State(tmp_path / "state.json")
    entry = state.outbox.enqueue(SITE, DAY, 1, ["w@alpha.fr"], MID)
    with pytest.raises(type(error)):
        state.outbox.deliver(entry, transmit([], state, fail=error))
    assert list(on_disk(state).values()) == [first_after]
    entry["state"] = SENDING                                           # an earlier attempt's outcome is unknown
    with pytest.raises(type(error)):
        state.outbox.deliver(entry, transmit([], state, fail=error))
    assert list(on_disk(state).values()) == [again_after]


def test_failure_before_the_message_is_handed_over_stays_pending(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    entry = state.outbox.enqueue(SITE, DAY, 1, ["w@alpha.fr"], MID)

    def no_server(before_send: Callable[[], None], accepted: Callable[[], None]) -> None:
        raise LinkLost("connection refused")

    with pytest.raises(LinkLost):
        state.outbox.deliver(entry, no_server)
    assert list(on_disk(state).values()) == [PENDING]
    assert state.outbox.deliver(entry, transmit([], state)) == "sent"     # a first send, not a resend


def test_a_newer_sequence_supersedes_the_unsent_notice(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    old = state.outbox.enqueue(SITE, DAY, 1, ["w@alpha.fr"], MID)
    other_day = state.outbox.enqueue(SITE, date(2027, 4, 26), 2, ["w@alpha.fr"], "<b@x>")
    new = state.outbox.enqueue(SITE, DAY, 3, ["w@alpha.fr"], "<c@x>")
    assert (old["state"], other_day["state"], new["state"]) == (SUPERSEDED, PENDING, PENDING)
    assert state.outbox.deliver(old, transmit([], state)) == ""


def test_state_without_outbox_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"sites": {SITE: {"last_sequence": 1, "days": {}}}}))
    state = State(path)
    assert state.outbox.get(SITE, DAY, 1) is None
    path.write_text('{"sites": {')
    with pytest.raises(PublishError, match="corrupt publish state"):
        State(path)


# ---- the run lock ----

def test_lock_refuses_a_second_run_at_once_and_names_the_holder(tmp_path: Path) -> None:
    with publish_lock(tmp_path) as path:
        assert path == tmp_path / ".publish.lock" and "pid " in path.read_text()
        with pytest.raises(PublishLocked, match=r"another 'logs publish' is running on .* \(pid \d+ on "), \
                publish_lock(tmp_path):
            pass
        t0 = time.monotonic()
        with pytest.raises(PublishLocked, match=r"still held after waiting 0\.4 s"), \
                publish_lock(tmp_path, wait=0.4):
            pass
        assert time.monotonic() - t0 >= 0.4
    with publish_lock(tmp_path):                                       # released at the end of the block
        pass


def test_lock_waits_for_the_holder(tmp_path: Path) -> None:
    held, order = threading.Event(), []

    def first() -> None:
        with publish_lock(tmp_path):
            held.set()
            time.sleep(0.5)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    held.wait(5)
    with publish_lock(tmp_path, wait=10):
        order.append("second runs")
    t.join()
    assert order == ["first done", "second runs"]


# ---- atomic files ----

def test_write_atomic_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "d" / "state.json"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two" and [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_verified_data_refuses_a_file_that_is_not_its_manifest(tmp_path: Path) -> None:
    data, mani = tmp_path / "a.log.gz", tmp_path / "a.manifest.json"
    data.write_bytes(b"\0" * 32342)
    mani.write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(PublishError, match="differs from its manifest"):
        verified_data(data, mani)
    mani.write_text("{")
    with pytest.raises(PublishError, match="not a manifest"):
        verified_data(data, mani)
