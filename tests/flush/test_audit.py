"""The audit journal's hash chain: every kind of tampering is detected, pruning is not."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.audit import AuditError, Journal, entry_hash, retention_cutoff
from cdnctl.cli import cli


def fill(journal: Journal, n: int, start: datetime | None = None, step: timedelta = timedelta(days=1)) -> None:
    at = start or datetime.now(UTC) - n * step
    for i in range(n):
        journal.record("flush", "ok", site="www.example.fr", what={"i": i}, at=at + i * step)


def lines(journal: Journal) -> list[str]:
    return journal.path.read_text().splitlines(keepends=True)


def rewrite(journal: Journal, new: list[str]) -> None:
    journal.path.write_text("".join(new))


def test_entry_fields(state_dir: Path) -> None:
    journal = Journal()
    assert journal.path == state_dir / "audit.jsonl"
    e = journal.record("flush", "partial", site="www.example.fr", what={"urls": 3},
                       at=datetime(2027, 7, 14, 10, 0, tzinfo=UTC))
    assert e["seq"] == 1 and e["who"] == "user:alice" and e["prev"] == "0" * 64
    assert e["at"] == "2027-07-14T10:00:00Z" and e["at_paris"] == "2027-07-14T12:00:00+02:00"
    assert e["source"]["via"] == "cli" and "login" in e["source"]  # type: ignore[index]
    assert e["hash"] == entry_hash(e)
    assert journal.verify().ok


def test_intact_chain_verifies() -> None:
    journal = Journal()
    fill(journal, 20)
    result = journal.verify()
    assert result.ok, result.problems
    assert (result.entries, result.head_seq) == (20, 20)


@pytest.mark.parametrize("tamper", ["edit", "delete-middle", "delete-first", "swap", "truncate-tail",
                                    "partial-line", "append-forged", "garbage"])
def test_tampering_is_detected(tamper: str) -> None:
    journal = Journal()
    fill(journal, 6)
    ls = lines(journal)
    if tamper == "edit":
        entry = json.loads(ls[2])
        entry["result"] = "ok" if entry["result"] != "ok" else "failed"
        ls[2] = json.dumps(entry) + "\n"
    elif tamper == "delete-middle":
        del ls[3]
    elif tamper == "delete-first":
        del ls[0]
    elif tamper == "swap":
        ls[2], ls[3] = ls[3], ls[2]
    elif tamper == "truncate-tail":
        ls = ls[:-2]
    elif tamper == "partial-line":
        ls[-1] = ls[-1][:20]
    elif tamper == "append-forged":
        # a well-formed, correctly chained entry that did not go through record(): the head disagrees
        last = json.loads(ls[-1])
        forged = {**last, "seq": last["seq"] + 1, "prev": last["hash"], "what": {"forged": True}}
        forged["hash"] = entry_hash(forged)
        ls.append(json.dumps(forged) + "\n")
        ls.append(json.dumps({**forged, "seq": forged["seq"] + 1, "prev": forged["hash"],
                              "hash": entry_hash({**forged, "seq": forged["seq"] + 1, "prev": forged["hash"]})}) + "\n")
    elif tamper == "garbage":
        ls.insert(2, "not json\n")
    rewrite(journal, ls)
    result = journal.verify()
    assert not result.ok, tamper
    # and the CLI says so with exit 1
    out = CliRunner().invoke(cli, ["audit", "verify"])
    assert out.exit_code == 1, out.output
    assert "TAMPERED" in out.output


def test_appending_after_truncation_is_refused() -> None:
    journal = Journal()
    fill(journal, 3)
    rewrite(journal, lines(journal)[:-1])
    with pytest.raises(AuditError, match="does not match"):
        journal.record("flush", "ok")


def test_anchor() -> None:
    journal = Journal()
    fill(journal, 4)
    head = journal.verify()
    anchor = (head.head_seq, head.head_hash)
    fill(journal, 2)
    assert journal.verify(anchor).ok  # type: ignore[arg-type]
    assert not journal.verify((3, "f" * 64)).ok


def test_prune_keeps_the_chain_verifiable() -> None:
    journal = Journal()
    old = datetime.now(UTC) - timedelta(days=500)
    fill(journal, 5, start=old)  # 500..496 days ago: past retention
    fill(journal, 3)  # recent
    assert any("older than 12 months" in w for w in journal.verify().warnings)
    what = journal.prune()
    assert what["removed"] == 5 and what["through_seq"] == 5
    result = journal.verify()
    assert result.ok, result.problems
    assert result.checkpoint is not None and result.first_seq == 6
    assert [e["seq"] for e in journal.entries()] == [6, 7, 8, 9]  # 9: the audit-prune entry itself
    assert next(iter(journal.entries(action="audit-prune")))["what"]["removed"] == 5  # type: ignore[index]
    # appending still chains
    journal.record("flush", "ok")
    assert journal.verify().ok
    # a second prune with nothing to remove changes nothing
    assert journal.prune()["removed"] == 0


def test_forged_checkpoint_is_detected() -> None:
    """Dropping recent entries by hand-writing a checkpoint does not pass verify."""
    journal = Journal()
    fill(journal, 6)
    ls = lines(journal)
    third = json.loads(ls[2])
    cp = {"seq": third["seq"], "hash": third["hash"], "action": "checkpoint", "what": {}}
    rewrite(journal, [json.dumps(cp) + "\n", *ls[3:]])
    result = journal.verify()
    assert not result.ok
    assert any("checkpoint" in p.message for p in result.problems)


def test_retention_cutoff_is_12_months() -> None:
    now = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
    assert retention_cutoff(now).date().isoformat() == "2026-03-15"


def test_concurrent_appends_never_interleave() -> None:
    journal = Journal()
    journal.record("start", "ok")

    def worker(n: int) -> None:
        for i in range(25):
            journal.record("flush", "ok", what={"worker": n, "i": i})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = journal.verify()
    assert result.ok, result.problems[:3]
    assert result.entries == 101


def test_audit_cli_lists_and_filters() -> None:
    journal = Journal()
    journal.record("flush", "ok", site="a.example.fr", what={"summary": "2 urls"})
    journal.record("flush", "failed", site="b.example.fr")
    runner = CliRunner()
    out = runner.invoke(cli, ["audit", "--site", "a.example.fr", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["site"] for r in rows] == ["a.example.fr"]
    out = runner.invoke(cli, ["audit", "--since", "1h"])
    assert out.exit_code == 0 and "b.example.fr" in out.output
    out = runner.invoke(cli, ["audit", "--since", "yesterday"])
    assert out.exit_code == 2
    out = runner.invoke(cli, ["audit", "verify", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["ok"] is True


def test_one_hand_added_entry_is_detected_and_stays_visible() -> None:
    journal = Journal()
    fill(journal, 3)
    last = json.loads(lines(journal)[-1])
    forged = {**last, "seq": 4, "prev": last["hash"], "what": {"forged": True}}
    forged["hash"] = entry_hash(forged)
    rewrite(journal, [*lines(journal), json.dumps(forged) + "\n"])
    assert not journal.verify().ok
    # a later append is accepted (a crash must not block flushes) but marks the lag for ever
    e = journal.record("flush", "ok")
    assert e["head_lag"] == 4
    result = journal.verify()
    assert result.ok and any("seq 5" in w for w in result.warnings)
