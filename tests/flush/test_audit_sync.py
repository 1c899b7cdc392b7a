"""`cdnctl audit sync`: the journal mirrored into the real (embedded) ClickHouse store, once."""

from __future__ import annotations

import json
from pathlib import Path

import clickhouse_connect
from click.testing import CliRunner

from cdnctl.audit import Journal
from cdnctl.cli import cli


def run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def test_sync_copies_each_entry_once(tmp_path: Path) -> None:
    state, store = tmp_path / "state", tmp_path / "store"
    env = {"CDNCTL_STATE_DIR": str(state), "CDNCTL_CLICKHOUSE_URL": f"chdb://{store}"}
    journal = Journal(state)
    journal.record("flush", "ok", who="user:alice", site="www.a.gouv.fr", what={"urls": 3})
    journal.record("token-create", "ok", who="user:bob", what={"name": "cms"})
    assert run("audit", "sync", "--json", env=env) == (0, json.dumps({"copied": 2, "journal": str(journal.path),
                                                                     "head_seq": 2}, indent=2) + "\n")
    journal.record("api-flush", "denied", who="token:cms", site="www.a.gouv.fr")
    code, out = run("audit", "sync", env=env)
    assert code == 0 and "copied 1 new audit entry" in out
    assert run("audit", "sync", "--json", env=env)[1].count('"copied": 0') == 1  # idempotent
    client = clickhouse_connect.get_client(dsn=f"chdb://{store}")
    try:
        rows = client.query("SELECT seq, who, action, site, result FROM audit_journal FINAL ORDER BY seq").result_rows
    finally:
        client.close()
    assert rows == [(1, "user:alice", "flush", "www.a.gouv.fr", "ok"), (2, "user:bob", "token-create", None, "ok"),
                    (3, "token:cms", "api-flush", "www.a.gouv.fr", "denied")]


def test_tampered_journal_is_not_copied(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {"CDNCTL_STATE_DIR": str(state), "CDNCTL_CLICKHOUSE_URL": f"chdb://{tmp_path / 'store'}"}
    journal = Journal(state)
    journal.record("flush", "ok", who="user:alice")
    journal.path.write_text(journal.path.read_text().replace("alice", "mallory"))
    code, _ = run("audit", "sync", env=env)
    assert code == 1
