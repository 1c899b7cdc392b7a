"""`cdnctl audit`, `cdnctl audit verify`, `cdnctl audit prune`: the audit journal (cdnctl.audit)."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from cdnctl.audit import AuditError, Journal, parse_since, retention_cutoff
from cdnctl.audit_store import sync
from cdnctl.commands.logs import opened, store_option
from cdnctl.errors import CdnctlError, Exit
from cdnctl.output import console, emit_json, json_option


def _journal() -> Journal:
    return Journal()


@click.group("audit", invoke_without_command=True)
@click.option("--since", default=None, metavar="WHEN",
              help="Only entries since WHEN: 7d, 12h, 30m, or an ISO date/time (Europe/Paris if no offset).")
@click.option("--site", default=None, help="Only entries about this site.")
@click.option("--action", default=None, help="Only this action (flush, token-create, api-flush…).")
@json_option
@click.pass_context
def audit(ctx: click.Context, since: str | None, site: str | None, action: str | None, as_json: bool) -> None:
    """List the audit journal: who did what, when, from where, and the result.

    The journal lives in $CDNCTL_STATE_DIR (default $XDG_STATE_HOME/cdnctl)/audit.jsonl.
    """
    if ctx.invoked_subcommand is not None:
        return
    try:
        start = parse_since(since) if since else None
    except ValueError:
        raise CdnctlError(f"--since {since!r}: expected 7d, 12h, 30m or an ISO date", Exit.USAGE) from None
    journal = _journal()
    rows = list(journal.entries(since=start, site=site.lower() if site else None, action=action))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        console.print(f"no audit entries{' matching' if since or site or action else ''} in {journal.path}")
        return
    table = Table(title=f"{len(rows)} audit entr{'y' if len(rows) == 1 else 'ies'} ({journal.path})")
    for col in ("seq", "when (Paris)", "who", "action", "site", "result", "what"):
        table.add_column(col)
    for row in rows:
        what = row.get("what") or {}
        summary = str(what.get("summary") or what) if isinstance(what, dict) else str(what)
        table.add_row(str(row.get("seq")), str(row.get("at_paris", ""))[:19], escape(str(row.get("who"))),
                      escape(str(row.get("action"))), escape(str(row.get("site") or "—")),
                      escape(str(row.get("result"))), escape(summary[:120]))
    console.print(table)


@audit.command("verify")
@click.option("--anchor", default=None, metavar="SEQ:HASH",
              help="A head noted earlier (printed by a previous verify): check it is still in the chain.")
@json_option
def verify_cmd(anchor: str | None, as_json: bool) -> None:
    """Check the hash chain: edits, deletions, reordering and truncation are reported.

    Exit 0 when intact, 1 when tampering (or damage) is found.
    """
    parsed = None
    if anchor:
        seq, sep, digest = anchor.partition(":")
        if not sep or not seq.isdigit() or len(digest) != 64:
            raise CdnctlError(f"--anchor {anchor!r}: expected SEQ:HASH (64 hex digits)", Exit.USAGE)
        parsed = (int(seq), digest.lower())
    journal = _journal()
    result = journal.verify(parsed)
    if as_json:
        emit_json({**result.to_json(), "journal": str(journal.path)})
    else:
        for p in result.problems:
            where = f"{journal.path}:{p.line}" if p.line else str(journal.path)
            console.print(f"{escape(where)}: [red]error[/]: {escape(p.message)}")
        for w in result.warnings:
            console.print(f"[yellow]warning[/]: {escape(w)}")
        verdict = "[green]intact[/]" if result.ok else "[red]TAMPERED OR DAMAGED[/]"
        console.print(f"{verdict} — {result.entries} entr{'y' if result.entries == 1 else 'ies'}, "
                      f"head {result.head_seq}:{result.head_hash or '-'}")
    if not result.ok:
        raise SystemExit(int(Exit.INVALID))


@audit.command("prune")
@click.option("--before", default=None, metavar="WHEN",
              help="Remove entries older than WHEN (default: 12 months ago, the retention period).")
@json_option
def prune_cmd(before: str | None, as_json: bool) -> None:
    """Apply the 12-month retention; the chain stays verifiable (a checkpoint replaces what is removed)."""
    try:
        cutoff = parse_since(before) if before else retention_cutoff()
    except ValueError:
        raise CdnctlError(f"--before {before!r}: expected an ISO date or 7d/12h", Exit.USAGE) from None
    try:
        what = _journal().prune(cutoff)
    except AuditError as exc:
        raise CdnctlError(str(exc)) from None
    if as_json:
        emit_json(what)
    else:
        console.print(f"removed {what['removed']} entr{'y' if what['removed'] == 1 else 'ies'} "
                      f"older than {cutoff.isoformat()}")


def register(group: click.Group) -> None:
    group.add_command(audit)


@audit.command("sync")
@store_option
@json_option
def sync_cmd(store: str | None, as_json: bool) -> None:
    """Copy new journal entries into the ClickHouse store (table audit_journal).

    Idempotent (by entry number): run it after each ingest or from cron. A journal that
    fails verification is not copied (exit 1).
    """
    journal = _journal()
    check = journal.verify()
    if not check.ok:
        raise CdnctlError(f"audit journal {journal.path} fails verification "
                          f"({len(check.problems)} problem(s)); run `cdnctl audit verify` — nothing copied",
                          Exit.INVALID)
    with opened(store) as st:
        added = sync(journal, st.client)
    if as_json:
        emit_json({"copied": added, "journal": str(journal.path), "head_seq": check.head_seq})
    else:
        console.print(f"copied {added} new audit entr{'y' if added == 1 else 'ies'} to the store "
                      f"(journal head {check.head_seq})")
