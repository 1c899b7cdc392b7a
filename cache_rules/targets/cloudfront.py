"""CloudFront target: cache behaviors + cache policies per path scope, and a generated
Lambda@Edge origin-response function for what a path pattern cannot decide.

Reference:
- Cache behaviors, path patterns (case-sensitive, ``*`` and ``?``, first match in order):
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html#DownloadDistValuesPathPattern
- Cache policies (MinTTL / DefaultTTL / MaxTTL; with MinTTL 0, CloudFront follows the
  response's ``Cache-Control: s-maxage`` / ``no-store``):
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-the-cache-key.html
  and https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html
- Managed policy CachingDisabled (4135ea2d-6df8-44a3-9df3-4b5a84be39ad):
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
- Lambda@Edge origin-response event:
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-event-structure.html
- Deploy: GetDistributionConfig / UpdateDistribution (IfMatch ETag):
  https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistribution.html

Choice. CloudFront Functions run at the viewer stage only and cannot set the TTL of
what CloudFront stores; a cache behavior cannot see the response's Content-Type. So a
Content-Type decision is made by **Lambda@Edge at origin-response**: the generated
function (``cloudfront-<site>.js``) carries the site's decision tables
(:mod:`cache_rules.targets.plan`) and sets ``Cache-Control: s-maxage=<ttl>`` or
``no-store``. Behaviors do the rest, in the order of the heads (pages, then
directories longest first, then the default behavior ``*``):

- a scope whose decision depends neither on the type nor on the clock, whose path is a
  valid path pattern and that has no page or directory rule below it gets a behavior
  with a fixed-TTL cache policy (MinTTL = DefaultTTL = MaxTTL = ttl; CachingDisabled
  for ``cache: false``) and **no code**;
- every other scope (and the default behavior) uses the ``cdnctl-origin-decides``
  policy (MinTTL 0) with the function attached.

CloudFront matches path patterns on the raw request path, but a request that spells a
path differently (``/%61/x``) only ever lands on a behavior *above* the right scope;
such a behavior has rules below it, hence carries the function, which normalises the
path: the decision stays exact. At most :data:`MAX_BEHAVIORS` behaviors are made
(CloudFront's default quota); scopes beyond are left to the function.
"""

from __future__ import annotations

import json
import re

from cache_rules.targets.base import CompileOptions, Target, environment
from cache_rules.targets.capabilities import Fidelity, with_fidelity
from cache_rules.targets.plan import Head, Outcome, RuleSetPlan, SitePlan, epoch

MAX_BEHAVIORS = 25
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ORIGIN_DECIDES = "cdnctl-origin-decides"
MAX_TTL = 31_536_000
_PATTERN = re.compile(r"[A-Za-z0-9_\-.$/~\"'@:+&]+")


def function_name(site: str) -> str:
    return "cloudfront-" + site + ".js"


def _outcome(o: Outcome | None) -> list[object] | None:
    return None if o is None else [o.rule_id, o.ttl]


def _head(h: Head) -> dict[str, object]:
    return {"other": _outcome(h.other), "by": {k: _outcome(v) for k, v in h.by_class.items()}}


def _rules(rs: RuleSetPlan) -> dict[str, object]:
    return {"pages": {h.path: _head(h) for h in rs.pages}, "dirs": {h.path: _head(h) for h in rs.dirs},
            "site": _head(rs.site)}


def table(plan: SitePlan) -> dict[str, object]:
    return {
        "site": plan.site.site, "enabled": plan.enabled, "exact": plan.exact, "majors": plan.majors,
        "regular": _rules(plan.regular),
        "windows": [{"reason": w.reason, "start": epoch(w.start) * 1000, "end": epoch(w.end) * 1000,
                     "enabled": w.enabled, "rules": _rules(w.rules)} for w in plan.windows],
    }


def _policy_name(ttl: int) -> str:
    return f"cdnctl-ttl-{ttl}"


