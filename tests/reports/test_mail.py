"""Report configuration, and e-mail delivery through a real SMTP server (aiosmtpd) on the loopback."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import re
import socket
import ssl
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cdnctl.cli import cli
from reports.config import METRICS, ConfigError, parse_config

ROOT = Path(__file__).resolve().parents[2]


# --- configuration ------------------------------------------------------------------------


def test_config() -> None:
    cfg = parse_config("""
default: {metrics: [requests, status], recipients: [ops@numerique.gouv.fr]}
sites:
  WWW.Interieur.gouv.fr: {metrics: [cdn_share], recipients: [web@interieur.gouv.fr]}
  www.other.gouv.fr: {}
monthly: {recipients: [qualite@numerique.gouv.fr]}
mail: {from: cdnctl@numerique.gouv.fr, smtp: "smtp://smtp.numerique.gouv.fr:587"}
""")
    assert cfg.for_site("www.interieur.gouv.fr").metrics == ("cdn_share",)
    assert cfg.for_site("www.other.gouv.fr").metrics == ("requests", "status")   # inherits the default
    assert cfg.for_site("unknown.gouv.fr").recipients == ("ops@numerique.gouv.fr",)
    assert cfg.monthly_recipients == ("qualite@numerique.gouv.fr",)
    assert parse_config("").for_site("x").metrics == METRICS


@pytest.mark.parametrize(("text", "message"), [
    ("defaults: {}", "unknown key 'defaults' (did you mean default?)"),
    ("default: {metrics: [requets]}", "default.metrics: unknown requets"),
    ("sites: {a.fr: {recipients: [nobody]}}", "sites.a.fr.recipients: not an e-mail address: nobody"),
    ("mail: {smtp: 'mail.example.fr'}", "mail.smtp: use smtp://"),
    ("default: [1]", "default: expected a mapping"),
    ("a: [", "not YAML"),
])
def test_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(text, "r.yaml")


# --- SMTP with STARTTLS -------------------------------------------------------------------


def _certificate(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=email.policy.default),
                              session.ssl is not None))
        return "250 OK"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[str, Inbox, Path]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = _free_port()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                                           require_starttls=True)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox, cert
    finally:
        controller.stop()


@pytest.fixture
def plain_smtp() -> Iterator[str]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    port = _free_port()
    controller = controller_mod.Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def test_monthly_report_mailed_over_starttls(smtp: tuple[str, Inbox, Path], tmp_path: Path) -> None:
    url, inbox, cert = smtp
    config = tmp_path / "reports.yaml"
    config.write_text(f"monthly: {{recipients: [qualite@numerique.gouv.fr]}}\n"
                      f"mail: {{from: cdnctl@numerique.gouv.fr, smtp: '{url}'}}\n")
    env = {"CDNCTL_CLICKHOUSE_URL": f"chdb://{tmp_path}/store", "CDNCTL_SMTP_CAFILE": str(cert)}
    result = CliRunner().invoke(cli, ["report", "monthly", "--month", "2026-04", "--out", str(tmp_path / "out"),
                                      "--format", "html,csv", "--config", str(config), "--mail",
                                      "--mail-to", "copie@numerique.gouv.fr", "--json"], env=env)
    # an empty store: written and mailed, and exit 3 because QS-01/QS-02 could not be measured
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["mailed_to"] == ["qualite@numerique.gouv.fr", "copie@numerique.gouv.fr"]
    ((rcpt, msg, encrypted),) = inbox.messages
    assert encrypted and rcpt == ["qualite@numerique.gouv.fr", "copie@numerique.gouv.fr"]
    assert msg["From"] == "cdnctl@numerique.gouv.fr"
    assert msg["Subject"] == "Rapport mensuel de qualité de service — 2026-04"
    names = sorted(p.get_filename() for p in msg.walk() if p.get_filename())
    assert names == ["monthly-2026-04.csv", "monthly-2026-04.html"]


def test_no_starttls_no_mail(plain_smtp: str, tmp_path: Path) -> None:
    env = {"CDNCTL_CLICKHOUSE_URL": f"chdb://{tmp_path}/store"}
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["report", "monthly", "--month", "2026-04", "--out", str(out), "--format", "json",
                                      "--mail-to", "a@b.fr", "--smtp", plain_smtp], env=env)
    assert result.exit_code == 3
    assert "does not offer STARTTLS; not sending in clear" in result.stderr
    assert (out / "monthly-2026-04.json").exists()     # the files are written before mailing


def test_mail_needs_recipients_and_server(tmp_path: Path) -> None:
    env = {"CDNCTL_CLICKHOUSE_URL": f"chdb://{tmp_path}/store"}
    base = ["report", "monthly", "--month", "2026-04", "--out", str(tmp_path / "o"), "--format", "json"]
    no_rcpt = CliRunner().invoke(cli, [*base, "--mail"], env=env)
    assert no_rcpt.exit_code == 2 and "no recipient" in no_rcpt.stderr
    no_server = CliRunner().invoke(cli, [*base, "--mail-to", "a@b.fr"], env=env)
    assert no_server.exit_code == 2 and "no SMTP server" in no_server.stderr


def test_weekly_shows_the_configured_metrics(tmp_path: Path) -> None:
    config = tmp_path / "reports.yaml"
    config.write_text("sites: {www.a.gouv.fr: {metrics: [requests, cdn_share]}}\n")
    env = {"CDNCTL_CLICKHOUSE_URL": f"chdb://{tmp_path}/store"}
    log = tmp_path / "access.log"   # a line a day of the week, so every day has its log
    log.write_text("".join(f'192.0.2.1 - - [{d:02d}/Apr/2026:10:00:00 +0200] "GET / HTTP/1.1" 200 10 "-" "x"\n'
                           for d in range(6, 13)))
    ingest = CliRunner().invoke(cli, ["logs", "ingest", str(log), "--format", "combined", "--site", "www.a.gouv.fr",
                                      "--settle", "0"], env=env)
    assert ingest.exit_code == 0, ingest.output
    result = CliRunner().invoke(cli, ["report", "weekly", "--site", "www.a.gouv.fr", "--week", "2026-W15",
                                      "--out", str(tmp_path / "o"), "--format", "html,json", "--config",
                                      str(config)], env=env)
    assert result.exit_code == 0, result.output
    html = (tmp_path / "o" / "weekly-www.a.gouv.fr-2026-W15.html").read_text()
    assert "Part CDN (requêtes)" in html and "Requêtes</th>" in html
    assert "Octets</th><td>" not in html and "Chemins les plus demandés" not in html
    data = json.loads((tmp_path / "o" / "weekly-www.a.gouv.fr-2026-W15.json").read_text())
    assert data["show"] == {"www.a.gouv.fr": ["requests", "cdn_share"]} and "bytes" in data["sites"]["www.a.gouv.fr"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("default: {metrics: [nope]}\n")
    failed = CliRunner().invoke(cli, ["report", "weekly", "--site", "a.fr", "--week", "2026-W15", "--config",
                                      str(bad)], env=env)
    assert failed.exit_code == 1 and "unknown nope" in failed.stderr


def test_example_config_is_valid() -> None:
    from reports.config import load_config

    cfg = load_config(ROOT / "examples" / "reports.yaml")
    assert cfg.for_site("www.interieur.gouv.fr").recipients == ("web@interieur.gouv.fr",)
    assert cfg.smtp == "smtp://cdnctl@smtp.numerique.gouv.fr:587"
