"""Cloudflare target: Cache Rules (ruleset phase ``http_request_cache_settings``).

Reference:
- Cache Rules: https://developers.cloudflare.com/cache/how-to/cache-rules/ (settings:
  .../cache-rules/settings/, API: .../cache-rules/create-api/)
- Rulesets API, phase entry point:
  https://developers.cloudflare.com/api/resources/rulesets/subresources/phases/methods/update/
  (``PUT /zones/{zone_id}/rulesets/phases/http_request_cache_settings/entrypoint``)
- Rules language fields: https://developers.cloudflare.com/ruleset-engine/rules-language/fields/
- URL normalization: https://developers.cloudflare.com/rules/normalization/how-it-works/

How SPEC §2 is expressed. Cache Rules run in the *request* phase and can only match
request fields: the response's Content-Type **cannot be matched**. So:

- path selectors are exact: ``http.request.uri.path eq "/page"`` and
  ``starts_with(http.request.uri.path, "/dir/")`` — provided the zone normalizes
  incoming URLs (RFC 3986 normalization: unreserved escapes decoded, hex upper-cased,
  other bytes escaped, which is SPEC §1; dot segments are also removed there);
- a type or group rule is **approximated by the file extension** of the path
  (``http.request.uri.path.extension in {"html" "htm"}``) using :data:`EXTENSIONS`;
  a type with no known extension cannot be expressed: the rule is left out and the
  fidelity report says so;
- rules are emitted in ascending SPEC key order: when several Cache Rules match, later
  rules override the settings of earlier ones, so the last match is the SPEC winner;
  override windows compare ``http.request.timestamp.sec``; a site off the CDN (or in a
  window that switches it off) gets ``"cache": false`` (bypass) as the last rule.

Every rule sets both ``cache`` and ``edge_ttl`` (``override_origin``), so a later rule
fully replaces an earlier one. Rule ``ref`` is ``cdnctl_<rule id>`` (``cdnctl_off``
for the bypass rules) and the description names the rule.
"""

from __future__ import annotations

import json
import math

from cache_rules.model import PathRank, Rule, SitePolicy, TypeRank
from cache_rules.targets.base import CompileOptions, Target, environment
from cache_rules.targets.capabilities import Fidelity, layers, rule_kind, structural_check, with_fidelity
from cache_rules.targets.plan import SitePlan, checked

PHASE = "http_request_cache_settings"

