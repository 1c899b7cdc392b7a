"""CloudFront: a distribution's cache behaviors, their cache policies and the Lambda@Edge
origin-response function, read and written with boto3.

API reference:
- GetDistributionConfig: https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GetDistributionConfig.html
- UpdateDistribution (``IfMatch`` = the ETag of GetDistributionConfig; 412
  ``PreconditionFailed`` when it moved; the whole config is replaced):
  https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateDistribution.html
- GetDistribution (``Status``: ``InProgress`` → ``Deployed``):
  https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GetDistribution.html
- ListCachePolicies / CreateCachePolicy / GetCachePolicy / UpdateCachePolicy (own ETag,
  ``IfMatch``): https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateCachePolicy.html
  and https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_UpdateCachePolicy.html
- Lambda CreateFunction / UpdateFunctionCode / PublishVersion / ListVersionsByFunction:
  https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html,
  https://docs.aws.amazon.com/lambda/latest/api/API_PublishVersion.html;
  Lambda@Edge needs a *numbered version* ARN, the function in us-east-1 and a role
  trusted by ``edgelambda.amazonaws.com``:
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-edge-permissions.html

What is ours. The compiled behaviors (:func:`cache_rules.targets.cloudfront.behaviors`)
are in CloudFront's first-match order. A live behavior is *ours* when its cache policy is
a ``cdnctl-*`` one or it carries our function, or when its path pattern is one the policy
compiles to (CloudFront allows one behavior per pattern); the others (made by hand) are
kept, before ours, and plan lists them. Limit: a CachingDisabled behavior without the
function, left by an older policy at a path no longer compiled, cannot be told from a
hand-made one and is kept. The default behavior ``*`` is ours. Origins, aliases,
certificates… are never touched.

Plan compares, per behavior, (path pattern, cache policy name, function version) and,
per ``cdnctl-*`` cache policy, its TTLs; and whether the function's published version
has the generated code (the zip is deterministic: same code → same CodeSha256). Apply:

1. create / update the cache policies (UpdateCachePolicy with the policy's own ETag) —
   new policies are not live until a behavior uses them; an updated policy in use is
   live at once (names carry the TTL, so this only happens for the comment/TTL of
   ``cdnctl-origin-decides``);
2. Lambda: create the function or update its code, PublishVersion (not live until
   associated);
3. re-read the distribution config: if its ETag moved since plan, stop (conflict);
   UpdateDistribution with ``IfMatch`` = that ETag; a 412 ``PreconditionFailed`` is a
   conflict too (nothing of the distribution changed);
4. poll GetDistribution until ``Deployed`` (case-insensitive), bounded by ``--timeout``;
   still ``InProgress`` at the limit → ``partial`` (accepted by CloudFront, propagation
   not confirmed).

Same policy twice: no call that writes.

Testing against moto 5.2 (``ThreadedMotoServer``, tests/deploy/test_cloudfront.py):
moto ignores ``IfMatch`` and never changes a distribution's ETag, so the 412 path is
tested with botocore's ``Stubber``; moto has **no cache-policy API** (404 on
``/2020-05-31/cache-policy``), so the tests serve those four calls from an in-memory
fake hooked on botocore's ``before-call`` event; moto drops ``LambdaFunctionAssociations``
from distribution configs, so the tests patch its behavior model to keep them. moto's
Lambda (CreateFunction / PublishVersion) works offline and is used as is.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import re
import zipfile
from typing import Any

from cache_rules.model import SitePolicy
from cache_rules.targets import CompileOptions
from cache_rules.targets.cloudfront import CACHING_DISABLED, function_name
from cache_rules.targets.cloudfront import TARGET as COMPILER
from cache_rules.targets.cloudfront import behaviors as compile_behaviors
from cache_rules.targets.plan import SitePlan
from cdnctl.deploy import Deployer, UnitResult, VendorPlan, json_text, text_diff
from cdnctl.deploy.http import ApiError, Conflict, retried
from cdnctl.vendors.base import Permanent, RunContext, Transient

PREFIX = "cdnctl-"
EVENT = "origin-response"
POLL = 5.0  # seconds between GetDistribution calls while InProgress
NEW = "(new version)"  # the function version apply will publish
_RETRYABLE = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "ServiceException",
    "InternalError",
    "RequestTimeout",
}
_CONFLICT = {"PreconditionFailed", "InvalidIfMatchVersion", "ResourceConflictException"}


# -- pure -----------------------------------------------------------------------------------


def lambda_name(site: str) -> str:
    """A Lambda function name for the site (letters, digits, ``-``, ``_``; ≤ 64)."""
    return (PREFIX + re.sub(r"[^A-Za-z0-9_-]", "-", site))[:64]


def package(code: str) -> bytes:
    """The function as a deterministic zip (fixed timestamps): same code, same CodeSha256."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("index.js", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        z.writestr(info, code)
    return buf.getvalue()


