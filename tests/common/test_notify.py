"""sd_notify over a real AF_UNIX datagram socket, and a silent no-op without one."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.notify import Notifier, watchdog_interval


@pytest.fixture
def notify_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    directory = Path(tempfile.mkdtemp(prefix="kura-", dir="/tmp"))  # AF_UNIX paths are short
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(directory / "notify"))
    sock.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(directory / "notify"))
    yield sock
    sock.close()
    shutil.rmtree(directory)


def test_each_state_reaches_the_socket(notify_socket: socket.socket) -> None:
    notifier = Notifier()
    try:
        assert notifier.enabled
        notifier.ready(status="serving")
        notifier.status("busy")
        notifier.watchdog()
        notifier.stopping()
        notifier.ready()
    finally:
        notifier.close()
    got = [notify_socket.recv(4096).decode() for _ in range(5)]
    assert got == ["READY=1\nSTATUS=serving", "STATUS=busy", "WATCHDOG=1", "STOPPING=1", "READY=1"]


def test_an_abstract_socket_name_works(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"kura-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        notifier = Notifier()
        notifier.watchdog()
        notifier.close()
        assert sock.recv(64) == b"WATCHDOG=1"


def test_without_notify_socket_every_call_is_a_no_op() -> None:
    notifier = Notifier()
    assert not notifier.enabled
    notifier.ready(status="x")
    notifier.watchdog()
    notifier.stopping()
    notifier.close()


def test_a_closed_notifier_sends_nothing(notify_socket: socket.socket) -> None:
    notifier = Notifier()
    notifier.close()
    notifier.watchdog()
    notify_socket.settimeout(0.2)
    with pytest.raises(TimeoutError):
        notify_socket.recv(64)


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [("400000", None, 0.2), ("30000000", "self", 15.0), ("30000000", "1", None), (None, None, None),
     ("soon", None, None)],
)
def test_the_watchdog_interval_is_half_of_watchdog_usec_for_this_process(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    if usec is not None:
        monkeypatch.setenv("WATCHDOG_USEC", usec)
    if pid is not None:
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()) if pid == "self" else pid)
    assert watchdog_interval() == expected
