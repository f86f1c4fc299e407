"""The one mail module: backup failures, monitor alerts and unit failures all send through here."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from loguru import logger

from common.settings import Settings


class MailError(RuntimeError):
    """The message could not be handed to the mail server."""


def build_message(settings: Settings, *, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = ", ".join(settings.mail_to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=socket.gethostname() or "localhost")
    msg.set_content(body)
    return msg


def _connect(settings: Settings) -> smtplib.SMTP:
    assert settings.smtp_host
    timeout = settings.smtp_timeout_s
    if settings.smtp_security == "ssl":
        return smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                context=ssl.create_default_context())
    client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    if settings.smtp_security == "starttls":
        try:
            client.starttls(context=ssl.create_default_context())
        except BaseException:
            client.close()  # the caller never gets the client, so it could not close it
            raise
    return client


def send_mail(settings: Settings, *, subject: str, body: str) -> None:
    """Send one message to KURA_MAIL_TO; raise MailError with the reason on any failure."""
    if not settings.mail_configured:
        raise MailError("mail is not configured (set KURA_SMTP_HOST and KURA_MAIL_TO)")
    msg = build_message(settings, subject=subject, body=body)
    try:
        with _connect(settings) as client:
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password or "")
            client.send_message(msg)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        raise MailError(f"cannot send mail via {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
    logger.info("mail sent to {}: {}", ", ".join(settings.mail_to), subject)


def try_send_mail(settings: Settings, *, subject: str, body: str) -> bool:
    """Send, but never raise: a mail failure is logged at ERROR and reported as False."""
    try:
        send_mail(settings, subject=subject, body=body)
    except MailError as exc:
        logger.error("{}", exc)
        return False
    return True
