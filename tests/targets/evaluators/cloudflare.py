"""Cloudflare Cache Rules, interpreted as documented.

- Rules language (wirefilter): https://developers.cloudflare.com/ruleset-engine/rules-language/
  — ``eq``, ``lt``, ``ge``, ``in {…}``, ``and``/``or``/``not``, ``starts_with()``, ``lower()``.
- Order: https://developers.cloudflare.com/cache/how-to/cache-rules/order/ — every
  matching rule applies and a later rule's settings override an earlier one's.
- ``http.request.uri.path`` after RFC 3986 URL normalization of incoming URLs
  (https://developers.cloudflare.com/rules/normalization/how-it-works/): unreserved
  escapes decoded, other escapes upper-cased, other bytes escaped, dot segments removed.
- ``http.request.uri.path.extension``: lower-cased extension of the path, no dot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_KEEP = _UNRESERVED | set(":/?#[]@!$&'()*+,;=")
_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<sym>[(){},]))')


def rfc3986_path(raw: str) -> str:
    path = re.split(r"[?#]", raw, maxsplit=1)[0]
    out, i = [], 0
    while i < len(path):
        c = path[i]
        if c == "%" and re.fullmatch(r"[0-9A-Fa-f]{2}", path[i + 1:i + 3]):
            ch = chr(int(path[i + 1:i + 3], 16))
            out.append(ch if ch in _UNRESERVED else "%" + path[i + 1:i + 3].upper())
            i += 3
            continue
        out.append(c if c in _KEEP and c != "%" else "".join(f"%{b:02X}" for b in c.encode()))
        i += 1
    segments: list[str] = []
    for seg in "".join(out).split("/")[1:]:
        if seg == "..":
            if segments:
                segments.pop()
        elif seg != ".":
            segments.append(seg)
    return "/" + "/".join(segments)


def extension(path: str) -> str:
    last = path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[1].lower() if "." in last else ""


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise SyntaxError(f"cannot read {text[pos:pos + 20]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.tokens[self.i]
        if value is not None and tok[1] != value:
            raise SyntaxError(f"expected {value!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def expr(self):  # or-expression
        left = self.conj()
        while self.peek() and self.peek()[1] == "or":
            self.take()
            right = self.conj()
            left = ("or", left, right)
        return left

    def conj(self):
        left = self.unary()
        while self.peek() and self.peek()[1] == "and":
            self.take()
            left = ("and", left, self.unary())
        return left

    def unary(self):
        if self.peek()[1] == "not":
            self.take()
            return ("not", self.unary())
        if self.peek()[1] == "(":
            self.take("(")
            inner = self.expr()
            self.take(")")
            return inner
        left = self.value()
        tok = self.peek()
        if tok and tok[1] in ("eq", "ne", "lt", "le", "gt", "ge"):
            self.take()
            return ("cmp", tok[1], left, self.value())
        if tok and tok[1] == "in":
            self.take()
            return ("in", left, self.set())
        return ("truthy", left)

    def set(self):
        self.take("{")
        items = []
        while self.peek()[1] != "}":
            items.append(self.value())
        self.take("}")
        return ("set", items)

    def value(self):
        kind, text = self.take()
        if kind == "str":
            return ("lit", re.sub(r"\\(.)", r"\1", text[1:-1]))
        if kind == "num":
            return ("lit", int(text))
        if kind == "name" and self.peek() and self.peek()[1] == "(":
            self.take("(")
            args = [self.value()]
            while self.peek()[1] == ",":
                self.take(",")
                args.append(self.value())
            self.take(")")
            return ("call", text, args)
        if kind == "name":
            return ("field", text)
        raise SyntaxError(f"unexpected {text!r}")


def evaluate(node, fields: dict[str, object]):
    op = node[0]
    if op == "lit":
        return node[1]
    if op == "field":
        return fields[node[1]]
    if op == "call":
        args = [evaluate(a, fields) for a in node[2]]
        if node[1] == "lower":
            return str(args[0]).lower()
        if node[1] == "starts_with":
            return str(args[0]).startswith(str(args[1]))
        raise ValueError(f"function {node[1]} not implemented")
    if op == "and":
        return evaluate(node[1], fields) and evaluate(node[2], fields)
    if op == "or":
        return evaluate(node[1], fields) or evaluate(node[2], fields)
    if op == "not":
        return not evaluate(node[1], fields)
    if op == "truthy":
        return bool(evaluate(node[1], fields))
    if op == "in":
        return evaluate(node[1], fields) in [evaluate(v, fields) for v in node[2][1]]
    if op == "cmp":
        a, b = evaluate(node[2], fields), evaluate(node[3], fields)
        return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[node[1]]
    raise ValueError(op)


def parse(expression: str):
    parser = Parser(expression)
    tree = parser.expr()
    if parser.peek() is not None:
        raise SyntaxError(f"trailing tokens in {expression!r}")
    return tree


@dataclass
class Result:
    cache: bool
    ttl: int
    ref: str | None  # the last matching rule's ref


def decide(ruleset: dict, host: str, raw_path: str, at: datetime) -> Result:
    path = rfc3986_path(raw_path)
    fields = {"http.host": host, "http.request.uri.path": path,
              "http.request.uri.path.extension": extension(path),
              "http.request.timestamp.sec": int(at.timestamp())}
    settings: dict[str, object] = {}
    ref = None
    for rule in ruleset["rules"]:
        assert rule["action"] == "set_cache_settings"
        if rule.get("enabled", True) and evaluate(parse(rule["expression"]), fields):
            settings.update(rule["action_parameters"])
            ref = rule.get("ref")
    if not settings:
        return Result(False, 0, None)  # Cloudflare's default cache behaviour: not our policy
    if not settings.get("cache"):
        return Result(False, 0, ref)
    return Result(True, int(settings["edge_ttl"]["default"]), ref)
