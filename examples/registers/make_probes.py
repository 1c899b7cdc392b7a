"""Writes probes-2026-04.csv.gz: what `cdnctl probe` run by cron every minute would have
stored for the three example sites in April 2026 (Europe/Paris), consistent with
incidents.csv: failures exactly where the incidents say the sites were down.

    python examples/registers/make_probes.py

Deterministic (no randomness): running it again writes the same bytes.
"""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
SITES = ("www.france2030-sommet.gouv.fr", "www.interieur.gouv.fr", "www.journees-patrimoine.gouv.fr")
# (site, first failed probe, first probe ok again, what the probe saw) — see incidents.csv
DOWN = [
    ("www.interieur.gouv.fr", "2026-04-02T09:13", "2026-04-02T09:15", "503,0.011,HTTP 503"),
    ("*", "2026-04-08T02:01", "2026-04-08T04:00", ",10.000,timeout after 10 s"),        # maintenance
    ("www.france2030-sommet.gouv.fr", "2026-04-21T10:00", "2026-04-21T14:30", ",10.000,timeout after 10 s"),
    ("www.interieur.gouv.fr", "2026-04-27T07:01", "2026-04-27T07:45", "502,0.020,HTTP 502"),  # origin down
]


def rows() -> list[str]:
    start = datetime(2026, 4, 1, tzinfo=PARIS)
    end = datetime(2026, 5, 1, tzinfo=PARIS)
    windows = [(s, datetime.fromisoformat(a).replace(tzinfo=PARIS),
                datetime.fromisoformat(b).replace(tzinfo=PARIS), what) for s, a, b, what in DOWN]
    out = ["site,at,ok,status,duration_s,error"]
    for site in SITES:
        t = start
        n = 0
        while t < end:
            failed = next((w for s, lo, hi, w in windows if s in ("*", site) and lo <= t < hi), None)
            stamp = t.isoformat(timespec="seconds")
            if failed:
                out.append(f"{site},{stamp},false,{failed}")
            else:
                out.append(f"{site},{stamp},true,200,0.{80 + n % 40:03d},")
            n += 1
            t += timedelta(minutes=1)
    return out


if __name__ == "__main__":
    target = Path(__file__).with_name("probes-2026-04.csv.gz")
    with gzip.GzipFile(target, "wb", mtime=0) as f:
        f.write(("\n".join(rows()) + "\n").encode())
    print(f"wrote {target}")