# media type -> file extensions (lower case, no dot). A fixed table, not the host's
# mime.types, so that the same policy always compiles to the same rules. One type per
# extension, so that "the type an extension stands for" is a function.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "text/html": ("html", "htm"),
    "text/css": ("css",),
    "text/plain": ("txt",),
    "text/csv": ("csv",),
    "text/calendar": ("ics",),
    "text/markdown": ("md",),
    "application/javascript": ("js", "mjs"),
    "application/json": ("json",),
    "application/ld+json": ("jsonld",),
    "application/manifest+json": ("webmanifest",),
    "application/xml": ("xml",),
    "application/rss+xml": ("rss",),
    "application/atom+xml": ("atom",),
    "application/pdf": ("pdf",),
    "application/msword": ("doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.ms-excel": ("xls",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/zip": ("zip",),
    "application/gzip": ("gz",),
    "application/wasm": ("wasm",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "image/avif": ("avif",),
    "image/svg+xml": ("svg",),
    "image/x-icon": ("ico",),
    "image/bmp": ("bmp",),
    "image/tiff": ("tif", "tiff"),
    "font/woff": ("woff",),
    "font/woff2": ("woff2",),
    "font/ttf": ("ttf",),
    "font/otf": ("otf",),
    "video/mp4": ("mp4",),
    "video/webm": ("webm",),
    "video/mpeg": ("mpeg", "mpg"),
    "video/quicktime": ("mov",),
    "audio/mpeg": ("mp3",),
    "audio/ogg": ("ogg", "oga"),
    "audio/wav": ("wav",),
    "audio/aac": ("aac",),
}


def extension_type(path: str) -> str | None:
    """The media type :data:`EXTENSIONS` gives the path's extension (first listed wins)."""
    ext = path_extension(path)
    if not ext:
        return None
    for media, exts in EXTENSIONS.items():
        if ext in exts:
            return media
    return None


def path_extension(path: str) -> str:
    """What ``http.request.uri.path.extension`` holds: the last segment's text after its
    last dot, lower-cased, without the dot ("" when none)."""
    last = path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[1].lower() if "." in last else ""


def rule_extensions(rule: Rule) -> tuple[str, ...]:
    """Extensions standing for a type or group rule's media types (sorted, no duplicates)."""
    exts: set[str] = set()
    for pattern in rule.patterns:
        if pattern.endswith("/*"):
            major = pattern[:-1]
            exts.update(e for media, es in EXTENSIONS.items() if media.startswith(major) for e in es)
        else:
            exts.update(EXTENSIONS.get(pattern, ()))
    return tuple(sorted(exts))


def _string(value: str) -> str:
    # Paths are checked (no quote or backslash can reach here); escape anyway.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _set(values: tuple[str, ...] | list[str]) -> str:
    return "{" + " ".join(_string(v) for v in values) + "}"


class CloudflareTarget(Target):
    name = "cloudflare"
    main = "cloudflare-rulesets.json"
    template = "cloudflare.json.j2"

    # -- compile --------------------------------------------------------------------------

    def rulesets(self, plans: list[SitePlan]) -> dict[str, dict[str, object]]:
        """site -> body of ``PUT .../phases/http_request_cache_settings/entrypoint``."""
        return {p.site.site: self.ruleset(p) for p in plans}

    def ruleset(self, plan: SitePlan) -> dict[str, object]:
        site = plan.site
        host = f"lower(http.host) in {_set([checked('host', h) for h in plan.hosts])}"
        rules: list[dict[str, object]] = []
        for layer in layers(site):
            when = ""
            if layer.window is not None:
                start = math.ceil(layer.window.start.timestamp())
                end = math.ceil(layer.window.end.timestamp())
                when = f" and http.request.timestamp.sec ge {start} and http.request.timestamp.sec lt {end}"
            for rule in layer.rules:
                expr = self._match(rule)
                if expr is None:
                    continue  # reported by fidelity()
                scope = f"window {layer.window.reason!r}: " if layer.window else ""
                rules.append(self._rule(rule.id, f"{scope}{rule.describe()} → {rule.action()}",
                                        f"({host}{when}{expr})", rule.ttl))
            if layer.off:
                why = (f"site off during window {layer.window.reason!r}" if layer.window
                       else "site off the CDN (pass-through)")
                rules.append(self._rule("off", why, f"({host}{when})", 0))
        return {"name": "default", "kind": "zone", "phase": PHASE,
                "description": f"cdnctl cache rules for {site.site}", "rules": rules}

    @staticmethod
    def _rule(ident: str, description: str, expression: str, ttl: int) -> dict[str, object]:
        params: dict[str, object] = {"cache": False} if ttl <= 0 else {
            "cache": True, "edge_ttl": {"mode": "override_origin", "default": ttl}}
        return {"ref": f"cdnctl_{checked('rule_id', ident)}", "description": f"cdnctl {ident}: {description}",
                "expression": expression, "action": "set_cache_settings", "action_parameters": params,
                "enabled": True}

    @staticmethod
    def _match(rule: Rule) -> str | None:
        parts = []
        if rule.path_rank is PathRank.PAGE:
            parts.append(f"http.request.uri.path eq {_string(checked('path', rule.path or ''))}")
        elif rule.path_rank is PathRank.DIRECTORY:
            parts.append(f"starts_with(http.request.uri.path, {_string(checked('path', rule.path or ''))})")
        if rule.type_rank is not TypeRank.ANY:
            exts = rule_extensions(rule)
            if not exts:
                return None
            parts.append(f"http.request.uri.path.extension in {_set(exts)}")
        return "".join(f" and {p}" for p in parts)

    def files(self, plans: list[SitePlan], options: CompileOptions) -> dict[str, str]:
        text = environment().get_template(self.template).render(
            document=json.dumps(self.rulesets(plans), indent=2, ensure_ascii=False, sort_keys=False))
        return {self.main: text}

    # -- fidelity -------------------------------------------------------------------------

    def fidelity(self, plans: list[SitePlan], options: CompileOptions) -> list[Fidelity]:
        out: list[Fidelity] = []
        for plan in plans:
            site = plan.site
            for rule in [*site.rules, *(r for w in site.overrides for r in w.rules)]:
                if rule.type_rank is TypeRank.ANY:
                    continue
                exts = rule_extensions(rule)
                if not exts:
                    out.append(Fidelity(site.site, rule.id, rule_kind(rule), "unsupported",
                                        f"Cache Rules cannot match the response Content-Type and no file "
                                        f"extension is known for {', '.join(rule.patterns)}: rule left out, "
                                        "the next matching rule decides", "rule"))
                else:
                    out.append(Fidelity(site.site, rule.id, rule_kind(rule), "approximated",
                                        "Cache Rules cannot match the response Content-Type: matched on the "
                                        f"path's extension instead ({', '.join('.' + e for e in exts)})",
                                        "extension"))
            for w in site.overrides:
                if w.start.microsecond or w.end.microsecond:
                    out.append(Fidelity(site.site, None, "override window", "approximated",
                                        f"window {w.reason!r} bounds rounded up to whole seconds", "rule"))
        return out

    def notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        return with_fidelity(self.fidelity(plans, options), self._notes(plans, options))

    def _notes(self, plans: list[SitePlan], options: CompileOptions) -> list[str]:
        return ["zone setting required: Rules > Settings > URL normalization: RFC 3986, incoming URLs "
                "(path selectors assume it)"]

    engine = "structure-check"

    def available(self) -> bool:
        return True  # no local engine: a structural check here, the vendor API validates on apply

    def check(self, plans: list[SitePlan], options: CompileOptions):  # type: ignore[no-untyped-def]
        return structural_check(self.name, self.files(plans, options))


def approximate(site: SitePolicy, path: str, content_type: str | None) -> tuple[SitePolicy, str, str | None]:
    """The documented approximation as a SPEC request: what Cloudflare decides for
    (path, content_type) is what SPEC §2 decides for the returned site and request —
    type/group rules without extensions left out, the type taken from the extension."""
    import dataclasses

    from cache_rules.values import normalize_path

    def keep(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        return tuple(r for r in rules if r.type_rank is TypeRank.ANY or rule_extensions(r))

    reduced = dataclasses.replace(
        site, rules=keep(site.rules),
        overrides=tuple(dataclasses.replace(w, rules=keep(w.rules)) for w in site.overrides))
    norm = normalize_path(path)
    return reduced, norm, extension_type(norm)


TARGET = CloudflareTarget()