def code_sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def policy_config(p: dict[str, Any]) -> dict[str, Any]:
    """A CreateCachePolicy ``CachePolicyConfig`` from a compiled policy (cache key: host not
    included, full query string, no cookies/headers; gzip/brotli normalised)."""
    return {
        "Comment": str(p["Comment"]),
        "Name": str(p["Name"]),
        "MinTTL": int(p["MinTTL"]),
        "DefaultTTL": int(p["DefaultTTL"]),
        "MaxTTL": int(p["MaxTTL"]),
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": True,
            "EnableAcceptEncodingBrotli": True,
            "HeadersConfig": {"HeaderBehavior": "none"},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "all"},
        },
    }


def policy_view(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: cfg.get(k) for k in ("Name", "Comment", "MinTTL", "DefaultTTL", "MaxTTL")}


def _assoc(b: dict[str, Any]) -> list[dict[str, Any]]:
    return list((b.get("LambdaFunctionAssociations") or {}).get("Items") or [])


def _fn_of(b: dict[str, Any], fn: str) -> str | None:
    """The version ARN of our function on this behavior's origin-response, if any."""
    for a in _assoc(b):
        arn = str(a.get("LambdaFunctionARN") or "")
        if a.get("EventType") == EVENT and f":function:{fn}:" in arn:
            return arn
    return None


def is_ours(b: dict[str, Any], names: dict[str, str], fn: str) -> bool:
    """Made by cdnctl: a ``cdnctl-*`` cache policy or our function. (A behavior at a path
    pattern the policy compiles to is replaced too: CloudFront allows one per pattern.)"""
    pid = str(b.get("CachePolicyId") or "")
    return names.get(pid, "").startswith(PREFIX) or _fn_of(b, fn) is not None


def view(b: dict[str, Any], names: dict[str, str], fn: str) -> dict[str, Any]:
    """What we compare of a behavior: pattern, cache policy (by name), our function version."""
    pid = str(b.get("CachePolicyId") or "")
    arn = _fn_of(b, fn)
    return {
        "PathPattern": b.get("PathPattern", "*"),
        "CachePolicy": "CachingDisabled"
        if pid == CACHING_DISABLED
        else names.get(pid, pid or "(legacy TTLs)"),
        "Function": (arn.rsplit(":", 1)[1] if arn and not arn.endswith(NEW) else NEW if arn else None),
    }


