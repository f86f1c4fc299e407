"""sd_notify over a real AF_UNIX datagram socket, and a silent no-op without one."""

from __future__ import annotations

import os

import pytest

from common.notify import Notifier, watchdog_interval
from tests.doubles import NotifySocket


def test_each_state_reaches_the_socket(notify_socket: NotifySocket) -> None:
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
    got = notify_socket.collect(2, until=lambda got: len(got) == 5)
    assert got == ["READY=1\nSTATUS=serving", "STATUS=busy", "WATCHDOG=1", "STOPPING=1", "READY=1"]


def test_an_abstract_socket_name_works(monkeypatch: pytest.MonkeyPatch) -> None:
    with NotifySocket(abstract=True) as sock:
        monkeypatch.setenv("NOTIFY_SOCKET", sock.address)
        notifier = Notifier()
        notifier.watchdog()
        notifier.close()
        assert sock.collect(2, until=bool) == ["WATCHDOG=1"]


def test_without_notify_socket_every_call_is_a_no_op() -> None:
    notifier = Notifier()
    assert not notifier.enabled
    notifier.ready(status="x")
    notifier.watchdog()
    notifier.stopping()
    notifier.close()


def test_a_closed_notifier_sends_nothing(notify_socket: NotifySocket) -> None:
    notifier = Notifier()
    notifier.close()
    notifier.watchdog()
    assert notify_socket.collect(0.2) == []


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
