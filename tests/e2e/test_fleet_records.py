"""What an apply leaves behind on a real fleet: audit entry, change register rows, dossiers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from loggest.store import open_store
from reports.registers import CHANGES, Change
from reports.store import ClickHouseRegisterStore
from tests.e2e.servers import Origin
from tests.e2e.test_varnish import FleetRig, fleet_rig

pytestmark = [pytest.mark.e2e]

SITE = "fleet.example.fr"
DOWN = "http://u:hunter2@127.0.0.1:1/db"  # nothing listens on port 1: the store cannot be opened


@pytest.fixture(scope="module")
def rig(origin: Origin, workdir_factory: Callable[[str], Path]) -> Iterator[FleetRig]:
    yield from fleet_rig(origin, workdir_factory, {"dossier": "dossier"})


def invoke(rig: FleetRig, *args: str) -> tuple[dict[str, object], str]:
    result = CliRunner(env=rig.env).invoke(cli, ["--policy-dir", str(rig.policy_dir), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def audit(rig: FleetRig) -> list[dict[str, object]]:
    return [json.loads(line) for line in (rig.work / "state" / "audit.jsonl").read_text().splitlines()]


def register(rig: FleetRig, *ids: str) -> dict[str, Change]:
    with open_store(rig.env["CDNCTL_CLICKHOUSE_URL"]) as st:
        found = ClickHouseRegisterStore(st.client).get(CHANGES, list(ids))
    return {k: v for k, v in found.items() if isinstance(v, Change)}


def test_apply_audits_registers_and_documents(rig: FleetRig) -> None:
    fleet = ["--fleet", str(rig.fleet_file)]
    applied, _ = invoke(rig, "apply", *fleet, "--requested-at", "2027-03-01T09:00:00+01:00",
                        "--who", "bob", "--json")
    assert applied["status"] == "applied", applied
    change = applied["change"]
    assert isinstance(change, dict)
    # audit: who, what, sites, result — chained in the journal
    entry = audit(rig)[-1]
    assert entry["action"] == "edge-apply" and entry["who"] == "user:bob" and entry["result"] == "applied"
    assert entry["site"] == SITE and entry["what"]["sites"] == [SITE]  # type: ignore[index]
    assert entry["what"]["change"] == change["id"] and applied["audit_seq"] == entry["seq"]  # type: ignore[index]
    # register: one row per site, effective when the last node took it, dossier date set
    assert applied["register"] == {"updated": True, "store": rig.env["CDNCTL_CLICKHOUSE_URL"], "rows": 1,
                                   "error": None}
    row_id = f"{change['id']}:{SITE}"
    row = register(rig, row_id)[row_id]
    assert row.requested_at == datetime.fromisoformat("2027-03-01T09:00:00+01:00")
    assert row.effective_at == datetime.fromisoformat(str(change["effective_at"]))
    assert row.dossier_updated_at is not None and row.dossier_updated_at >= row.effective_at
    assert row.description.startswith("apply: ")
    # the fleet file's dossier directory was regenerated
    md = (rig.work / "dossier" / f"{SITE}.md").read_text()
    assert "| fl-news | directory /news/ | cache 5m |" in md
    assert applied["dossier"]["generated_at"] == row.dossier_updated_at.isoformat()  # type: ignore[index]

    # an unchanged apply is audited too, and writes no register row
    again, _ = invoke(rig, "apply", *fleet, "--json")
    assert again["status"] == "unchanged" and again["change"] is None
    assert audit(rig)[-1]["result"] == "unchanged"

    # store down: the switch still happens, the register is said NOT updated (field + warning)
    off, stderr = invoke(rig, "site", "disable", SITE, *fleet, "--store", DOWN, "--json")
    assert off["status"] == "applied"
    assert rig.wait_rules("/news/x", None, cache="PASS")
    reg = off["register"]
    assert isinstance(reg, dict) and reg["updated"] is False and reg["rows"] == 0
    assert "Connection refused" in str(reg["error"]) and "hunter2" not in json.dumps(off)
    assert "change register NOT updated" in stderr and "hunter2" not in stderr
    assert any("change register NOT updated" in w for w in off["warnings"])  # type: ignore[union-attr]
    assert audit(rig)[-1]["action"] == "site-disable"
    assert audit(rig)[-1]["what"]["register"]["updated"] is False  # type: ignore[index]
    off_id = f"{off['change']['id']}:{SITE}"  # type: ignore[index]
    assert register(rig, off_id) == {}

    # `cdnctl dossier` with the store back: documents the change and adds its missing row
    doc, _ = invoke(rig, "dossier", "-o", str(rig.work / "dossier2"), "--fleet", str(rig.fleet_file), "--json")
    assert doc["register"]["updated"] is True  # type: ignore[index]
    row = register(rig, off_id)[off_id]
    assert row.description.startswith("site-disable: ") and row.effective_at is not None
    assert row.dossier_updated_at == datetime.fromisoformat(str(doc["generated_at"]))
    assert "disabled (pass-through" in (rig.work / "dossier2" / f"{SITE}.md").read_text()
    # the first change keeps its first dossier date
    first = register(rig, row_id)[row_id]
    assert first.dossier_updated_at is not None and first.dossier_updated_at < row.dossier_updated_at
