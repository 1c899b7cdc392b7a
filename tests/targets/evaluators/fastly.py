"""The generated Fastly VCL, interpreted statement by statement for the parts that decide.

There is no Fastly VCL compiler offline, so this reads the generated ``fastly.vcl``
(host → site, on/off, window bounds on ``now.sec``, the ``regsuball`` normalisation
steps, the directory depths of ``cdn_lookup``) and runs that logic with the documented
semantics of ``table.lookup(dict, key, default)`` / ``table.contains``
(https://www.fastly.com/documentation/reference/vcl/functions/table/), ``regsub`` /
``regsuball`` (PCRE), ``std.tolower`` and ``parse_time_delta`` against the generated
dictionary items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime


def _vcl_regex(text: str) -> str:
    return text.replace('\\"', '"')


@dataclass
class Vcl:
    hosts: dict[str, str]  # host -> site key
    off: set[str]
    windows: dict[str, list[tuple[int, int, str, bool | None]]]  # site -> (start, end, key, enabled)
    steps: list[tuple[str, str]]  # regsuball steps on var.path
    depths: list[int]


def parse(vcl: str) -> Vcl:
    recv = vcl.split("sub vcl_fetch", 1)[0]
    hosts: dict[str, str] = {}
    off: set[str] = set()
    windows: dict[str, list[tuple[int, int, str, bool | None]]] = {}
    for block in re.split(r"\n    (?:\} els)?if \(", recv)[1:]:
        m = re.search(r'set req\.http\.X-Cdn-Site = "(s\d+)";', block)
        if not m:
            continue
        key = m[1]
        for host in re.findall(r'req\.http\.X-Cdn-Host == "([^"]+)"', block.split("{", 1)[0]):
            hosts[host] = key
        head = block.split("if (std.atoi", 1)[0]
        if 'X-Cdn-Pass = "off"' in head:
            off.add(key)
        for w in re.finditer(r"if \(std\.atoi\(now\.sec\) >= (\d+) && std\.atoi\(now\.sec\) < (\d+)\) \{\n"
                             r'\s+set req\.http\.X-Cdn-Win = "(w\d+)";\n(\s+(unset|set) req\.http\.X-Cdn-Pass)?', block):
            enabled = None if not w[4] else (w[5] == "unset")
            windows.setdefault(key, []).append((int(w[1]), int(w[2]), w[3], enabled))
    fetch = vcl.split("sub vcl_fetch", 1)[1]
    steps = [(_vcl_regex(a), b) for a, b in re.findall(r'set var\.path = regsuball\(var\.path, "((?:[^"\\]|\\.)*)", "([^"]*)"\);', fetch)]
    depths = [int(d) for d in re.findall(r'regsub\(var\.path, "\^\(\(\?:/\[\^/\]\*\)\{(\d+)\}/\)\.\*\$"', vcl)]
    return Vcl(hosts, off, windows, steps, depths)


def _pcre_repl(rep: str) -> str:
    return re.sub(r"\\(\d)", r"\\g<\1>", rep)


@dataclass
class Result:
    cache: bool
    ttl: int
    rule: str | None


def decide(vcl: Vcl, table: dict[str, str], host: str, url: str, content_type: str | None, at: datetime) -> Result:
    h = re.sub(r"\.$", "", re.sub(r":[0-9]*$", "", host)).lower()
    site = vcl.hosts[h]
    now = int(at.timestamp())  # now.sec
    passing = site in vcl.off
    win = None
    for start, end, key, enabled in vcl.windows.get(site, []):
        if start <= now < end:
            win = key
            if enabled is True:
                passing = False
            elif enabled is False:
                passing = True
    if passing:
        return Result(False, 0, None)
    path = re.sub(r"[?#].*$", "", url.split("?", 1)[0])  # req.url.path
    for pattern, rep in vcl.steps:
        path = re.sub(pattern, _pcre_repl(rep), path)
    media = re.sub(r"^[ \t]*([^;]*?)[ \t]*(;.*)?$", r"\1", content_type or "", count=1).lower()
    cls = "o"
    if re.search(r"^[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+$", media):
        cls = table.get(f"{site}|t|{media}", table.get(f"{site}|m|{re.sub('/.*$', '', media)}", "o"))

    def lookup(rset: str) -> str:
        head = ""
        if f"{site}|{rset}|p|{path}|o" in table:
            head = f"{site}|{rset}|p|{path}"
        for k in vcl.depths:
            if head == "":
                d = re.sub(r"^((?:/[^/]*){" + str(k) + r"}/).*$", r"\1", path, count=1)
                if f"{site}|{rset}|d|{d}|o" in table:
                    head = f"{site}|{rset}|d|{d}"
        if head == "":
            head = f"{site}|{rset}|s|"
        return table.get(f"{head}|{cls}", table.get(f"{head}|o", "-"))

    won = "-"
    if win:
        won = lookup(win)
    if won == "-":
        won = lookup("r")
    ttl_text, rule = won.split(" ", 1)
    ttl = int(ttl_text[:-1])
    return Result(ttl > 0, ttl, rule)
