"""The flush API for publishing systems (CMS): ``cdnctl serve-api`` (FastAPI on uvicorn).

``POST /api/v1/sites/{site}/flush`` with ``Authorization: Bearer <token>`` and a JSON
body ``{"urls": [...], "prefixes": [...], "tags": [...], "all": false, "soft": false,
"wait": false}`` flushes like ``cdnctl flush`` (same planning, drivers, resume state
and audit). Answers:

- 200 everything purged; 502 some or all targets failed (the body lists exactly what,
  and a retry of the same request sends only that);
- 401 no / unknown / expired / revoked token; 403 the token is not scoped to the site;
  404 no such site (only for tokens scoped to it); 413 body over the limit; 422 malformed
  body or a URL of another host (nothing flushed); 429 over the token's rate, with
  ``Retry-After``.

Every call — accepted or refused — goes to the audit journal, as ``token:<name>`` from
the client address. Security headers are on every response (including errors), the
OpenAPI document is at ``/api/v1/openapi.json``; there is no HTML docs page (it would
need scripts from elsewhere, which the Content-Security-Policy forbids).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from cache_rules.loader import load_policy_dir
from cache_rules.model import Policy
from cdnctl.audit import AuditError, Journal
from cdnctl.flush import FlushInputError, plan_flush
from cdnctl.tokens import TokenRecord, TokenStore
from cdnctl.vendors import VendorConfigError, load_vendors, run_flush, targets_for_site
from cdnctl.vendors.base import TokenBucket

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "()",
}
HSTS = "max-age=31536000; includeSubDomains"
MAX_ITEMS = 10_000


@dataclass
class ApiConfig:
    policy_dir: Path
    fleet: Path | None = None
    vendors: Path | None = None
    state_dir: Path | None = None
    rate_per_minute: float = 60.0  # flush calls per token
    burst: float = 10.0
    max_body: int = 1_048_576  # bytes: 10,000 URLs of ~100 characters
    timeout: float = 120.0  # per flush, retries and waits included
    https: bool = False
    buckets: dict[str, TokenBucket] = field(default_factory=dict)


class FlushBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    urls: list[str] = Field(default_factory=list, max_length=MAX_ITEMS,
                            description="Full URLs (host = the site or an alias) or paths.")
    prefixes: list[str] = Field(default_factory=list, max_length=100, description="Path prefixes.")
    tags: list[str] = Field(default_factory=list, max_length=1000, description="Cache tags / surrogate keys.")
    # Strict: {"all": "yes"} or {"all": 1} must not flush a whole site by coercion.
    all: StrictBool = Field(False, description="Everything the site has in cache (JSON true/false only).")
    soft: StrictBool = Field(False, description="Mark stale instead of removing, where the vendor can.")
    wait: StrictBool = Field(False, description="Answer when every vendor reports completion.")


class Outcome(BaseModel):
    target: str
    status: str
    message: str
    attempts: int
    method: str
    ref: str | None
    items: list[dict[str, str]]


class FlushReply(BaseModel):
    ok: bool
    status: str = Field(description="ok | partial | failed")
    site: str
    summary: str
    resumed: bool = Field(description="Only what failed on the previous identical request was sent.")
    targets: dict[str, dict[str, int]]
    failed: dict[str, list[dict[str, str]]]
    outcomes: list[Outcome]
    audit_seq: int


class ErrorReply(BaseModel):
    error: str
    problems: list[str] = Field(default_factory=list)


class BodyLimit:
    """413 before the application reads more than ``limit`` bytes (Content-Length or streamed)."""

    def __init__(self, app: ASGIApp, limit: int, on_refuse: Callable[[Scope, str], None]) -> None:
        self.app, self.limit, self.on_refuse = app, limit, on_refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(scope, send, f"body over {self.limit} bytes")
            return
        if length is not None:
            await self.app(scope, receive, send)  # the server stops at Content-Length
            return
        # Chunked: read it all here (bounded), then hand the app one message. Raising from
        # inside the app's body read would be caught by FastAPI and turned into a 400.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(scope, send, f"body over {self.limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, why: str) -> None:
        self.on_refuse(scope, why)
        body = json.dumps({"error": why}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
                                *((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items())]})
        await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds the security headers to every response, whoever produced it."""

    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        if https:
            self.headers.append((b"strict-transport-security", HSTS.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in self.headers if k not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def _source(scope: Scope | Request) -> dict[str, object]:
    if isinstance(scope, Request):
        client = scope.client.host if scope.client else None
        agent = scope.headers.get("user-agent")
    else:
        client = (scope.get("client") or (None,))[0]
        agent = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"user-agent"), None)
    return {"via": "api", "client": client, "user_agent": (agent or "")[:200]}


