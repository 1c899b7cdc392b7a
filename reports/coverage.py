"""What a report could see: the days delivered log files cover, per site, and the last file.

A day counts as covered when a file that was ingested (status ``done``) stands for it —
``loggest.ingest.coverage``: the day in its name, else the span of its records — never
because the day happens to have traffic. Days are expected from the site's first covered
day on (before it the site was not yet delivering logs: stated, not missing), and only
once they are over (today's file is not due yet). Every report carries this next to its
figures, so a week with 2 of 7 days of logs can never read as a quiet week.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from loggest.ingest import coverage
from reports.calendar import PARIS


def day_coverage(have: Collection[date], period: Sequence[date], today: date | None = None) -> dict[str, Any]:
    """Coverage of one site over ``period`` (Paris days) given the days its files cover."""
    first = min(have) if have else None
    # A day is due once over; a day with a file is covered whatever today is (simulations,
    # clocks ahead).
    due = [d for d in period if today is None or d < today or d in have]
    expected = [d for d in due if first is None or d >= first]
    missing = [d.isoformat() for d in expected if d not in have]
    return {"expected_days": len(expected), "days_with_logs": len(expected) - len(missing),
            "missing_days": missing, "first_day": first.isoformat() if first else None,
            "before_first_day": len(due) - len(expected), "not_yet_due": len(period) - len(due),
            "complete": bool(expected) and not missing}


def site_log_days(files: Iterable[Any], host_site: Mapping[str, str] | None = None) -> dict[str, set[date]]:
    """Per site, the days its ingested files cover (``files``: ``loggest`` FileEntry rows);
    ``host_site`` folds an alias's files into its site."""
    fold = host_site or {}
    out: dict[str, set[date]] = {}
    for entry in files:
        days = coverage(entry)
        for host in entry.sites:
            out.setdefault(fold.get(host, host), set()).update(days)
    return out


_LAST_SQL = """
SELECT site, argMax(name, (updated_at, name)), max(updated_at)  -- ties (same second): the last name
FROM (SELECT arrayJoin(sites) AS site, name, updated_at FROM files FINAL WHERE status = 'done')
WHERE site IN {sites:Array(String)}
GROUP BY site
"""


def last_files(client: Any, hosts: Sequence[str]) -> dict[str, tuple[str, datetime]]:
    """Per host, the last file received: its name and when it was ingested (UTC)."""
    out = {}
    for host, name, at in client.query(_LAST_SQL, parameters={"sites": list(hosts)}).result_rows:
        out[host] = (name, at.replace(tzinfo=UTC) if at.tzinfo is None else at)
    return out


def log_coverage(store: Any, scopes: Mapping[str, Sequence[str]], period: Sequence[date],
                 today: date | None = None) -> dict[str, dict[str, Any]]:
    """The ``coverage`` entry of each site's statistics; ``scopes``: site → its hosts."""
    fold = {h: s for s, hosts in scopes.items() for h in hosts}
    have = site_log_days(store.files("done"), fold)
    last = last_files(store.client, list(fold))
    today = today or datetime.now(PARIS).date()
    out = {}
    for site, hosts in scopes.items():
        mine = [last[h] for h in hosts if h in last]
        newest = max(mine, key=lambda x: x[1]) if mine else None
        out[site] = {**day_coverage(have.get(site, set()), period, today),
                     "last_file": None if newest is None else
                     {"name": newest[0], "received_at": newest[1].astimezone(PARIS).isoformat()}}
    return out


def combined(per_site: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Coverage of several sites reported together: sums, missing days named with their site."""
    if len(per_site) == 1:
        return dict(next(iter(per_site.values())))
    expected = sum(int(c["expected_days"]) for c in per_site.values())
    with_logs = sum(int(c["days_with_logs"]) for c in per_site.values())
    return {"expected_days": expected, "days_with_logs": with_logs,
            "missing_days": [f"{s} {d}" for s, c in per_site.items() for d in c["missing_days"]],
            "complete": expected > 0 and with_logs == expected, "sites": dict(per_site)}


def summary(cov: Mapping[str, Any]) -> str | None:
    """One line saying what is missing, or None when the period is wholly covered."""
    if cov["complete"]:
        return None
    if not cov["expected_days"]:
        return "no day of the period is due yet" if cov.get("not_yet_due") else "no log file for this period"
    missing = cov["missing_days"]
    shown = ", ".join(missing[:10]) + (f" … ({len(missing)} in all)" if len(missing) > 10 else "")
    return f"logs for {cov['days_with_logs']} of {cov['expected_days']} day(s); missing: {shown}"