def behaviors(plan: SitePlan) -> dict[str, object]:
    """The distribution's cache behaviors and the cache policies they use."""
    site = plan.site
    heads = plan.regular.pages + plan.regular.dirs
    every_path = [h.path or "" for rs in [plan.regular] + [w.rules for w in plan.windows]
                  for h in rs.pages + rs.dirs]
    policies: dict[str, dict[str, object]] = {
        ORIGIN_DECIDES: {"Name": ORIGIN_DECIDES, "MinTTL": 0, "DefaultTTL": 0, "MaxTTL": MAX_TTL,
                         "Comment": "cdnctl: TTL set by the Lambda@Edge origin-response function"}}
    out: list[dict[str, object]] = []
    off = not plan.enabled and not any(w.enabled for w in plan.windows)  # off whatever the clock

    def fixed(h: Head) -> Outcome | None:
        if plan.windows or h.by_class or h.other is None:
            return None
        if h.kind.name == "DIRECTORY" and any(p != h.path and p.startswith(h.path or "") for p in every_path):
            return None
        return h.other

    for h in heads:
        if len(out) >= MAX_BEHAVIORS:
            break
        path = h.path or ""
        if not _PATTERN.fullmatch(path):
            continue
        pattern = path + "*" if h.kind.name == "DIRECTORY" else path
        out.append(_behavior(pattern, off, fixed(h), policies, h))
    default = _behavior("*", off, None if plan.windows else
                        (plan.regular.site.other if not plan.regular.site.by_class and not heads else None),
                        policies, plan.regular.site)
    return {"site": site.site, "cache_policies": sorted(policies.values(), key=lambda p: str(p["Name"])),
            "behaviors": out, "default": default, "function": function_name(site.site)}


def _behavior(pattern: str, off: bool, fixed: Outcome | None, policies: dict[str, dict[str, object]],
              head: Head) -> dict[str, object]:
    if off:
        return {"PathPattern": pattern, "CachePolicy": CACHING_DISABLED, "Lambda": False,
                "Comment": "site off the CDN"}
    if fixed is None:
        return {"PathPattern": pattern, "CachePolicy": ORIGIN_DECIDES, "Lambda": True,
                "Comment": f"{head.kind.name.lower()} {head.path or '*'}: decided by the function"}
    if fixed.ttl <= 0:
        return {"PathPattern": pattern, "CachePolicy": CACHING_DISABLED, "Lambda": False,
                "Comment": f"cdnctl {fixed.rule_id}", "Rule": fixed.rule_id, "TTL": 0}
    name = _policy_name(fixed.ttl)
    policies[name] = {"Name": name, "MinTTL": fixed.ttl, "DefaultTTL": fixed.ttl, "MaxTTL": fixed.ttl,
                      "Comment": f"cdnctl: fixed TTL {fixed.ttl}s"}
    return {"PathPattern": pattern, "CachePolicy": name, "Lambda": False,
            "Comment": f"cdnctl {fixed.rule_id}", "Rule": fixed.rule_id, "TTL": fixed.ttl}


class CloudFrontTarget(Target):
    name = "cloudfront"
    main = "cloudfront.json"
    template = "cloudfront.js.j2"
    engine = "node"

    def files(self, plans: list[SitePlan], options: CompileOptions) -> dict[str, str]:
        files = {self.main: json.dumps({p.site.site: behaviors(p) for p in plans}, indent=2,
                                       ensure_ascii=False) + "\n"}
        template = environment().get_template(self.template)
        for plan in plans:
            files[function_name(plan.site.site)] = template.render(
                site=plan.site.site, table=json.dumps(table(plan), indent=1, ensure_ascii=True),
                frozen="null" if options.clock != "frozen" or options.at is None
                else repr(epoch(options.at) * 1000))
        return files

    def fidelity(self, plans: list[SitePlan], options: CompileOptions) -> list[Fidelity]:
        return []  # every selector kind is decided exactly (behaviors + the function)

    def notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        return with_fidelity(self.fidelity(plans, options), self._notes(plans, options))

    def _notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        out = []
        for plan in plans:
            b = behaviors(plan)
            coded = sum(1 for x in [*b["behaviors"], b["default"]] if x["Lambda"])  # type: ignore[index]
            count = len(b["behaviors"])  # type: ignore[arg-type]
            out.append(f"{plan.site.site}: {count} cache behavior(s) + default, "
                       f"{coded} with the Lambda@Edge function {function_name(plan.site.site)}")
        return out

    def check_output(self, proc):  # type: ignore[no-untyped-def]
        # node says "/path/file.js:12"; give the place as the other engines do ("Line 12 Pos 1")
        out = proc.stderr
        m = re.search(r"(\S+\.js):(\d+)", out)
        return out + (f"\n('{m[1]}' Line {m[2]} Pos 1)" if m and proc.returncode else "")

    def check_command(self, path, workdir):  # type: ignore[no-untyped-def]
        scripts = sorted(str(p) for p in workdir.glob("cloudfront-*.js"))
        return ["node", "-e", "for (const f of process.argv.slice(1)) require(f);", *scripts]


TARGET = CloudFrontTarget()
