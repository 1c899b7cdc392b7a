"""E-mail delivery of report files over SMTP, encrypted: STARTTLS (``smtp://``) or TLS (``smtps://``).

``smtp://[user[:password]@]host[:587]`` always upgrades with STARTTLS and refuses to
send when the server does not offer it, so a report and the credentials never travel in
clear. The password may come from ``CDNCTL_SMTP_PASSWORD`` instead of the URL. The
server certificate is verified against the system CAs, or ``CDNCTL_SMTP_CAFILE``.
"""

from __future__ import annotations

import mimetypes
import os
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit


class MailError(Exception):
    pass


def build_message(sender: str, recipients: Sequence[str], subject: str, body: str,
                  attachments: Sequence[Path]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg.set_content(body)
    for path in attachments:
        ctype, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (ctype or "application/octet-stream").split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def send(smtp_url: str, msg: EmailMessage, timeout: float = 30.0) -> None:
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailError(f"SMTP URL {smtp_url!r}: use smtp://[user@]host[:587] or smtps://[user@]host[:465]")
    context = ssl.create_default_context(cafile=os.environ.get("CDNCTL_SMTP_CAFILE") or None)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else os.environ.get("CDNCTL_SMTP_PASSWORD")
    try:
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout,
                                                     context=context)
        else:
            server = smtplib.SMTP(parts.hostname, parts.port or 587, timeout=timeout)
        with server:
            if parts.scheme == "smtp":
                server.ehlo()
                if not server.has_extn("starttls"):
                    raise MailError(f"{parts.hostname} does not offer STARTTLS; not sending in clear")
                server.starttls(context=context)
                server.ehlo()
            if user:
                server.login(user, password or "")
            server.send_message(msg)
    except MailError:
        raise
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"sending to {parts.hostname}: {exc}") from None
