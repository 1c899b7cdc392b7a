"""Export stored records of a site and period as a W3C extended log file ("logs on
request"): UTC ``date``/``time``, ``-`` for absent values, spaces in values written as
``+`` (the W3C convention), gzip when the name ends in ``.gz``. Streams by blocks.
"""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from loggest.store.clickhouse import ClickHouseStore

PARIS = ZoneInfo("Europe/Paris")
W3C_FIELDS = ("date time c-ip cs-method cs-uri-stem cs-uri-query sc-status sc-bytes time-taken cs-version "
              "cs(Referer) cs(User-Agent) x-cache-status cs-host s-computername")


def _v(value: object) -> str:
    if value is None or value == "":
        return "-"
    return str(value).replace(" ", "+").replace("\t", "+").replace("\r", "+").replace("\n", "+")


def export_w3c(store: ClickHouseStore, site: str, first: date, last: date, out: Path) -> int:
    """Write the records of ``site`` for Paris days ``first``..``last``; returns the count."""
    lo = datetime.combine(first, datetime.min.time(), PARIS).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), PARIS).astimezone(UTC)
    sql = ("SELECT time, client, method, path, query, status, bytes, time_taken_us, protocol, referer, "
           "user_agent, cache_status, site, edge FROM records WHERE site = {site:String} "
           "AND time >= {lo:DateTime('UTC')} AND time < {hi:DateTime('UTC')} ORDER BY time, file_id, line_no")
    count = 0
    f: IO[str]
    with (gzip.open(out, "wt", encoding="utf-8", newline="\n") if out.name.endswith(".gz")
          else out.open("w", encoding="utf-8", newline="\n")) as f:
        f.write(f"#Software: cdnctl\n#Version: 1.0\n#Date: {datetime.now(UTC):%Y-%m-%d %H:%M:%S}\n"
                f"#Remark: site {site}, Europe/Paris days {first}..{last}\n#Fields: {W3C_FIELDS}\n")
        params = {"site": site, "lo": lo.replace(tzinfo=None), "hi": hi.replace(tzinfo=None)}
        with store.client.query_row_block_stream(sql, parameters=params) as stream:
            for block in stream:
                lines = []
                for row in block:
                    t, client, method, path, query, status, size, tt, proto, ref, ua, cache, host, edge = row
                    taken = "-" if tt is None else f"{tt / 1_000_000:.6f}"
                    lines.append(" ".join([f"{t:%Y-%m-%d}", f"{t:%H:%M:%S}", _v(client), _v(method), _v(path),
                                           _v(query), _v(status), _v(size), taken, _v(proto), _v(ref), _v(ua),
                                           _v(cache), _v(host), _v(edge)]))
                f.write("\n".join(lines) + "\n" if lines else "")
                count += len(lines)
    return count
