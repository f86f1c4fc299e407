"""Mail through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from common.mail import MailError, send_mail, try_send_mail
from common.settings import Settings, load_settings
from tests.support import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def only_secret(server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=only_secret,
                            auth_require_tls=False)
    controller.start()
    yield box, port
    controller.stop()


def mail_settings(port: int, **extra: object) -> Settings:
    values: dict[str, object] = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
                                 "smtp_timeout_s": 5, "mail_from": "kura@example.org",
                                 "mail_to": "ops@example.org, me@example.org"}
    return load_settings(**{**values, **extra})



def test_send_mail_delivers_to_every_recipient(inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    send_mail(mail_settings(port), subject="Backup failed", body="disk full\n")
    [(sender, recipients, message)] = box.messages
    assert sender == "kura@example.org"
    assert recipients == ["ops@example.org", "me@example.org"]
    assert message["Subject"] == "Backup failed"
    assert message["Message-ID"] and message["Date"]
    assert message.get_payload(decode=True).decode().strip() == "disk full"  # type: ignore[union-attr]


def test_send_mail_logs_in_when_a_user_is_set(inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    send_mail(mail_settings(port, smtp_user="kura", smtp_password="s3cret"), subject="hi", body="x")
    assert len(box.messages) == 1
    with pytest.raises(MailError, match="cannot send mail via 127.0.0.1"):
        send_mail(mail_settings(port, smtp_user="kura", smtp_password="wrong"), subject="hi", body="x")
    assert len(box.messages) == 1


def test_a_down_server_raises_mail_error() -> None:
    with pytest.raises(MailError, match=r"cannot send mail via 127\.0\.0\.1:\d+"):
        send_mail(mail_settings(free_port()), subject="s", body="b")


def test_starttls_against_a_server_without_tls_fails_cleanly(inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    with pytest.raises(MailError, match="STARTTLS"):
        send_mail(mail_settings(port, smtp_security="starttls"), subject="s", body="b")
    assert box.messages == []


def test_unconfigured_mail_says_what_to_set() -> None:
    with pytest.raises(MailError, match="KURA_SMTP_HOST and KURA_MAIL_TO"):
        send_mail(load_settings(), subject="s", body="b")


def test_try_send_mail_logs_and_returns_false_instead_of_raising(errors: list[str]) -> None:
    assert try_send_mail(mail_settings(free_port()), subject="s", body="b") is False
    assert len(errors) == 1 and errors[0].startswith("cannot send mail via 127.0.0.1")


def test_try_send_mail_returns_true_on_delivery(inbox: tuple[Inbox, int], errors: list[str]) -> None:
    box, port = inbox
    assert try_send_mail(mail_settings(port), subject="ok", body="b") is True
    assert len(box.messages) == 1 and errors == []
