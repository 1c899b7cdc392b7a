"""E-mail delivery of report files over SMTP, encrypted: STARTTLS (``smtp://``) or TLS (``smtps://``).

``smtp://[user[:password]@]host[:587]`` always upgrades with STARTTLS and refuses to
send when the server does not offer it, so a report and the credentials never travel in
clear. The password may come from ``CDNCTL_SMTP_PASSWORD`` instead of the URL. The
server certificate is verified against the system CAs, or ``CDNCTL_SMTP_CAFILE``.

For senders that must know whether a message went out (the log-publication notices),
``send`` takes two callbacks: ``before_send`` runs once the session is ready, just
before the message is handed over (MAIL, RCPT, DATA), and ``accepted`` as soon as the
server answered 250 to the message — before QUIT, which is one more round trip. A
``MailError`` says with ``maybe_sent`` whether the server may have kept the message
(the link failed after it was handed over) or surely did not (it answered an error).
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit


class MailError(Exception):
    def __init__(self, message: str, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent     # the server may have accepted the message all the same


def build_message(sender: str, recipients: Sequence[str], subject: str, body: str,
                  attachments: Sequence[Path], message_id: str | None = None) -> EmailMessage:
    """``message_id`` (``<left@domain>``): a stable Message-ID, so that a resent message is
    recognisable as the same one; without it the header is left to the relay."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(body)
    for path in attachments:
        ctype, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (ctype or "application/octet-stream").split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def _session(parts: SplitResult, timeout: float) -> smtplib.SMTP:
    """Connected, encrypted and logged in (raises MailError)."""
    context = ssl.create_default_context(cafile=os.environ.get("CDNCTL_SMTP_CAFILE") or None)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else os.environ.get("CDNCTL_SMTP_PASSWORD")
    assert parts.hostname
    try:
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout,
                                                     context=context)
        else:
            server = smtplib.SMTP(parts.hostname, parts.port or 587, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"sending to {parts.hostname}: {exc}") from None
    try:
        if parts.scheme == "smtp":
            server.ehlo()
            if not server.has_extn("starttls"):
                raise MailError(f"{parts.hostname} does not offer STARTTLS; not sending in clear")
            server.starttls(context=context)
            server.ehlo()
        if user:
            server.login(user, password or "")
    except BaseException as exc:
        server.close()
        if isinstance(exc, OSError | smtplib.SMTPException):
            raise MailError(f"sending to {parts.hostname}: {exc}") from None
        raise
    return server


def send(smtp_url: str, msg: EmailMessage, timeout: float = 30.0, *,
         before_send: Callable[[], None] | None = None, accepted: Callable[[], None] | None = None) -> None:
    """Send ``msg``. ``before_send()`` runs when the session is ready, right before the message
    is handed over; ``accepted()`` right after the server accepted it (250 to DATA), before
    QUIT. Errors raised by the callbacks themselves propagate as they are."""
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailError(f"SMTP URL {smtp_url!r}: use smtp://[user@]host[:587] or smtps://[user@]host[:465]")
    server = _session(parts, timeout)
    try:
        if before_send:
            before_send()
        try:
            server.send_message(msg)        # returns once the server answered the end of DATA
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
            # the server answered with an error: it did not take the message
            raise MailError(f"sending to {parts.hostname}: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            # the link failed with the message on its way: the server may have it
            raise MailError(f"sending to {parts.hostname}: {exc}", maybe_sent=True) from None
        if accepted:
            accepted()
        with contextlib.suppress(OSError, smtplib.SMTPException):
            server.quit()
    finally:
        server.close()
