"""`cdnctl logs simulate`: example edge logs consistent with the policies (demo, trials)."""

from __future__ import annotations

import gzip
from datetime import date, datetime
from pathlib import Path

import click

from cdnctl.errors import CdnctlError, Exit
from cdnctl.output import console, emit_json, json_option
from cdnctl.settings import Settings
from loggest.simulate import simulate


@click.command("simulate")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="First Paris day.")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True)
@click.option("--requests-per-day", type=click.IntRange(0, 5_000_000), default=8000, show_default=True,
              help="Requests per site and day.")
@click.option("--site", "sites", multiple=True, help="Only these sites (default: every site).")
@click.option("--seed", type=int, default=2027, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Directory for edge-sim_<day>.log.gz files (nginx-cdn format).")
@json_option
@click.pass_obj
def simulate_cmd(settings: Settings, start: datetime, days: int, requests_per_day: int,
                 sites: tuple[str, ...], seed: int, output: Path, as_json: bool) -> None:
    """Write edge access logs whose cache statuses follow the policies' decisions.

    Daily curve, Zipf-distributed paths from each site's own rules, and a cache replay
    (HIT only within the TTL the policy gives at that instant, BYPASS where it says
    no cache or the site is off). Ingest them with `cdnctl logs ingest --format nginx-cdn`.
    """
    policy = settings.policy()
    unknown = [s for s in sites if policy.site_for_host(s) is None]
    if unknown:
        raise CdnctlError(f"unknown site(s): {', '.join(unknown)} (known: {', '.join(sorted(policy.sites))})",
                          Exit.USAGE)
    chosen = [site.site for s in sites if (site := policy.site_for_host(s))] or None
    first = start.date()
    output.mkdir(parents=True, exist_ok=True)
    per_day: dict[date, list[tuple[datetime, str]]] = {}
    # the lines end with the rule that decided, as the generated edges log them
    for when, line, _ctype in simulate(policy, first, days, requests_per_day, seed, chosen, rules=True):
        per_day.setdefault(when.date(), []).append((when, line))
    files = []
    for day, lines in sorted(per_day.items()):
        # Edge nodes write one file per day, requests in time order whatever the site.
        lines.sort(key=lambda item: item[0])
        path = output / f"edge-sim_{day.isoformat()}.log.gz"
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as f:
            f.writelines(line + "\n" for _, line in lines)
        files.append({"file": str(path), "day": day.isoformat(), "lines": len(lines)})
    if as_json:
        emit_json({"files": files, "lines": sum(f["lines"] for f in files)})
        return
    for f in files:
        console.print(f"wrote {f['file']}: {f['lines']:,} lines")


def register(group: click.Group) -> None:
    logs_group = group.commands["logs"]
    assert isinstance(logs_group, click.Group)
    logs_group.add_command(simulate_cmd)
