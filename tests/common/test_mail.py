"""Mail through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from common.mail import MailError, send_mail, try_send_mail
from common.settings import Settings, load_settings
from tests.doubles import SmtpInbox
from tests.support import free_port


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    """One that wants a login, so that a wrong password can be refused."""
    with SmtpInbox(password="s3cret") as box:
        yield box


def mail_settings(port: int, **extra: object) -> Settings:
    values: dict[str, object] = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
                                 "smtp_timeout_s": 5, "mail_from": "kura@example.org",
                                 "mail_to": "ops@example.org, me@example.org"}
    return load_settings(**{**values, **extra})



def test_send_mail_delivers_to_every_recipient(inbox: SmtpInbox) -> None:
    send_mail(mail_settings(inbox.port), subject="Backup failed", body="disk full\n")
    [message] = inbox.messages
    assert inbox.envelopes == [("kura@example.org", ["ops@example.org", "me@example.org"])]
    assert message["Subject"] == "Backup failed"
    assert message["Message-ID"] and message["Date"]
    assert message.get_payload(decode=True).decode().strip() == "disk full"  # type: ignore[union-attr]


def test_send_mail_logs_in_when_a_user_is_set(inbox: SmtpInbox) -> None:
    send_mail(mail_settings(inbox.port, smtp_user="kura", smtp_password="s3cret"), subject="hi", body="x")
    assert len(inbox.messages) == 1
    with pytest.raises(MailError, match="cannot send mail via 127.0.0.1"):
        send_mail(mail_settings(inbox.port, smtp_user="kura", smtp_password="wrong"), subject="hi", body="x")
    assert len(inbox.messages) == 1


def test_a_down_server_raises_mail_error() -> None:
    with pytest.raises(MailError, match=r"cannot send mail via 127\.0\.0\.1:\d+"):
        send_mail(mail_settings(free_port()), subject="s", body="b")


def test_starttls_against_a_server_without_tls_fails_cleanly(inbox: SmtpInbox) -> None:
    with pytest.raises(MailError, match="STARTTLS"):
        send_mail(mail_settings(inbox.port, smtp_security="starttls"), subject="s", body="b")
    assert inbox.messages == []


def test_unconfigured_mail_says_what_to_set() -> None:
    with pytest.raises(MailError, match="KURA_SMTP_HOST and KURA_MAIL_TO"):
        send_mail(load_settings(), subject="s", body="b")


def test_try_send_mail_logs_and_returns_false_instead_of_raising(errors: list[str]) -> None:
    assert try_send_mail(mail_settings(free_port()), subject="s", body="b") is False
    assert len(errors) == 1 and errors[0].startswith("cannot send mail via 127.0.0.1")


def test_try_send_mail_returns_true_on_delivery(inbox: SmtpInbox, errors: list[str]) -> None:
    assert try_send_mail(mail_settings(inbox.port), subject="ok", body="b") is True
    assert len(inbox.messages) == 1 and errors == []
