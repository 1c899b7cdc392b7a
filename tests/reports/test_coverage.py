"""Coverage figures from the stores: probe spans computed in ClickHouse equal the pure
Python ones (reports.registers.probe_spans) on the same probes, both stores."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from reports.registers import PROBES, Probe, RegisterStore, probe_spans


def jittered_probes() -> list[Probe]:
    # Two sites, one probe a minute with ±20 s jitter, a prober stopped for 2 h, and runs
    # exactly at the 90 s boundary (kept together) and just over it (split).
    rnd = random.Random(12)
    t0 = datetime(2025, 4, 1, tzinfo=UTC)
    out: list[Probe] = []
    for site in ("a.fr", "b.fr"):
        t = t0
        for i in range(3000):
            step = 60 + rnd.randint(-20, 20)
            if i == 700:
                step = 7200
            elif i == 900:
                step = 90
            elif i == 901:
                step = 91
            t += timedelta(seconds=step, microseconds=rnd.randrange(1000) if i > 902 else 0)
            out.append(Probe(site, t, rnd.random() > 0.02, 200, 0.1, ""))
    return out


def test_probe_spans_sql_equals_python(store: RegisterStore) -> None:
    probes = jittered_probes()
    store.upsert(PROBES, probes)
    lo, hi = datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC)
    got = store.probe_spans(None, lo, hi)
    assert got == probe_spans(probes)
    assert [s.probes for s in got if s.site == "a.fr"] == [700, 201, 2099]  # split at the 2 h stop and at 91 s
    assert store.probe_spans("b.fr", lo, hi) == [s for s in got if s.site == "b.fr"]
