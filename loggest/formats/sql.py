"""Formats compiled to ClickHouse SQL: parse lines inside ClickHouse, at its speed.

The same semantics as :mod:`.convert` and :mod:`.reference` (held equal by the
differential tests). For token formats the fast path splits a line on ``"`` and then on
spaces (``splitByChar``: no regex); a line that does not split into the expected shape,
or contains a backslash (escaped quotes), is parsed by the format's regex
(``extractGroups``, RE2 — the very expression the Python reference uses). Every
conversion is total (``OrZero``/``OrNull`` functions; ``makeDateTime`` does not throw),
so a bad value gives a quarantine reason, never a query error — and short-circuit
evaluation can stay off, which lets ClickHouse compute each shared subexpression once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loggest.formats.cache_status import CACHE_CLASS
from loggest.formats.convert import MONTHS, NO_SITE, no_time_reason
from loggest.formats.model import COLUMNS, DATE_TIME_PARTS, KIND_COLUMNS, Field, Literal, Token
from loggest.formats.reference import SPACEY_KINDS, W3C_VALUE_RE, token_regex
from loggest.pseudo import Pseudonymiser


def q(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


MAX_LINE_BYTES = 65_536      # a longer line is quarantined, cut (--max-line-bytes): bounded memory


def line_expr(col: str = "line", max_line: int = MAX_LINE_BYTES) -> str:
    """The raw line as the Python reference sees it: a UTF-8 BOM before the first line
    removed, CR stripped, invalid UTF-8 replaced (over ``_row_number``, 0-based), at most
    ``max_line`` bytes (a longer line is quarantined: every later copy stays small). One
    substring: each copy of a column of lines costs (it runs on every line)."""
    first = f"if(_row_number = 0 AND startsWith({col}, '\\xEF\\xBB\\xBF'), 4, 1)"
    cr = f"endsWith({col}, '\\r')"
    size = f"least(length({col}) + 1 - {first} - {cr}, {int(max_line)})"
    return f"toValidUTF8(substring({col}, {first}, {size}))"


def too_long_reason(max_line: int) -> str:
    return f"line longer than the limit of {max_line} bytes (--max-line-bytes): "


BLANK = "(trim(BOTH ' \\t' FROM _l) = '')"


def _quoted(v: str, n: int = 80) -> str:
    """SQL for ``'value'`` cut to ``n`` characters, as convert._quote (the arguments of one
    concat: callers splice it into theirs, one copy per line instead of three)."""
    return f"'\\'', substringUTF8({v}, 1, {n}), '\\''"


# ---- the fast split plan for token formats ----

@dataclass(frozen=True)
class _Marker:
    index: int        # field index (among fields)
    sub: int          # 0, or 1 for the second half of a clf_time
    stop: str = ""    # a character the regex path excludes from this field (its next literal's first)


def split_plan(tokens: Sequence[Token]) -> tuple[list[str], dict[int, str]] | None:
    """(conditions, field index → SQL value) over ``_q`` (the line split on '"'), or None
    when the format cannot be split exactly (then only the regex path is used)."""
    atoms: list[str | _Marker] = []
    fields = [t for t in tokens if isinstance(t, Field)]
    fi = 0
    for i, tok in enumerate(tokens):
        if isinstance(tok, Literal):
            atoms.extend(tok.text)
            continue
        prev = tokens[i - 1] if i else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        quoted = (isinstance(prev, Literal) and prev.text.endswith('"')
                  and isinstance(nxt, Literal) and nxt.text.startswith('"'))
        if tok.kind in SPACEY_KINDS and not quoted:
            return None
        stop = nxt.text[0] if isinstance(nxt, Literal) and not quoted and nxt.text[0] not in ' "' else ""
        atoms.append(_Marker(fi, 0, stop))
        if tok.kind == "clf_time":
            atoms.extend([" ", _Marker(fi, 1, stop)])
        fi += 1
    pieces: list[list[str | _Marker]] = [[]]
    for a in atoms:
        if a == '"':
            pieces.append([])
        else:
            pieces[-1].append(a)
    conds = [f"length(_q) = {len(pieces)}"]
    halves: dict[int, dict[int, str]] = {}
    for k, piece in enumerate(pieces, 1):
        markers = [a for a in piece if isinstance(a, _Marker)]
        if not markers:
            conds.append(f"_q[{k}] = {q(''.join(str(a) for a in piece))}")
            continue
        if k % 2 == 0:                                   # inside quotes: one whole field
            if len(piece) != 1:
                return None
            halves.setdefault(piece[0].index, {})[0] = f"_q[{k}]"  # type: ignore[union-attr]
            continue
        parts: list[list[str | _Marker]] = [[]]
        for a in piece:
            if a == " ":
                parts.append([])
            else:
                parts[-1].append(a)
        arr = f"splitByChar(' ', _q[{k}])"
        conds.append(f"length({arr}) = {len(parts)}")
        for j, part in enumerate(parts, 1):
            ms = [a for a in part if isinstance(a, _Marker)]
            if not ms:
                conds.append(f"{arr}[{j}] = {q(''.join(str(a) for a in part))}")
                continue
            if len(ms) > 1:
                return None
            at = part.index(ms[0])
            prefix = "".join(str(a) for a in part[:at])
            suffix = "".join(str(a) for a in part[at + 1:])
            el = f"{arr}[{j}]"
            if prefix or suffix:
                conds.append(f"length({el}) >= {len(prefix) + len(suffix)}")
                if prefix:
                    conds.append(f"startsWith({el}, {q(prefix)})")
                if suffix:
                    conds.append(f"endsWith({el}, {q(suffix)})")
                el = f"substring({el}, {len(prefix) + 1}, length({el}) - {len(prefix) + len(suffix)})"
            if ms[0].stop:
                conds.append(f"position({el}, {q(ms[0].stop)}) = 0")
            halves.setdefault(ms[0].index, {})[ms[0].sub] = el
    values: dict[int, str] = {}
    for idx, h in halves.items():
        values[idx] = h[0] if len(h) == 1 else f"concat({h[0]}, ' ', {h[1]})"
    if len(values) != len(fields):
        return None
    return conds, values


def fast_plan(tokens: Sequence[Token], optional: int = 0) -> tuple[list[str], dict[int, str]] | None:
    """:func:`split_plan` for a format whose last ``optional`` tokens may be absent: a line
    splits as the whole format or as the format without its tail. Conditions the two shapes
    share are tested once; the rest is ``(with tail) OR (without)``; a field of the tail is
    '' on a line without it (as the regex path and the Python reference read it). Both
    shapes stay on the split path: an archive written before the tail existed is read as
    fast as before."""
    full = split_plan(tokens)
    if not optional or full is None:
        return full
    base = split_plan(tokens[:len(tokens) - optional])
    if base is None:
        return None
    fconds, fvals = full
    bconds, bvals = base
    only_full = [c for c in fconds if c not in bconds]
    only_base = [c for c in bconds if c not in fconds]
    if not only_full or not only_base:   # the shapes cannot be told apart by splitting
        return None
    tail = "(" + " AND ".join(only_full) + ")"
    conds = [c for c in fconds if c in bconds] + [f"({tail} OR ({' AND '.join(only_base)}))"]
    values = {k: v if bvals.get(k) == v else f"if({tail}, {v}, {bvals.get(k, q(''))})"
              for k, v in fvals.items()}
    return conds, values


# ---- conversions, kind by kind (same semantics as convert.py) ----

def _num(v: str, a: int, n: int) -> str:
    return f"toUInt16OrZero(substring({v}, {a}, {n}))"


def _datetime_check(y: str, mo: str, d: str, hh: str, mi: str, ss: str) -> str:
    return (f"{y} BETWEEN 1970 AND 2099 AND {mo} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND 31 "
            f"AND {hh} <= 23 AND {mi} <= 59 AND {ss} <= 59 "
            f"AND toDayOfMonth(addDays(makeDate({y}, {mo}, 1), {d} - 1)) = {d}")


def _time_values(v: str, ok: str, y: str, mo: str, d: str, hh: str, mi: str, ss: str, off: str
                 ) -> tuple[str, str]:
    local = f"toDateTime(makeDateTime({y}, {mo}, {d}, {hh}, {mi}, {ss}, 'UTC'), 'UTC')"
    t = f"if({ok}, {local} - {off} * 60, NULL)"
    return t, f"if({ok}, {off}, NULL)"


def _micros(v: str, scale: int) -> str:
    digits = len(str(scale)) - 1
    whole = f"toUInt64OrZero(splitByChar('.', {v})[1]) * {scale}"
    if digits:
        whole += f" + toUInt64OrZero(substring(concat(splitByChar('.', {v})[2], '000000'), 1, {digits}))"
    return f"if({v} = '-', NULL, {whole})"


def _host(v: str) -> str:
    low = f"lower({v})"
    port = f"replaceRegexpOne({low}, ':[0-9]+$', '')"
    return f"if({v} IN ('-', ''), NULL, if(position({v}, ':') > 0, {port}, {low}))"


def _target(t: str) -> tuple[str, str]:
    pos = f"position({t}, '?')"
    return (
        f"if({pos} > 0, substring({t}, 1, {pos} - 1), {t})",
        f"if({pos} > 0, substring({t}, {pos} + 1), NULL)",
    )


_KEYS = sorted(CACHE_CLASS)
_CACHE_KEYS = "[" + ", ".join(q(k) for k in _KEYS) + "]"
_CACHE_VALS = "[" + ", ".join(q(CACHE_CLASS[k]) for k in _KEYS) + "]"
_MONTHS = "[" + ", ".join(q(m) for m in MONTHS) + "]"


def _fixed_time(
    v: str, pattern: str, ymd: tuple[str, str, str], hms: tuple[int, int, int], offset: tuple[int, int, int]
) -> tuple[list[str], str, str]:
    """A fixed-width time stamp: the date parts given as SQL, the clock and the UTC offset
    (sign, hours, minutes) by their 1-based positions in ``v``; ``pattern`` checks the shape."""
    y, mo, d = ymd
    hh, mi, ss = (_num(v, pos, 2) for pos in hms)
    sign, oh, om = offset
    off = (
        f"(if(substring({v}, {sign}, 1) = '-', -1, 1) * "
        f"(toInt32({_num(v, oh, 2)}) * 60 + toInt32({_num(v, om, 2)})))"
    )
    ok = f"(match({v}, '{pattern}') AND {_datetime_check(y, mo, d, hh, mi, ss)})"
    t, o = _time_values(v, ok, y, mo, d, hh, mi, ss, off)
    return [t, o], f"NOT {ok}", f"concat({_quoted(v)}, ' is not a valid time')"


def convert(kind: str, v: str) -> tuple[list[str], str | None, str | None]:
    """(values for KIND_COLUMNS[kind], failure condition, reason) as SQL over string ``v``."""
    dash = f"nullIf({v}, '-')"
    if kind in ("client", "method", "uri", "protocol", "referer", "user_agent", "edge"):
        return [dash], None, None
    if kind == "clf_time":  # 25/Apr/2027:21:00:00 +0200
        return _fixed_time(
            v,
            r"^[0-9][0-9]/[A-Z][a-z][a-z]/[0-9]{4}:[0-9][0-9]:[0-9][0-9]:[0-9][0-9] "
            r"[+-][0-9]{4}$",
            (_num(v, 8, 4), f"indexOf({_MONTHS}, substring({v}, 4, 3))", _num(v, 1, 2)),
            (13, 16, 19),
            (22, 23, 25),
        )
    if kind == "iso_time":  # 2027-04-25T21:00:00+02:00
        return _fixed_time(
            v,
            r"^[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9][+-]"
            r"[0-9][0-9]:[0-9][0-9]$",
            (_num(v, 1, 4), _num(v, 6, 2), _num(v, 9, 2)),
            (12, 15, 18),
            (20, 21, 24),
        )
    if kind == "msec":
        secs = f"toUInt64OrZero(splitByChar('.', {v})[1])"
        ok = f"(match({v}, '^[0-9]{{1,10}}(\\\\.[0-9]{{1,6}})?$') AND {secs} < 4102444800)"
        return (
            [f"if({ok}, toDateTime({secs}, 'UTC'), NULL)", f"if({ok}, 0, NULL)"],
            f"NOT {ok}",
            f"concat({_quoted(v)}, ' is not a valid time')",
        )
    if kind == "query_q":
        return [f"if(startsWith({v}, '?'), substring({v}, 2), NULL)"], None, None
    if kind in ("args", "rule"):
        return [f"if({v} IN ('', '-'), NULL, {v})"], None, None
    if kind == "request_uri":
        path, query = _target(v)
        return [f"if({v} = '-', NULL, {path})", f"if({v} = '-', NULL, {query})"], None, None
    if kind == "status":
        return (
            [f"if({v} = '-', NULL, toUInt16OrNull({v}))"],
            f"({v} != '-' AND NOT match({v}, '^[0-9]{{3}}$'))",
            f"concat({_quoted(v)}, ' is not an HTTP status (3 digits)')",
        )
    if kind == "bytes":
        return (
            [f"if({v} = '-', 0, toUInt64OrZero({v}))"],
            f"({v} != '-' AND NOT match({v}, '^[0-9]{{1,18}}$'))",
            f"concat({_quoted(v)}, ' is not a byte count')",
        )
    if kind == "host":
        return [_host(v)], None, None
    if kind == "cache":
        return (
            [
                f"if({v} IN ('-', ''), NULL, {v})",
                f"if({v} IN ('-', ''), 'unknown', transform(upper(trim(BOTH ' \\t' FROM {v})), "
                f"{_CACHE_KEYS}, {_CACHE_VALS}, 'unknown'))",
            ],
            None,
            None,
        )
    if kind in ("tt_us", "tt_ms", "tt_s"):
        scale = {"tt_us": 1, "tt_ms": 1000, "tt_s": 1_000_000}[kind]
        return (
            [_micros(v, scale)],
            f"({v} != '-' AND NOT match({v}, '^[0-9]{{1,12}}(\\\\.[0-9]+)?$'))",
            f"concat({_quoted(v)}, ' is not a duration')",
        )
    raise ValueError(f"no SQL conversion for {kind}")


def _w3c_time(date: str, time: str, zone: str | None) -> tuple[list[str], str, str]:
    """W3C date + time fields: UTC, or local time in ``zone`` (date-local/time-local)."""
    y, mo, d = _num(date, 1, 4), _num(date, 6, 2), _num(date, 9, 2)
    hh, mi, ss = _num(time, 1, 2), _num(time, 4, 2), _num(time, 7, 2)
    shape = (
        f"(match({date}, '^[0-9]{{4}}-[0-9][0-9]-[0-9][0-9]$') AND match({time}, '^[0-9][0-9]:[0-9][0-9]:"
        f"[0-9][0-9](\\\\.[0-9]+)?$') AND {_datetime_check(y, mo, d, hh, mi, ss)})"
    )
    both = f"concat({date}, ' ', {time})"
    invalid = f"concat({_quoted(both)}, ' is not a valid date and time')"
    if zone is None:
        t, o = _time_values(date, shape, y, mo, d, hh, mi, ss, "0")
        return [t, o], f"NOT {shape}", invalid
    local = f"makeDateTime({y}, {mo}, {d}, {hh}, {mi}, {ss}, {q(zone)})"
    same = f"concat({date}, ' ', substring({time}, 1, 8))"
    ok = f"({shape} AND formatDateTime({local}, '%Y-%m-%d %H:%i:%S') = {same})"
    values = [
        f"if({ok}, toDateTime({local}, 'UTC'), NULL)",
        f"if({ok}, intDiv(timeZoneOffset({local}), 60), NULL)",
    ]
    gap = f"concat({_quoted(both)}, ' does not exist in {zone} (DST change)')"
    return values, f"NOT {ok}", f"if({shape}, {gap}, {invalid})"


def record_select(
    fields: Sequence[Field],
    raw: Sequence[str],
    site: str | None,
    pseudo: Pseudonymiser | None,
    local_tz: str = "Europe/Paris",
) -> tuple[list[str], list[str], str, list[list[str]]]:
    """(failure conditions, SQL per record column, reason expression: '' for a valid record,
    query levels of named intermediate columns to compute below them).

    ``raw[i]`` is the SQL text of field ``i``. The failure conditions are computed one
    query level below as ``_x0``, ``_x1``…, which the values and the reason then refer to
    (keeps the expressions small: ClickHouse's analyzer inlines aliases, and planning time
    grows with the inlined size). Mirrors :class:`convert.RecordBuilder`: the first field
    giving a column wins; checks run in field order; a reason names its field.
    """
    cols: dict[str, str] = {}
    checks: list[tuple[str, str]] = []
    url_host: str | None = None
    pre: list[list[str]] = []

    def check(values: list[str], fail: str, reason: str, name: str) -> list[str]:
        x = f"_x{len(checks)}"
        inner = reason[len("concat("):-1] if reason.startswith("concat(") else reason   # one concat, not two
        checks.append((fail, f"concat({q(name + ': ')}, {inner})"))
        if fail.startswith("NOT "):  # values guarded by the same condition
            values = [v.replace(fail[4:], f"(NOT {x})") for v in values]
        return values

    at = {kind: next((i for i, f in enumerate(fields) if f.kind == kind), -1) for kind in DATE_TIME_PARTS}
    for i, f in enumerate(fields):
        if f.kind == "skip" or f.kind in DATE_TIME_PARTS:
            continue
        names = KIND_COLUMNS[f.kind]
        free = [c for c in names if c not in cols]
        if not free:
            continue
        if f.kind == "request":
            values, fail, reason = _request_levels(raw[i], pre)
        else:
            values, fail, reason = convert(f.kind, raw[i])
        if fail is not None and reason is not None:
            values = check(values, fail, reason, f.name)
        for c, val in zip(names, values, strict=False):
            if c in free:
                cols[c] = val
        if f.kind == "request":
            url_host = values[4]
    if "time" not in cols:
        pair = None
        if at["w3c_date"] >= 0 and at["w3c_time"] >= 0:
            pair, zone = (at["w3c_date"], at["w3c_time"]), None
        elif at["w3c_ldate"] >= 0 and at["w3c_ltime"] >= 0:
            pair, zone = (at["w3c_ldate"], at["w3c_ltime"]), local_tz
        if pair is not None:
            values, fail, reason = _w3c_time(raw[pair[0]], raw[pair[1]], zone)
            name = f"{fields[pair[0]].name} {fields[pair[1]].name}"
            cols["time"], cols["tz_offset"] = check(values, fail, reason, name)
    if "time" not in cols:
        checks.append(("1", q(no_time_reason(fields))))
    site_sql = q(site) if site else "NULL"
    sources = [cols["site"]] if "site" in cols else []
    if url_host is not None:
        sources.append(_host(url_host))
    # The site, one level below (its expression would be inlined into the reason as well).
    site_expr = f"coalesce({', '.join([*sources, site_sql])})" if sources else site_sql
    pre.append([f"{site_expr} AS _site"])
    cols["site"] = "_site"
    if "cache_status" in cols and "cache_class" not in cols:
        cols["cache_class"] = "NULL"
    if pseudo is not None and "client" in cols:
        c, t = cols["client"], cols.get("time", "NULL")
        cols["client"] = f"if(isNull({c}), NULL, {pseudo.sql(f'assumeNotNull({c})', t)})"
    exprs = [cols.get(c, "NULL") for c in COLUMNS]
    conds = [cond for cond, _r in checks]
    parts = [f"_x{i}, {r}" for i, (_c, r) in enumerate(checks)]
    parts.append(f"isNull({cols['site']}), {q(NO_SITE)}")
    return conds, exprs, "multiIf(" + ", ".join(parts) + ", '')", pre


def _request_levels(v: str, pre: list[list[str]]) -> tuple[list[str], None, None]:
    """The request line's values, computed in query levels of their own (``pre``) so each
    piece is a column computed once and named, not an expression inlined everywhere it is
    used: the SQL stays small (ClickHouse plans every file's query; planning time grows
    with the inlined size). Same semantics as convert.request + absolute_target."""
    pre.append([f"splitByChar(' ', {v}) AS _rs"])
    pre.append(["length(_rs) AS _rn", "_rs[1] AS _rm", "_rs[2] AS _rt", "_rs[3] AS _rv"])
    pre.append(["match(_rt, '^[hH][tT][tT][pP][sS]?://') AS _ra"])
    pre.append(["if(_ra, position(_rt, '://') + 3, 1) AS _rb"])
    slash, qmark = "position(_rt, '/', _rb)", "position(_rt, '?', _rb)"
    pre.append([f"if(_ra, multiIf({slash} > 0 AND ({qmark} = 0 OR {slash} < {qmark}), {slash}, {qmark} > 0, "
                f"{qmark}, length(_rt) + 1), 1) AS _rc"])
    pre.append(["position(_rt, '?', _rc) AS _rq"])
    pre.append(["if(_rq > 0, _rq - _rc, length(_rt) + 1 - _rc) AS _rl"])
    ok = "_rn IN (2, 3)"
    return ([f"if({ok}, _rm, NULL)",
             f"if({ok}, if(_ra AND _rl = 0, '/', substring(_rt, _rc, _rl)), NULL)",
             f"if({ok}, if(_rq > 0, substring(_rt, _rq + 1), NULL), NULL)",
             "if(_rn = 3, _rv, NULL)",
             f"if({ok} AND _ra, substring(_rt, _rb, _rc - _rb), NULL)"], None, None)


def _levels(base: str, conds: list[str], exprs: list[str], reason: str, bad: str,
            max_line: int = MAX_LINE_BYTES, pre: Sequence[Sequence[str]] = ()) -> str:
    """Two outer levels over ``base``: failure conditions, then record columns + reason + kind
    (``blank``/``directive`` lines are not data; the others are a record or quarantined)."""
    xs = "".join(f", {c} AS _x{i}" for i, c in enumerate(conds))
    out = ", ".join(f"{e} AS {c}" for e, c in zip(exprs, COLUMNS, strict=True))
    return f"""
        SELECT _line_no, _bytes, _long, _l, {out},
               multiIf(_long, {_long_reason(max_line)}, {bad}, {reason}) AS _reason,
               multiIf(_long, 'quarantine', _blank, 'blank', _directive, 'directive', _reason != '',
                       'quarantine', 'record') AS _kind
        FROM (SELECT *{xs} FROM ({_pre_levels(base, pre)}))"""


def _pre_levels(base: str, pre: Sequence[Sequence[str]]) -> str:
    for level in pre:
        base = f"SELECT *, {', '.join(level)} FROM ({base})"
    return base


def _numbered(source: str, where: str = "", max_line: int = MAX_LINE_BYTES) -> str:
    return (
        f"SELECT _line_no, _bytes, _long, _l, {BLANK} AS _blank FROM (SELECT _row_number + 1 AS _line_no, "
        f"length(line) + 1 AS _bytes, length(line) > {int(max_line)} AS _long, "
        f"{line_expr('line', max_line)} AS _l FROM {source}){where}"
    )


def _long_reason(max_line: int) -> str:
    return f"concat({q(too_long_reason(max_line))}, toString(_bytes - 1), ' bytes')"


def token_query(
    tokens: Sequence[Token],
    site: str | None,
    pseudo: Pseudonymiser | None,
    source: str,
    local_tz: str = "Europe/Paris",
    max_line: int = MAX_LINE_BYTES,
    optional: int = 0,
) -> str:
    """SELECT _line_no, _bytes, _long, _l, <record columns…>, _reason, _kind FROM ``source`` (a table
    expression with columns ``_row_number`` and ``line``). One query level per stage: split,
    fast-path test, regex fallback + field texts, failure conditions, record columns. The
    last ``optional`` tokens may be absent from a line (:func:`fast_plan`)."""
    fields = [t for t in tokens if isinstance(t, Field)]
    regex = token_regex(tokens, optional)
    plan = fast_plan(tokens, optional)
    source_sql = _numbered(source, max_line=max_line)
    text, matched = "_l", "length(_g) > 0"
    value = [f"_g[{k + 1}]" for k in range(len(fields))]
    if plan is not None:             # the split path, the regex only for the lines it refuses
        conds, split_values = plan
        split = f"SELECT _line_no, _bytes, _long, _l, _blank, splitByChar('\"', _l) AS _q FROM ({source_sql})"
        test = " AND ".join(["position(_l, '\\\\') = 0", *conds])
        source_sql = f"SELECT _line_no, _bytes, _long, _l, _blank, _q, ({test}) AS _fast FROM ({split})"
        text, matched = "if(_fast, '', _l)", "(_fast OR length(_g) > 0)"
        value = [f"if(_fast, {split_values[k]}, {v})" for k, v in enumerate(value)]
    base = (f"SELECT _line_no, _bytes, _long, _l, _blank, 0 AS _directive, "
            f"extractGroups({text}, {q(regex)}) AS _g, {matched} AS _matched, "
            + ", ".join(f"{v} AS _f{k}" for k, v in enumerate(value)) + f" FROM ({source_sql})")
    checks, exprs, reason, pre = record_select(
        fields, [f"_f{k}" for k in range(len(fields))], site, pseudo, local_tz
    )
    return _levels(base, checks, exprs, reason, "NOT _matched, 'does not match the format'", max_line, pre)


_UNQUOTE = (
    "arrayMap(_v -> if(length(_v) >= 2 AND startsWith(_v, '\"') AND endsWith(_v, '\"'), "
    "replaceAll(substring(_v, 2, length(_v) - 2), '\"\"', '\"'), _v), "
    f"extractAll(_l, {q(W3C_VALUE_RE)}))"
)


def w3c_query(
    names: Sequence[str] | None,
    fields: Sequence[Field],
    sep: str,
    site: str | None,
    pseudo: Pseudonymiser | None,
    source: str,
    first: int,
    last: int,
    local_tz: str = "Europe/Paris",
    max_line: int = MAX_LINE_BYTES,
) -> str:
    """The same for W3C lines ``first``..``last`` (1-based) under one ``#Fields:`` directive:
    values split as :func:`reference.w3c_values` (tab-separated exactly for CloudFront)."""
    lines = _numbered(source, f" WHERE _line_no BETWEEN {first} AND {last}", max_line)
    directive = "startsWith(_l, '#')"
    if names is None:
        cols = ", ".join(f"NULL AS {c}" for c in COLUMNS)
        why = "'data line before any #Fields: directive'"
        return (
            f"SELECT _line_no, _bytes, _long, _l, {cols}, "
            f"if(_long, {_long_reason(max_line)}, {why}) AS _reason, "
            f"multiIf(_long, 'quarantine', _blank, 'blank', {directive}, 'directive', 'quarantine') AS _kind "
            f"FROM ({lines})"
        )
    n = len(fields)
    split = f"splitByChar({q(sep)}, _l)" if sep == "\t" else _UNQUOTE
    base = (
        f"SELECT _line_no, _bytes, _long, _l, _blank, {directive} AS _directive, length(_w) AS _n, "
        + ", ".join(f"_w[{k + 1}] AS _f{k}" for k in range(n))
        + f" FROM (SELECT _line_no, _bytes, _long, _l, _blank, {split} AS _w FROM ({lines}))"
    )
    checks, exprs, reason, pre = record_select(fields, [f"_f{k}" for k in range(n)], site, pseudo, local_tz)
    bad = f"_n != {n}, concat(toString(_n), ' values for {n} #Fields')"
    return _levels(base, checks, exprs, reason, bad, max_line, pre)
