"""Fastly target: custom VCL whose decision tables live in an edge dictionary.

Reference:
- Custom VCL (``#FASTLY recv`` … macros): https://www.fastly.com/documentation/guides/vcl/mixing-and-matching-fastly-vcl-with-custom-vcl/
- ``vcl_fetch`` (``beresp.http.Content-Type`` is there, ``beresp.ttl``):
  https://www.fastly.com/documentation/reference/vcl/subroutines/fetch/
- Edge dictionaries, ``table.lookup`` / ``table.contains``:
  https://www.fastly.com/documentation/reference/vcl/functions/table/table-lookup/
  (limits: 1,000 items per dictionary by default, keys ≤ 256 characters)
- ``parse_time_delta``: https://www.fastly.com/documentation/reference/vcl/functions/date-and-time/parse-time-delta/
- API (versions, VCL, dictionaries): https://www.fastly.com/documentation/reference/api/

How SPEC §2 is expressed: exactly, as for Varnish (:mod:`cache_rules.targets.plan`),
but with the per-head tables as **data**: every page, directory and site head of every
rule set becomes dictionary items, so a site with 10,000 pages changes items, not code.

Dictionary ``cdnctl_rules`` (``fastly-dictionary.json``), ``S`` the site key (s1, s2…)
and ``R`` the rule set (``r`` regular, ``w0``… windows):

- ``S|t|<media type>`` → class, ``S|m|<major type>`` → class (other types: ``o``);
- ``S|R|p|<page>|<class>``, ``S|R|d|<directory>|<class>``, ``S|R|s||<class>`` →
  ``<ttl>s <rule id>``, or ``-`` when no rule of that set matches (the regular rules
  decide); every head has its ``|o`` item (the winner for any other type).

``vcl_recv`` maps the Host to the site, the override window (``now.sec``, whole
seconds) and the on/off state (a site off the CDN is passed). ``vcl_fetch`` normalises
the path (unreserved escapes decoded, hex upper-cased), finds the class, then the head
(page; directories from depth N down to 1; site) in the window's set, then in the
regular set, and sets ``beresp.ttl`` (``cache: false``: ``return(pass)``).
"""

from __future__ import annotations

import json
import math

from cache_rules.targets.base import CompileOptions, Target, environment
from cache_rules.targets.capabilities import Fidelity, structural_check, with_fidelity
from cache_rules.targets.plan import Head, Outcome, RuleSetPlan, SitePlan, checked
from cache_rules.targets.varnish import normalisation

DICTIONARY = "cdnctl_rules"
DICTIONARY_FILE = "fastly-dictionary.json"
MAX_ITEMS = 1000


def _value(o: Outcome | None) -> str:
    return "-" if o is None else f"{o.ttl}s {checked('rule_id', o.rule_id)}"


def _head_items(prefix: str, head: Head, out: dict[str, str]) -> None:
    out[f"{prefix}|o"] = _value(head.other)
    for cls, o in head.by_class.items():
        out[f"{prefix}|{cls}"] = _value(o)


def _set_items(site: str, rs: RuleSetPlan, out: dict[str, str]) -> None:
    for h in rs.pages:
        _head_items(f"{site}|{rs.key}|p|{checked('path', h.path or '')}", h, out)
    for h in rs.dirs:
        _head_items(f"{site}|{rs.key}|d|{checked('path', h.path or '')}", h, out)
    _head_items(f"{site}|{rs.key}|s|", rs.site, out)


def dictionary(plans: list[SitePlan]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in plans:
        for media, cls in p.exact.items():
            out[f"{p.key}|t|{media}"] = cls
        for major, cls in p.majors.items():
            out[f"{p.key}|m|{major}"] = cls
        for rs in [p.regular] + [w.rules for w in p.windows]:
            _set_items(p.key, rs, out)
    return dict(sorted(out.items()))


def depth(plans: list[SitePlan]) -> int:
    dirs = [h.path or "" for p in plans for rs in [p.regular] + [w.rules for w in p.windows] for h in rs.dirs]
    return max((d.count("/") - 1 for d in dirs), default=0)


class FastlyTarget(Target):
    name = "fastly"
    main = "fastly.vcl"
    template = "fastly.vcl.j2"

    def files(self, plans: list[SitePlan], options: CompileOptions) -> dict[str, str]:
        vcl = environment().get_template(self.template).render(
            sites=plans, dictionary=DICTIONARY, depth=depth(plans), norm=normalisation(),
            start=lambda w: math.ceil(w.start.timestamp()), end=lambda w: math.ceil(w.end.timestamp()))
        items = json.dumps({DICTIONARY: dictionary(plans)}, indent=1, ensure_ascii=True)
        return {self.main: vcl, DICTIONARY_FILE: items + "\n"}

    def fidelity(self, plans: list[SitePlan], options: CompileOptions) -> list[Fidelity]:
        out = []
        for p in plans:
            for w in p.windows:
                if w.start.microsecond or w.end.microsecond:
                    out.append(Fidelity(p.site.site, None, "override window", "approximated",
                                        f"window {w.reason!r}: bounds rounded up to whole seconds (now.sec)",
                                        "window"))
        return out

    def notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        return with_fidelity(self.fidelity(plans, options), self._notes(plans, options))

    def _notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        n = len(dictionary(plans))
        out = [f"edge dictionary {DICTIONARY}: {n} item(s)"]
        if n > MAX_ITEMS:
            out.append(f"more than {MAX_ITEMS} dictionary items: ask Fastly to raise the service's limit")
        out.append("responses with Set-Cookie follow Fastly's defaults (not stored by default VCL)")
        return out

    engine = "structure-check"

    def available(self) -> bool:
        return True  # no local engine: a structural check here, the vendor API validates on apply

    def check(self, plans: list[SitePlan], options: CompileOptions):  # type: ignore[no-untyped-def]
        return structural_check(self.name, self.files(plans, options))


TARGET = FastlyTarget()
