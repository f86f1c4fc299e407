"""The harness sees programs as systemd would: READY=1 on a real notify socket, and real CPU use."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from bench import servers

NOTIFIER = """
import os, socket, time
time.sleep(0.2)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.sendto(b"STATUS=warming up", os.environ["NOTIFY_SOCKET"])
sock.sendto(b"READY=1\\nSTATUS=serving", os.environ["NOTIFY_SOCKET"])
end = time.monotonic() + float(os.environ.get("BUSY_S", "0"))
while time.monotonic() < end:
    pass
time.sleep(60)
"""


def start(tmp_path: Path, **env: str) -> servers.Process:
    return servers.start("notifier", [sys.executable, "-c", NOTIFIER], env=servers.program_env(tmp_path, **env),
                         log_dir=tmp_path, timeout=20)


def test_start_waits_for_ready_on_a_real_notify_socket(tmp_path: Path) -> None:
    proc = start(tmp_path)
    try:
        assert proc.ready_s >= 0.2
        assert proc.notices[-1] == "READY=1\nSTATUS=serving" and len(proc.notices) == 2
        assert proc.rss_mb() > 1 and proc.peak_rss_mb() >= proc.rss_mb() * 0.9
    finally:
        proc.stop()


def test_wait_idle_lasts_as_long_as_the_process_keeps_a_core_busy(tmp_path: Path) -> None:
    proc = start(tmp_path, BUSY_S="1.0")
    try:
        waited = proc.wait_idle(step_s=0.1)
        assert waited >= 0.5
        assert proc.wait_idle(step_s=0.1) < 0.5
    finally:
        proc.stop()


def test_a_program_that_dies_before_ready_is_reported_with_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('no database here'); sys.exit(3)"]
    started = time.monotonic()
    with pytest.raises(servers.ServerError, match="no database here"):
        servers.start("broken", argv, env=servers.program_env(tmp_path), log_dir=tmp_path, timeout=20)
    assert time.monotonic() - started < 10


def test_run_timed_reports_the_child_peak_memory_and_exit_code(tmp_path: Path) -> None:
    code = "b = bytearray(60 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); raise SystemExit(4)"
    figures = servers.run_timed([sys.executable, "-c", code], env=servers.program_env(tmp_path),
                                log_path=tmp_path / "run.log")
    assert figures["exit"] == 4 and figures["peak_rss_mb"] >= 60 and figures["seconds"] > 0
