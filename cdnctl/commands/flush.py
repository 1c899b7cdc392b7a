"""`cdnctl flush`: empty the cache of pages on every target of a site (thin wrapper).

Planning is :mod:`cdnctl.flush`, sending is :mod:`cdnctl.vendors`; this module parses
options and renders the per-target, per-call result.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from cache_rules.model import Policy, SitePolicy
from cdnctl.audit import AuditError, Journal
from cdnctl.errors import CdnctlError, Exit
from cdnctl.flush import FlushInputError, plan_flush, read_url_file
from cdnctl.output import console, emit_json, json_option
from cdnctl.settings import Settings
from cdnctl.vendors import VendorConfigError, load_vendors, run_flush, targets_for_site
from cdnctl.vendors.base import FlushResult


def infer_site(policy: Policy, site: str | None, urls: list[str]) -> SitePolicy:
    """``--site``, or the one site every full URL names."""
    from urllib.parse import urlsplit

    if site is not None:
        found = policy.site_for_host(site)
        if found is None:
            known = ", ".join(sorted(policy.sites)) or "none"
            raise CdnctlError(f"no site {site!r} in the policy (known: {known})", Exit.USAGE)
        return found
    hosts = set()
    for url in urls:
        if not url.startswith("/"):
            try:
                hosts.add((urlsplit(url if "://" in url else "https://" + url).hostname or "").rstrip("."))
            except ValueError:
                continue
    found_sites = {h: policy.site_for_host(h) for h in hosts}
    names = {s.site for s in found_sites.values() if s is not None}
    if None in found_sites.values():
        bad = sorted(h for h, s in found_sites.items() if s is None)
        raise CdnctlError(f"host(s) {', '.join(bad)} belong to no site of the policy; nothing flushed",
                          Exit.INVALID)
    if len(names) == 1:
        return policy.sites[names.pop()]
    raise CdnctlError("say which site with --site (URLs name " + (
        "several sites" if len(names) > 1 else "no host") + ")", Exit.USAGE)


def _existing(path: Path | None) -> Path | None:
    return path if path is not None and path.exists() else None


@click.command("flush")
@click.argument("urls", nargs=-1)
@click.option("--site", default=None, help="Site (primary host or alias). Default: the host of the URLs.")
@click.option("--from-file", "from_file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              help="Read URLs from FILE, one per line (# comments; - for stdin).")
@click.option("--prefix", "prefixes", multiple=True, metavar="PATH", help="Every URL under PATH; repeatable.")
@click.option("--tag", "tags", multiple=True,
              help="Every object with this cache tag / surrogate key; repeatable.")
@click.option("--all", "everything", is_flag=True, help="Everything the site has in cache.")
@click.option("--wait", is_flag=True, help="Return when every vendor reports the purge complete.")
@click.option("--soft", is_flag=True, help="Mark stale instead of removing, where the vendor can.")
@click.option("--dry-run", is_flag=True, help="Show the targets and calls; send nothing.")
@click.option("--fresh", is_flag=True, help="Flush everything again, even what succeeded on the last run.")
@click.option("--target", "only", multiple=True, metavar="NAME",
              help="Only this target (node name or vendor:id); repeatable.")
@click.option("--timeout", default=120.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Total time budget in seconds, retries and --wait included.")
@click.option("--fleet", "fleet_path", type=click.Path(path_type=Path, dir_okay=False), envvar="CDNCTL_FLEET",
              default="fleet.yaml", show_default=True, show_envvar=True,
              help="Fleet file: the edge nodes (ignored when absent).")
@click.option("--vendors", "vendors_path", type=click.Path(path_type=Path, dir_okay=False),
              envvar="CDNCTL_VENDORS", default="vendors.yaml", show_default=True, show_envvar=True,
              help="Vendors file: commercial CDN accounts per site (ignored when absent).")
@json_option
@click.pass_obj
def flush(settings: Settings, urls: tuple[str, ...], site: str | None, from_file: Path | None,
          prefixes: tuple[str, ...], tags: tuple[str, ...], everything: bool, wait: bool, soft: bool,
          dry_run: bool, fresh: bool, only: tuple[str, ...], timeout: float, fleet_path: Path,
          vendors_path: Path, as_json: bool) -> None:
    """Purge URLs (or a prefix, tags, everything) of one site on every node and vendor.

    URLs are normalised and deduplicated; a URL of another host than the site's and its
    aliases refuses the whole flush before any call. Every flush is recorded in the
    audit journal. A re-run of the same flush within 30 minutes sends only what failed.

    Exit 0 when every target purged everything, 3 when some targets or batches failed
    (each is listed), 1 when nothing could be purged, 2 on a usage error.
    """
    all_urls = list(urls)
    if from_file is not None:
        try:
            all_urls += read_url_file(from_file)
        except OSError as exc:
            raise CdnctlError(f"--from-file {from_file}: {exc.strerror}", Exit.USAGE) from None
    policy = settings.policy()
    site_policy = infer_site(policy, site, all_urls)
    try:
        plan = plan_flush(site_policy, all_urls, prefixes, tags, everything, soft)
    except FlushInputError as exc:
        # Refusals are recorded too: a foreign host in a flush request is worth a trace.
        with contextlib.suppress(AuditError):
            Journal().record("flush", "refused", site=site_policy.site,
                             what={"problems": exc.problems[:50], "requested": len(all_urls)})
        raise CdnctlError("nothing flushed: " + "; ".join(exc.problems), Exit.INVALID,
                          detail=exc.problems) from None
    try:
        vendors = load_vendors(_existing(vendors_path))
        targets = targets_for_site(site_policy, _existing(fleet_path), vendors, only)
    except VendorConfigError as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    if not targets:
        raise CdnctlError(f"{site_policy.site} has no purge target: no fleet node serves it "
                          f"({fleet_path}) and no vendor lists it ({vendors_path})", Exit.USAGE)
    try:
        result, entry = run_flush(plan, targets, wait=wait, timeout=timeout, dry_run=dry_run, fresh=fresh)
    except AuditError as exc:
        raise CdnctlError(f"nothing flushed: {exc}", Exit.INVALID) from None
    render(result, entry, as_json, dry_run)
    if result.status == "partial":
        raise SystemExit(int(Exit.PARTIAL))
    if result.status == "failed":
        raise SystemExit(int(Exit.INVALID))


def render(result: FlushResult, entry: dict[str, object] | None, as_json: bool, dry_run: bool) -> None:
    failed = result.failed()
    if as_json:
        emit_json({
            "ok": result.status == "ok", "status": "dry-run" if dry_run else result.status,
            "site": result.plan.site, "summary": result.plan.summary(), "resumed": result.resumed,
            "items": [i.to_json() for i in result.plan.items], "targets": result.per_target(),
            "calls": result.calls(), "outcomes": [o.to_json() for o in result.outcomes],
            "failed": {t: [i.to_json() for i in items] for t, items in failed.items()},
            "audit": {"seq": entry["seq"], "hash": entry["hash"]} if entry else None,
        })
        return
    title = (f"{'dry run — ' if dry_run else ''}flush {escape(result.plan.site)}: "
             f"{escape(result.plan.summary())}")
    if result.resumed:
        title += " (resuming: only what failed last time)"
    table = Table(title=title)
    for col in ("target", "calls", "planned" if dry_run else "done", "failed", "how"):
        table.add_column(col)
    per = result.per_target()
    for name in result.targets:
        outs = [o for o in result.outcomes if o.target == name]
        counts = per.get(name, {})
        ok = counts.get("done", 0) + counts.get("accepted", 0) + counts.get("dry-run", 0)
        bad = counts.get("failed", 0) + counts.get("unsupported", 0)
        methods = sorted({o.method for o in outs if o.method})
        accepted = f" ({counts['accepted']} pending)" if counts.get("accepted") else ""
        table.add_row(escape(name), str(len([o for o in outs if o.method])), f"{ok}{accepted}",
                      f"[red]{bad}[/]" if bad else "0", escape(", ".join(methods)))
    console.print(table)
    for o in result.outcomes:
        if not o.ok and o.status != "dry-run":
            more = f" … (+{len(o.items) - 5})" if len(o.items) > 5 else ""
            items = ", ".join(i.label() for i in o.items[:5]) + more
            console.print(f"[red]FAILED[/] {escape(o.target)}: {escape(items)} — {escape(o.message)}")
    notes = sorted({o.message for o in result.outcomes if o.ok and o.message})
    for note in notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    if dry_run:
        console.print("[dim]dry run: nothing sent, nothing recorded[/]")
    elif entry is not None:
        verdict = {"ok": "[green]done[/]", "partial": "[yellow]PARTIAL[/]", "failed": "[red]FAILED[/]"}
        console.print(f"{verdict[result.status]} — audit seq {entry['seq']}"
                      + (" — run the same command again to retry only what failed" if failed else ""))


def register(group: click.Group) -> None:
    group.add_command(flush)