def shape(
    live: dict[str, Any], wanted: dict[str, Any], ids: dict[str, str], fn_arn: str | None, fn: str
) -> dict[str, Any]:
    """The DistributionConfig to send: ``live`` with our behaviors replaced (hand-made ones kept
    first, default behavior ours). ``ids``: cache policy name → id; ``fn_arn``: version ARN."""
    cfg = copy.deepcopy(live)
    names = {v: k for k, v in ids.items()}
    default = cfg["DefaultCacheBehavior"]
    items = list((cfg.get("CacheBehaviors") or {}).get("Items") or [])
    patterns = {str(s["PathPattern"]) for s in wanted["behaviors"]}
    kept = [b for b in items if not is_ours(b, names, fn) and b.get("PathPattern") not in patterns]
    by_path = {b.get("PathPattern"): b for b in items}

    def make(spec: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
        b = (
            copy.deepcopy(base)
            if base
            else {
                "TargetOriginId": default["TargetOriginId"],
                "ViewerProtocolPolicy": default["ViewerProtocolPolicy"],
                "Compress": default.get("Compress", True),
            }
        )
        for legacy in ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"):
            b.pop(legacy, None)  # CachePolicyId and the legacy TTL settings are exclusive
        policy = str(spec["CachePolicy"])
        b["CachePolicyId"] = (
            policy if policy == CACHING_DISABLED else ids.get(policy, policy)
        )  # name: not created yet
        others = [a for a in _assoc(b) if a.get("EventType") != EVENT]
        if spec["Lambda"] and fn_arn:
            others.append({"LambdaFunctionARN": fn_arn, "EventType": EVENT, "IncludeBody": False})
        b["LambdaFunctionAssociations"] = {"Quantity": len(others), **({"Items": others} if others else {})}
        if spec.get("PathPattern", "*") != "*":
            b["PathPattern"] = spec["PathPattern"]
        return b

    ours = [make(s, by_path.get(s["PathPattern"])) for s in wanted["behaviors"]]
    cfg["DefaultCacheBehavior"] = make(wanted["default"], default)
    cfg["CacheBehaviors"] = {
        "Quantity": len(kept) + len(ours),
        **({"Items": kept + ours} if kept or ours else {}),
    }
    return cfg


def views(cfg: dict[str, Any], ids: dict[str, str], fn: str) -> list[dict[str, Any]]:
    names = {v: k for k, v in ids.items()}
    items = list((cfg.get("CacheBehaviors") or {}).get("Items") or [])
    return [view(b, names, fn) for b in items] + [view(cfg["DefaultCacheBehavior"], names, fn)]


def behavior_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    old = {v["PathPattern"]: v for v in before}
    new = {v["PathPattern"]: v for v in after}
    lines = []
    for p, v in new.items():
        fn = f" + function {v['Function']}" if v["Function"] else ""
        if p not in old:
            lines.append(f"+ behavior {p}: {v['CachePolicy']}{fn}")
        elif old[p] != v:
            fields = [k for k in v if v[k] != old[p].get(k)]
            lines.append(f"~ behavior {p}: " + ", ".join(f"{k} {old[p].get(k)} → {v[k]}" for k in fields))
    lines += [f"- behavior {p}" for p in old if p not in new]
    if not lines and before != after:
        lines.append("~ behavior order changed")
    return lines


# -- I/O ------------------------------------------------------------------------------------


class CloudFrontDeployer(Deployer):
    vendor = "cloudfront"

    def __init__(
        self,
        distribution: str,
        ctx: RunContext,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        lambda_role: str | None = None,
        client: Any = None,
        lambda_client: Any = None,
    ) -> None:
        super().__init__(distribution)
        import boto3
        from botocore.config import Config

        config = Config(retries={"max_attempts": 1}, connect_timeout=10, read_timeout=30)
        self.cf = client or boto3.client(
            "cloudfront", endpoint_url=endpoint_url, region_name=region, config=config
        )
        # Lambda@Edge functions live in us-east-1
        self.lam = lambda_client or boto3.client(
            "lambda", endpoint_url=endpoint_url, region_name="us-east-1", config=config
        )
        self.ctx = ctx
        self.lambda_role = lambda_role
        self.sent: list[str] = []

    def _call(self, client: Any, method: str, accept: tuple[str, ...] = (), **kw: Any) -> Any:
        """One API call, retried while transient; ApiError / Conflict otherwise. Error codes in
        ``accept`` are returned as ``{"Error": code}``."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        def once() -> Any:
            self.sent.append(method)
            try:
                return getattr(client, method)(**kw)
            except ClientError as exc:
                err = exc.response.get("Error", {})
                code, message = str(err.get("Code", "")), str(err.get("Message", "") or exc)
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
                if code in accept:
                    return {"Error": code}
                if code in _RETRYABLE or status >= 500 or status == 429:
                    raise Transient(f"{method}: {code}: {message}") from None
                if code in _CONFLICT or status in (409, 412):
                    raise Conflict(
                        f"{method}: {code} (conflict: changed by someone else since it was read): {message}"
                    ) from None
                raise Permanent(f"{method}: {code or status}: {message}") from None
            except NoCredentialsError:
                raise Permanent(
                    f"{method}: no AWS credentials: boto3 looks in AWS_ACCESS_KEY_ID / "
                    "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials, then the instance "
                    "role"
                ) from None
            except BotoCoreError as exc:
                raise Transient(f"{method}: {type(exc).__name__}: {exc}") from None

        return retried(once, self.ctx)

    # reads
    def distribution(self) -> tuple[dict[str, Any], str]:
        got = self._call(self.cf, "get_distribution_config", Id=self.ident)
        return got["DistributionConfig"], str(got["ETag"])

    def policies(self) -> dict[str, dict[str, Any]]:
        """Custom cache policies by name: {"Id", "Config"}."""
        out: dict[str, dict[str, Any]] = {}
        marker = None
        while True:
            got = self._call(
                self.cf, "list_cache_policies", Type="custom", **({"Marker": marker} if marker else {})
            )
            lst = got.get("CachePolicyList") or {}
            for item in lst.get("Items") or []:
                p = item["CachePolicy"]
                cfg = p["CachePolicyConfig"]
                out[str(cfg["Name"])] = {"Id": str(p["Id"]), "Config": cfg}
            marker = lst.get("NextMarker")
            if not marker:
                return out

    def function(self, name: str) -> tuple[bool, dict[str, str]]:
        """(exists, {CodeSha256: version ARN} of its published versions)."""
        got = self._call(
            self.lam, "list_versions_by_function", accept=("ResourceNotFoundException",), FunctionName=name
        )
        if got.get("Error"):
            return False, {}
        listed = got.get("Versions") or []  # moto answers [] (not 404) for a missing function
        return bool(listed), {
            str(v["CodeSha256"]): str(v["FunctionArn"]) for v in listed if v.get("Version") != "$LATEST"
        }

    def plan(self, site: SitePolicy, compiled: SitePlan, options: CompileOptions) -> VendorPlan:
        wanted = compile_behaviors(compiled)
        code = COMPILER.files([compiled], options)[function_name(site.site)]
        notes = COMPILER.notes([compiled], options)
        fn = lambda_name(site.site)
        needs_fn = any(b["Lambda"] for b in [*wanted["behaviors"], wanted["default"]])

        def error(message: str) -> VendorPlan:
            return VendorPlan(self.vendor, site.site, self.ident, "error", error=message, notes=notes)

        if needs_fn and not self.lambda_role:
            return error(
                "the policy needs the Lambda@Edge function: set 'lambda_role' (an IAM role ARN trusted "
                "by lambda.amazonaws.com and edgelambda.amazonaws.com) in the vendors file's "
                "cloudfront section"
            )
        try:
            live, etag = self.distribution()
            policies = self.policies()
            exists, versions = self.function(fn) if needs_fn else (False, {})
        except (ApiError, Conflict) as exc:
            return error(str(exc))
        zipped = package(code)
        sha = code_sha(zipped)
        fn_arn = versions.get(sha) if needs_fn else None
        ids = {name: p["Id"] for name, p in policies.items()}
        want_policies = {str(p["Name"]): policy_config(p) for p in wanted["cache_policies"]}  # type: ignore[index]
        policy_ops = {
            name: ("create" if name not in policies else "update")
            for name, cfg in want_policies.items()
            if name not in policies or policy_view(policies[name]["Config"]) != policy_view(cfg)
        }
        desired_cfg = shape(
            live, wanted, ids, fn_arn or (f"arn:aws:lambda:::function:{fn}:{NEW}" if needs_fn else None), fn
        )
        before, after = views(live, ids, fn), views(desired_cfg, ids, fn)
        changes = [
            f"{'+' if op == 'create' else '~'} cache policy {name}: TTL "
            f"{want_policies[name]['MinTTL']}/{want_policies[name]['DefaultTTL']}/"
            f"{want_policies[name]['MaxTTL']}"
            for name, op in sorted(policy_ops.items())
        ]
        if needs_fn and not fn_arn:
            changes.append(
                f"{'~' if exists else '+'} Lambda@Edge function {fn}: publish a new version "
                f"(code {sha[:12]}…)"
            )
        changes += behavior_changes(before, after)
        names = {v: k for k, v in ids.items()}
        kept = [
            str(b.get("PathPattern"))
            for b in (live.get("CacheBehaviors") or {}).get("Items") or []
            if not is_ours(b, names, fn)
            and b.get("PathPattern") not in {s["PathPattern"] for s in wanted["behaviors"]}
        ]
        if changes and kept:
            changes.append(
                f"= {len(kept)} behavior(s) not made by cdnctl kept before ours: {', '.join(kept)}"
            )
        current = {"etag": etag, "config": live, "policies": policies}
        desired = {
            "config": desired_cfg,
            "wanted": wanted,
            "policies": want_policies,
            "policy_ops": policy_ops,
            "function": fn if needs_fn else None,
            "zip": zipped,
            "sha": sha,
            "fn_arn": fn_arn,
            "fn_exists": exists,
        }
        if not changes:
            return VendorPlan(
                self.vendor,
                site.site,
                self.ident,
                "unchanged",
                notes=notes,
                current=current,
                desired=desired,
                version=etag,
            )
        diff = text_diff(
            json_text(
                {
                    "behaviors": before,
                    "cache_policies": [
                        policy_view(policies[n]["Config"]) for n in sorted(want_policies) if n in policies
                    ],
                }
            ),
            json_text(
                {
                    "behaviors": after,
                    "cache_policies": [policy_view(want_policies[n]) for n in sorted(want_policies)],
                }
            ),
            f"distribution {self.ident}",
        )
        return VendorPlan(
            self.vendor,
            site.site,
            self.ident,
            "update",
            changes,
            diff,
            notes=notes,
            current=current,
            desired=desired,
            version=etag,
        )

    # writes
    def apply(self, plan: VendorPlan) -> UnitResult:
        cur: dict[str, Any] = plan.current  # type: ignore[assignment]
        want: dict[str, Any] = plan.desired  # type: ignore[assignment]
        done: list[str] = []
        steps = ["cache policies", "Lambda@Edge version", "UpdateDistribution", "wait for Deployed"]

        result = self.outcome(plan, done)

        ids = {name: p["Id"] for name, p in cur["policies"].items()}
        try:
            for name, op in sorted(want["policy_ops"].items()):
                cfg = want["policies"][name]
                if op == "create":
                    got = self._call(self.cf, "create_cache_policy", CachePolicyConfig=cfg)
                    ids[name] = str(got["CachePolicy"]["Id"])
                    done.append(f"cache policy {name} created ({ids[name]}; not used yet)")
                else:
                    etag = str(self._call(self.cf, "get_cache_policy", Id=ids[name])["ETag"])
                    self._call(
                        self.cf, "update_cache_policy", Id=ids[name], IfMatch=etag, CachePolicyConfig=cfg
                    )
                    done.append(f"cache policy {name} updated ({ids[name]}; live where in use)")
            fn_arn = want["fn_arn"]
            if want["function"] and not fn_arn:
                fn_arn = self._publish(want)
                done.append(f"Lambda@Edge {fn_arn} published (not associated yet)")
        except (ApiError, Conflict) as exc:
            live_now = any("updated" in d for d in done)
            return result(
                "partial" if live_now else "failed",
                ("" if live_now else "nothing live changed: ") + str(exc),
                steps[len(done) and 1 :],
            )
        try:
            live, etag = self.distribution()
        except (ApiError, Conflict) as exc:
            return result("failed", f"distribution not changed: cannot read it: {exc}", steps[2:])
        if etag != cur["etag"]:
            return result(
                "failed",
                f"distribution not changed: conflict: its ETag moved since plan "
                f"({cur['etag']} → {etag}); run plan again",
                steps[2:],
            )
        config = shape(live, want["wanted"], ids, fn_arn, want["function"] or lambda_name(plan.site))
        try:
            got = self._call(
                self.cf, "update_distribution", Id=self.ident, IfMatch=etag, DistributionConfig=config
            )
        except Conflict as exc:
            return result("failed", f"distribution not changed: conflict: {exc}", steps[2:])
        except ApiError as exc:  # refused, or the answer was lost (5xx / timeouts after retries)
            try:
                back, new_etag = self.distribution()
            except (ApiError, Conflict) as again:
                return result(
                    "partial",
                    f"UpdateDistribution failed ({exc}) and the config cannot be read back "
                    f"({again}): unknown whether it took effect; run `cdnctl vendor plan`",
                    steps[2:],
                )
            fn = want["function"] or lambda_name(plan.site)
            if views(back, ids, fn) != views(config, ids, fn):
                return result("failed", f"distribution not changed: {exc}", steps[2:])
            got = {"ETag": new_etag}
            done.append(f"UpdateDistribution's answer was lost ({exc}) but the config is in place")
        new_etag = str(got.get("ETag") or "")
        done.append(f"UpdateDistribution accepted (ETag {etag} → {new_etag or '?'})")
        status = self._wait()
        if status.lower() != "deployed":
            return result(
                "partial",
                f"CloudFront accepted the config but the distribution is still {status} at "
                "the time limit: run `cdnctl vendor plan` later",
                steps[3:],
                new_etag,
            )
        done.append("distribution Deployed")
        return result("applied", f"distribution Deployed (ETag {new_etag})", [], new_etag)

    def _publish(self, want: dict[str, Any]) -> str:
        fn = want["function"]
        if want["fn_exists"]:
            self._call(self.lam, "update_function_code", FunctionName=fn, ZipFile=want["zip"])
        else:
            self._call(
                self.lam,
                "create_function",
                FunctionName=fn,
                Runtime="nodejs20.x",
                Role=self.lambda_role,
                Handler="index.handler",
                Code={"ZipFile": want["zip"]},
                Timeout=5,
                MemorySize=128,
                Description="cdnctl: cache TTL decisions at origin-response",
            )
        got = self._call(self.lam, "publish_version", FunctionName=fn, CodeSha256=want["sha"])
        return str(got["FunctionArn"])

    def _wait(self) -> str:
        while True:
            try:
                status = str(self._call(self.cf, "get_distribution", Id=self.ident)["Distribution"]["Status"])
            except (ApiError, Conflict) as exc:
                return f"unknown ({exc})"
            if status.lower() == "deployed" or self.ctx.deadline.remaining() < POLL:
                return status
            self.ctx.sleep(POLL)

    def calls(self) -> int:
        return len(self.sent)
