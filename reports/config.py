"""The report configuration: which metrics each site's weekly report shows, who receives what.

A YAML file (``--config``, or ``CDNCTL_REPORT_CONFIG``)::

    default:                      # every site without its own entry
      metrics: [requests, bytes, visitors, cdn_share, origin_requests, status, time_taken, top_paths]
      recipients: []
    sites:
      www.interieur.gouv.fr:
        metrics: [requests, cdn_share, status]
        recipients: [web@interieur.gouv.fr]
    monthly:
      recipients: [qualite@numerique.gouv.fr]
    mail:
      from: cdnctl@numerique.gouv.fr
      smtp: smtp://cdnctl@smtp.numerique.gouv.fr:587   # password: CDNCTL_SMTP_PASSWORD

The chosen metrics are what the HTML report shows; CSV, XLSX and JSON always carry
every figure (they feed other tools). Unknown keys and metric names are errors.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

METRICS = ("requests", "bytes", "visitors", "cdn_share", "origin_requests", "status", "time_taken",
           "top_paths", "quarantined")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class SiteReport:
    metrics: tuple[str, ...] = METRICS
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportConfig:
    default: SiteReport = SiteReport()
    sites: dict[str, SiteReport] = field(default_factory=dict)
    monthly_recipients: tuple[str, ...] = ()
    mail_from: str | None = None
    smtp: str | None = None

    def for_site(self, site: str) -> SiteReport:
        return self.sites.get(site, self.default)


def _keys(where: str, data: object, allowed: set[str]) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping")
    for key in data:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            suffix = f" (did you mean {hint[0]}?)" if hint else ""
            raise ConfigError(f"{where}: unknown key {key!r}{suffix}")
    return data


def _recipients(where: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.recipients: expected a list of e-mail addresses")
    bad = [v for v in value if not _EMAIL.match(v)]
    if bad:
        raise ConfigError(f"{where}.recipients: not an e-mail address: {', '.join(bad)}")
    return tuple(value)


def _site_report(where: str, data: object, base: SiteReport) -> SiteReport:
    d = _keys(where, data, {"metrics", "recipients"})
    metrics = d.get("metrics", list(base.metrics))
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ConfigError(f"{where}.metrics: expected a list of names ({', '.join(METRICS)})")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"{where}.metrics: unknown {', '.join(unknown)}; known: {', '.join(METRICS)}")
    recipients = _recipients(where, d["recipients"]) if "recipients" in d else base.recipients
    return SiteReport(tuple(metrics), recipients)


def parse_config(text: str, source: str = "<config>") -> ReportConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not YAML: {exc}") from None
    top = _keys(source, data, {"default", "sites", "monthly", "mail"})
    default = _site_report(f"{source}: default", top.get("default"), SiteReport())
    sites_data = _keys(f"{source}: sites", top.get("sites"), set(top.get("sites") or {}))
    sites = {str(s).lower(): _site_report(f"{source}: sites.{s}", v, default) for s, v in sites_data.items()}
    monthly = _keys(f"{source}: monthly", top.get("monthly"), {"recipients"})
    mail = _keys(f"{source}: mail", top.get("mail"), {"from", "smtp"})
    sender = mail.get("from")
    if sender is not None and (not isinstance(sender, str) or not _EMAIL.match(sender)):
        raise ConfigError(f"{source}: mail.from: not an e-mail address: {sender!r}")
    smtp = mail.get("smtp")
    if smtp is not None and not (isinstance(smtp, str) and smtp.startswith(("smtp://", "smtps://"))):
        raise ConfigError(f"{source}: mail.smtp: use smtp://[user@]host[:587] (STARTTLS) or smtps://host[:465]")
    monthly_to = _recipients(f"{source}: monthly", monthly.get("recipients"))
    return ReportConfig(default, sites, monthly_to, sender, smtp)


def load_config(path: Path | None) -> ReportConfig:
    if path is None:
        return ReportConfig()
    try:
        return parse_config(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
