"""Real stand-ins for what Kura talks to outside itself: an SMTP server, systemd's notify socket and
sentry.io's envelope endpoint. Each is the real protocol on a real socket, so what Kura sends is what a
test reads; the fixtures in tests/conftest.py start one per test and close it afterwards."""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from common.settings import Settings, load_settings
from tests.support import free_port

# aiosmtpd logs every connection on "mail.log". Propagated to the root logger, the lines went through
# Kura's logging bridge to a loguru sink that an earlier test's captured stream had been, now closed:
# the failed write cut the server's connection cleanup short, and the socket it left open was
# reported (an unraisable ResourceWarning, an error under -W error) in whatever test ran next.
_SERVER_LOG = logging.getLogger("mail.log")
_SERVER_LOG.propagate = False
_SERVER_LOG.addHandler(logging.NullHandler())


class SmtpInbox:
    """aiosmtpd on a fixed 127.0.0.1 port, so it can be down and come back where Kura expects it.
    With a password it refuses mail from anyone who does not log in with it."""

    def __init__(self, *, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TO) of each message
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def _login(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == (self.password or "").encode()
        return AuthResult(success=ok)

    @property
    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def settings(self, **overrides: object) -> Settings:
        """Settings that mail this inbox over plain SMTP; keyword overrides allowed. The timeout is short
        because the server is local: a test that hangs on it should fail, not wait ten seconds."""
        values: dict[str, object] = {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": "none",
                                     "mail_to": "ops@example.org", "smtp_timeout_s": 5}
        return load_settings(**{**values, **overrides})

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[EmailMessage]:
        """The messages once ``count`` have arrived: mail sent from another thread lands when it lands."""
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} of {count} messages within {timeout_s} s")
            time.sleep(0.02)
        return self.messages

    def start(self) -> None:
        if self._controller is None:
            auth = {"authenticator": self._login, "auth_require_tls": False} if self.password else {}
            self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **auth)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpInbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class NotifySocket:
    """The receiving end of NOTIFY_SOCKET: an AF_UNIX datagram socket, as systemd has. ``address`` is what
    NOTIFY_SOCKET says: a path, or with ``abstract`` an "@name" in the abstract namespace."""

    def __init__(self, *, abstract: bool = False) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.dir: Path | None = None
        if abstract:
            self.address = f"@kura-test-{os.getpid()}-{id(self)}"
            self.sock.bind("\0" + self.address[1:])
        else:
            # AF_UNIX paths are limited to 108 bytes and pytest's tmp_path can be longer.
            self.dir = Path(tempfile.mkdtemp(prefix="kura-notify-", dir="/tmp"))
            self.address = str(self.dir / "notify")
            self.sock.bind(self.address)
        self.messages: list[str] = []  # every datagram read so far, for failure messages

    def collect(self, seconds: float, until: Callable[[list[str]], bool] | None = None) -> list[str]:
        """The datagrams that arrive in the next ``seconds``, or fewer once ``until(got)`` holds."""
        got: list[str] = []
        deadline = time.monotonic() + seconds
        while not (until and until(got)) and (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                got.append(self.sock.recv(4096).decode())
            except TimeoutError:
                break
        self.messages.extend(got)
        return got

    def wait_for(self, wanted: Callable[[str], bool], timeout_s: float = 20.0) -> str:
        """The first datagram ``wanted`` accepts; those before it are read and passed over."""
        got = self.collect(timeout_s, until=lambda got: bool(got) and wanted(got[-1]))
        if got and wanted(got[-1]):
            return got[-1]
        raise AssertionError(f"no matching notify message within {timeout_s} s; got {self.messages[-10:]}")

    def lines_until(self, done: Callable[[list[str]], bool], timeout_s: float) -> list[str]:
        """The lines of the datagrams read until ``done(lines)`` or the deadline (one datagram may hold
        several assignments, as READY=1 with its STATUS=)."""
        return _lines(self.collect(timeout_s, until=lambda got: done(_lines(got))))

    def drain(self) -> list[str]:
        """The datagrams already waiting, without waiting for more."""
        got: list[str] = []
        self.sock.setblocking(False)
        try:
            while True:
                got.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            pass
        self.messages.extend(got)
        return got

    def close(self) -> None:
        self.sock.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> NotifySocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lines(datagrams: list[str]) -> list[str]:
    return [line for datagram in datagrams for line in datagram.splitlines()]


class _EnvelopeHandler(BaseHTTPRequestHandler):
    server: SentryStandIn

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        unpack = {"gzip": gzip.decompress, "deflate": zlib.decompress}.get(self.headers.get("Content-Encoding", ""))
        self.server.bodies.append(unpack(body) if unpack else body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass  # the test's output is for the test


class SentryStandIn(ThreadingHTTPServer):
    """sentry.io's envelope endpoint on 127.0.0.1: keeps every envelope the real sentry-sdk sends, unpacked."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EnvelopeHandler)
        self.bodies: list[bytes] = []
        self.dsn = f"http://publickey@127.0.0.1:{self.server_address[1]}/42"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def envelopes(self) -> list[list[dict[str, Any]]]:
        """Each envelope as its JSON lines (headers and items); binary payload lines are left out."""
        return [_json_lines(body) for body in self.bodies]

    @property
    def items(self) -> list[dict[str, Any]]:
        return [item for envelope in self.envelopes for item in envelope]

    @property
    def events(self) -> list[dict[str, Any]]:
        """The items that carry an exception."""
        return [item for item in self.items if isinstance(item.get("exception"), dict)]

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


def _json_lines(body: bytes) -> list[dict[str, Any]]:
    items = []
    for line in body.split(b"\n"):
        try:
            items.append(json.loads(line))
        except ValueError:
            continue
    return items
