"""`cdnctl serve-api` and `cdnctl token create|list|revoke`: the flush API for CMSs (cdnctl.api)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from cdnctl.audit import AuditError, Journal, cli_actor
from cdnctl.errors import CdnctlError, Exit
from cdnctl.output import console, emit_json, json_option
from cdnctl.settings import Settings
from cdnctl.tokens import TokenError, TokenStore


def _existing(path: Path) -> Path | None:
    return path if path.exists() else None


@click.command("serve-api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--cert", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="TLS certificate (PEM): serve HTTPS (and send HSTS).")
@click.option("--key", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="TLS private key (PEM).")
@click.option("--rate", default=60.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Flush calls per minute per token.")
@click.option("--burst", default=10.0, show_default=True, type=click.FloatRange(min=1),
              help="Calls a token may save up.")
@click.option("--max-body", default=1_048_576, show_default=True, type=click.IntRange(min=1024),
              help="Largest request body in bytes (413 above).")
@click.option("--fleet", "fleet_path", type=click.Path(path_type=Path, dir_okay=False), envvar="CDNCTL_FLEET",
              default="fleet.yaml", show_default=True, show_envvar=True)
@click.option("--vendors", "vendors_path", type=click.Path(path_type=Path, dir_okay=False),
              envvar="CDNCTL_VENDORS", default="vendors.yaml", show_default=True, show_envvar=True)
@click.pass_obj
def serve_api(settings: Settings, host: str, port: int, cert: Path | None, key: Path | None, rate: float,
              burst: float, max_body: int, fleet_path: Path, vendors_path: Path) -> None:
    """Serve POST /api/v1/sites/{site}/flush for publishing systems (OpenAPI: /api/v1/openapi.json)."""
    from cdnctl.api import ApiConfig, serve

    if bool(cert) != bool(key):
        raise CdnctlError("--cert and --key go together", Exit.USAGE)
    if not cert and host not in ("127.0.0.1", "::1", "localhost"):
        console.print("[yellow]warning:[/] serving bearer tokens over plain HTTP on a non-loopback address; "
                      "give --cert/--key or put a TLS proxy in front")
    config = ApiConfig(policy_dir=settings.policy_dir, fleet=_existing(fleet_path),
                       vendors=_existing(vendors_path), rate_per_minute=rate, burst=burst, max_body=max_body,
                       https=bool(cert))
    serve(config, host, port, cert, key)


@click.group("token")
def token() -> None:
    """API tokens for publishing systems, scoped to sites."""


_DURATION = re.compile(r"([0-9]+)([dh])")


@token.command("create")
@click.option("--name", required=True, help="Who uses it (shown in the audit journal), e.g. cms-interieur.")
@click.option("--site", "sites", multiple=True, required=True, help="Site it may flush; repeatable.")
@click.option("--expires", default=None, metavar="Nd|Nh", help="Lifetime, e.g. 365d (default: no expiry).")
@json_option
@click.pass_obj
def token_create(settings: Settings, name: str, sites: tuple[str, ...], expires: str | None,
                 as_json: bool) -> None:
    """Create a token; it is shown once (only its hash is kept)."""
    policy = settings.policy()
    primaries = []
    for host in sites:
        site = policy.site_for_host(host)
        if site is None:
            raise CdnctlError(f"no site {host!r} in {settings.policy_dir}", Exit.USAGE)
        primaries.append(site.site)
    lifetime = None
    if expires:
        m = _DURATION.fullmatch(expires)
        if not m:
            raise CdnctlError(f"--expires {expires!r}: expected Nd or Nh", Exit.USAGE)
        lifetime = timedelta(days=int(m[1])) if m[2] == "d" else timedelta(hours=int(m[1]))
        if not lifetime:   # 0h would be read as "no expiry" further down: refuse it
            raise CdnctlError(f"--expires {expires!r}: a lifetime is at least 1h (omit it for no expiry)",
                              Exit.USAGE)
    journal = Journal()
    try:
        journal.check_writable()
        secret, record = TokenStore().create(name, primaries, cli_actor(), lifetime)
    except (TokenError, AuditError) as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    journal.record("token-create", "ok", what={"id": record.id, "name": name, "sites": record.sites,
                                               "expires_at": record.expires_at})
    if as_json:
        emit_json({"token": secret, **record.public()})
        return
    console.print(f"token {record.id} for {escape(name)} ({', '.join(record.sites)}):")
    console.print(secret, markup=False)
    console.print("[yellow]Shown once: store it in the CMS's secret store now.[/]")


@token.command("list")
@json_option
def token_list(as_json: bool) -> None:
    """List tokens (never their secret)."""
    records = TokenStore().list()
    if as_json:
        emit_json([r.public() for r in records])
        return
    table = Table(title=f"{len(records)} token(s)")
    for col in ("id", "name", "sites", "state", "created", "expires"):
        table.add_column(col)
    for r in records:
        table.add_row(r.id, escape(r.name), escape(", ".join(r.sites)), r.state(), r.created_at[:19],
                      (r.expires_at or "never")[:19])
    console.print(table)


@token.command("revoke")
@click.argument("ident")
@json_option
def token_revoke(ident: str, as_json: bool) -> None:
    """Revoke a token at once (the API refuses it from its next request)."""
    journal = Journal()
    try:
        journal.check_writable()
        record = TokenStore().revoke(ident)
    except (TokenError, AuditError) as exc:
        raise CdnctlError(str(exc), Exit.USAGE) from None
    journal.record("token-revoke", "ok", what={"id": record.id, "name": record.name, "sites": record.sites})
    if as_json:
        emit_json(record.public())
    else:
        console.print(f"token {record.id} ({escape(record.name)}) revoked")


def register(group: click.Group) -> None:
    group.add_command(serve_api)
    group.add_command(token)
