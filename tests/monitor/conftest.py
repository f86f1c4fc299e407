"""Monitor fixtures: a real SMTP server that can be down, and a real sd_notify socket."""

from __future__ import annotations

import email
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller


class SmtpServer:
    """aiosmtpd on a fixed 127.0.0.1 port, started and stopped on demand (down, then up again)."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.subjects: list[str] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.subjects.append(str(email.message_from_bytes(envelope.content)["Subject"]))
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(settings, smtp):  # type: ignore[no-untyped-def]
    from common.settings import load_settings

    def make(**overrides: object):  # type: ignore[no-untyped-def]
        values: dict[str, object] = dict(data_dir=settings.data_dir, smtp_host="127.0.0.1", smtp_port=smtp.port,
                                         smtp_security="none", mail_to="ops@example.org", smtp_timeout_s=2)
        return load_settings(**{**values, **overrides})

    return make


class NotifySocket:
    """The receiving end of NOTIFY_SOCKET: an AF_UNIX datagram socket, as systemd has."""

    def __init__(self) -> None:
        # A short directory: AF_UNIX paths are limited to 108 bytes and pytest's tmp_path can be longer.
        self.dir = Path(tempfile.mkdtemp(prefix="kura-notify-"))
        self.path = self.dir / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.messages: list[str] = []

    def collect(self, seconds: float) -> list[str]:
        """Every message received during the next ``seconds``."""
        got: list[str] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                got.append(self.sock.recv(4096).decode())
            except TimeoutError:
                break
        self.messages.extend(got)
        return got

    def wait_for(self, wanted: Callable[[str], bool], timeout_s: float = 20.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for message in self.collect(0.05):
                if wanted(message):
                    return message
        raise AssertionError(f"no matching notify message within {timeout_s} s; got {self.messages[-10:]}")

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)
        self.dir.rmdir()


@pytest.fixture
def notify_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifySocket]:
    sock = NotifySocket()
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock.path))
    yield sock
    sock.close()
