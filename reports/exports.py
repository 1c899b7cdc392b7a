"""Exports of a report's data for spreadsheets: CSV (one row per figure) and XLSX."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any


def flat_rows(data: dict[str, Any]) -> list[list[Any]]:
    """One row per figure, ready for a pivot table: report, site, day, metric, value, passed."""
    rows: list[list[Any]] = []
    kind, period = data["kind"], data.get("week") or data.get("month")
    for site, st in data["sites"].items():
        for metric in ("requests", "bytes", "visitors", "origin_requests", "quarantined"):
            rows.append([kind, period, site, "", metric, st[metric], ""])
        for key, value in st["cdn_share"].items():
            rows.append([kind, period, site, "", f"cdn_share_{key}", value, ""])
        for key, value in st["status"].items():
            rows.append([kind, period, site, "", f"status_{key}", value, ""])
        for key in ("p50", "p90", "p99"):
            rows.append([kind, period, site, "", f"time_taken_{key}_s", st["time_taken"][key], ""])
        for d in st["days"]:
            for metric in ("requests", "bytes", "visitors", "hit", "miss", "pass", "error", "unknown", "s1xx",
                           "s2xx", "s3xx", "s4xx", "s5xx", "p50", "p90", "p99"):
                rows.append([kind, period, site, d["day"], metric, d[metric], ""])
    qs = data.get("qs")
    if qs:
        scope = qs["site"] or "*"
        for ind in qs["indicators"]:
            rows.append([kind, period, scope, "", ind["id"], ind["value"], ind["passed"]])
        for site, inds in qs["per_site"].items():
            for ind in inds:
                rows.append([kind, period, site, "", ind["id"], ind["value"], ind["passed"]])
    return rows


CSV_HEADER = ["report", "period", "site", "day", "metric", "value", "passed"]


def render_csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in flat_rows(data):
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def render_xlsx(data: dict[str, Any], path: Path, lang: str = "fr") -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from reports.documents import LABELS

    t = LABELS[lang]
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = t["summary"][:31]
    head = [t["site"], t["requests"], t["bytes"], t["visitors"], t["cdn_share_requests"],
            t["cdn_share_bytes"], t["origin_requests"], "1xx", "2xx", "3xx", "4xx", "5xx",
            "p50 (s)", "p90 (s)", "p99 (s)", t["quarantined"]]
    summary.append(head)
    for site, st in data["sites"].items():
        tt = st["time_taken"]
        summary.append([site, st["requests"], st["bytes"], st["visitors"], st["cdn_share"]["requests"],
                        st["cdn_share"]["bytes"], st["origin_requests"], *st["status"].values(),
                        tt["p50"], tt["p90"], tt["p99"], st["quarantined"]])
    for row in summary.iter_rows(min_row=2, min_col=5, max_col=6):
        for cell in row:
            cell.number_format = "0.00%"
    per_day = wb.create_sheet(t["days"][:31])
    per_day.append([t["site"], t["day"], t["requests"], t["bytes"], t["visitors"], "hit", "miss", "pass",
                    "error", "unknown", "1xx", "2xx", "3xx", "4xx", "5xx", "p50 (s)", "p90 (s)", "p99 (s)"])
    for site, st in data["sites"].items():
        for d in st["days"]:
            per_day.append([site, date.fromisoformat(d["day"]), d["requests"], d["bytes"], d["visitors"],
                            d["hit"], d["miss"], d["pass"], d["error"], d["unknown"], d["s1xx"], d["s2xx"],
                            d["s3xx"], d["s4xx"], d["s5xx"], d["p50"], d["p90"], d["p99"]])
    for row in per_day.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].number_format = "yyyy-mm-dd"
    qs = data.get("qs")
    if qs:
        sheet = wb.create_sheet("QS")
        sheet.append([t["indicator"], "", t["value"], t["target"], t["result"]])
        for ind in qs["indicators"]:
            sheet.append([ind["id"], ind["title"], ind["value"], ind["target_text"], t[ind["status"]]])
        details = wb.create_sheet("QS details")
        details.append(["indicator", "id", "passed", "record"])
        for ind in qs["indicators"]:
            for d in ind["details"]:
                rest = {k: v for k, v in d.items() if k not in ("id", "passed")}
                details.append([ind["id"], str(d["id"]), d["passed"], json.dumps(rest, ensure_ascii=False)])
    for ws in wb.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    wb.save(path)


