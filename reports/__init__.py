"""Traffic statistics and the QS-01..QS-07 quality indicators (SPEC §5–6)."""