def create_app(config: ApiConfig) -> ASGIApp:
    journal = Journal(config.state_dir)
    tokens = TokenStore((config.state_dir / "tokens.json") if config.state_dir else None)
    app = FastAPI(title="cdnctl flush API", version="1", openapi_url="/api/v1/openapi.json",
                  docs_url=None, redoc_url=None,
                  description="Flush CDN caches from publishing systems. Bearer tokens are scoped to sites "
                              "(`cdnctl token create --site ...`).")

    def audit(request: Request | Scope, result: str, who: str, site: str | None,
              what: dict[str, object]) -> None:
        with contextlib.suppress(AuditError):  # a full disk must not turn a 401 into a 500
            journal.record("api-flush", result, who=who, site=site, what=what, source=_source(request))

    def refuse(request: Request, status: int, error: str, who: str = "anonymous", site: str | None = None,
               problems: list[str] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
        audit(request, "denied" if status in (401, 403, 429) else "refused", who, site,
              {"http_status": status, "reason": error, "problems": (problems or [])[:50]})
        return JSONResponse({"error": error, "problems": problems or []}, status_code=status, headers=headers)

    def authenticate(request: Request, site: str) -> TokenRecord | JSONResponse:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="cdnctl"'}
        if scheme.lower() != "bearer" or not credential.strip():
            return refuse(request, 401, "missing bearer token", site=site, headers=challenge)
        record, state = tokens.authenticate(credential)
        if record is None or state != "active":
            who = f"token:{record.name}" if record else "anonymous"
            why = "invalid token" if record is None else f"token {state}"
            return refuse(request, 401, why, who=who, site=site,
                          headers={"WWW-Authenticate": f'Bearer realm="cdnctl", error="invalid_token", '
                                                       f'error_description="{why}"'})
        return record

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                    for e in exc.errors()][:20]
        return refuse(request, 422, "malformed request", site=request.path_params.get("site"),
                      problems=problems)

    @app.post("/api/v1/sites/{site}/flush", response_model=FlushReply,
              responses={401: {"model": ErrorReply}, 403: {"model": ErrorReply}, 404: {"model": ErrorReply},
                         413: {"model": ErrorReply}, 422: {"model": ErrorReply}, 429: {"model": ErrorReply},
                         502: {"model": FlushReply}},
              summary="Flush URLs, prefixes, tags or everything of one site on all its targets")
    def flush(site: str, body: FlushBody, request: Request) -> JSONResponse:
        site = site.lower().rstrip(".")
        auth = authenticate(request, site)
        if isinstance(auth, JSONResponse):
            return auth
        who = f"token:{auth.name}"
        policy = _load_policy(config.policy_dir)
        if policy is None:
            return refuse(request, 503, f"the policy in {config.policy_dir} is invalid", who=who, site=site)
        site_policy = policy.site_for_host(site)
        scoped = site_policy.site if site_policy else site
        if scoped not in auth.sites:
            return refuse(request, 403, f"token {auth.name!r} may not flush {site}", who=who, site=site)
        bucket = config.buckets.setdefault(auth.id, TokenBucket(config.rate_per_minute / 60, config.burst))
        wait = bucket.try_take()
        if wait:
            retry = str(max(1, round(wait + 0.5)))
            return refuse(request, 429, "rate limit exceeded", who=who, site=site,
                          headers={"Retry-After": retry})
        if site_policy is None:
            return refuse(request, 404, f"no site {site!r} in the policy", who=who, site=site)
        try:
            plan = plan_flush(site_policy, body.urls, body.prefixes, body.tags, body.all, body.soft)
        except FlushInputError as exc:
            return refuse(request, 422, "nothing flushed", who=who, site=site_policy.site,
                          problems=exc.problems)
        try:
            targets = targets_for_site(site_policy, config.fleet, load_vendors(config.vendors))
        except VendorConfigError as exc:
            return refuse(request, 503, f"server configuration: {exc}", who=who, site=site_policy.site)
        if not targets:
            return refuse(request, 503, f"{site_policy.site} has no purge target", who=who,
                          site=site_policy.site)
        try:
            result, entry = run_flush(plan, targets, wait=body.wait, timeout=config.timeout, who=who,
                                      source=_source(request), action="api-flush", state_dir=config.state_dir)
        except AuditError as exc:
            return JSONResponse({"error": f"nothing flushed: {exc}"}, status_code=503)
        assert entry is not None
        failed = result.failed()
        reply = FlushReply(
            ok=result.status == "ok", status=result.status, site=plan.site, summary=plan.summary(),
            resumed=result.resumed, targets=result.per_target(),
            failed={t: [i.to_json() for i in items] for t, items in failed.items()},
            outcomes=[Outcome(**o.to_json()) for o in result.outcomes],  # type: ignore[arg-type]
            audit_seq=int(entry["seq"]),  # type: ignore[call-overload]
        )
        return JSONResponse(reply.model_dump(), status_code=200 if reply.ok else 502)

    def on_too_big(scope: Scope, why: str) -> None:
        path = str(scope.get("path", ""))
        parts = path.split("/")
        site = parts[4] if len(parts) > 4 and parts[3] == "sites" else None
        audit(scope, "refused", "anonymous", site, {"http_status": 413, "reason": why})

    return SecurityHeaders(BodyLimit(app, config.max_body, on_too_big), config.https)


def _load_policy(policy_dir: Path) -> Policy | None:
    # Read per request: an apply that changes the policy takes effect without a restart.
    result = load_policy_dir(policy_dir)
    return result.policy if result.ok else None


def openapi_document(config: ApiConfig) -> dict[str, object]:
    app = create_app(config)
    inner: Any = app
    while not isinstance(inner, FastAPI):
        inner = inner.app
    return inner.openapi()


def serve(config: ApiConfig, host: str, port: int, certfile: Path | None = None,
          keyfile: Path | None = None) -> None:
    import uvicorn

    uvicorn.run(create_app(config), host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile,
                server_header=False, proxy_headers=False, log_level="info")
