"""The daemon with systemd's notify protocol: READY, WATCHDOG only while samples land, STATUS, STOPPING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from common.db import open_database
from common.notify import Notifier
from common.settings import load_settings
from common.sqlite import sqlite3
from monitor.daemon import Monitor, summary
from monitor.metrics import reading_from
from monitor.store import MetricsStore
from tests.monitor.doubles import ScriptedSource
from tests.support import free_port

BIN = Path(sys.executable).parent


HEALTHY = {"cpu_percent": 12, "memory_available_percent": 55, ("filesystem_avail_percent", "/"): 71}


def test_scripted_source_replays_then_repeats_the_last_reading():
    source = ScriptedSource([{"cpu_percent": 1}, {"cpu_percent": 2}])
    assert [source.read().get("cpu_percent") for _ in range(3)] == [1, 2, 2]
    with pytest.raises(ValueError):
        ScriptedSource([])


def test_summary_is_one_line_of_cpu_memory_disk_and_alerts():
    reading = reading_from({**HEALTHY, ("filesystem_avail_percent", "/srv"): 40})
    assert summary(reading, 1) == "cpu 12%, mem avail 55%, disk free 40%, 1 active alert"
    assert summary(reading_from({}), 2) == "2 active alerts"


@pytest.fixture
def in_process(tmp_path, notify_socket, monkeypatch):  # type: ignore[no-untyped-def]
    """A Monitor on a scripted source with the real notifier, run on a thread; yields (monitor, source)."""
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # ping every 50 ms
    settings = load_settings(data_dir=tmp_path / "data", monitor_interval=0.05, monitor_probe_timeout_s=0.4)
    db = open_database(settings, path=settings.metrics_db_path, create=True)
    source = ScriptedSource([HEALTHY])
    notifier = Notifier()
    monitor = Monitor(settings, source=source, store=MetricsStore(db), notifier=notifier)
    stop = threading.Event()
    runner = threading.Thread(target=monitor.run, args=(stop,))
    runner.start()
    yield monitor, source
    source.release()
    stop.set()
    runner.join(5)
    db.dispose()
    notifier._n.socket.close()  # sdnotify never closes its socket; the daemon's lives as long as the process


def test_watchdog_pings_stop_while_the_sampling_loop_hangs(in_process, notify_socket):
    monitor, source = in_process
    ready = notify_socket.wait_for(lambda m: m.startswith("READY=1"))
    assert "STATUS=cpu 12%, mem avail 55%, disk free 71%, 0 active alerts" in ready
    for _ in range(3):  # regular pings while samples land
        notify_socket.wait_for(lambda m: m == "WATCHDOG=1")
    reads = source.reads
    source.hold()  # the next read blocks: a wedged probe
    # Once the last stored sample is stale (2 intervals + probe timeout = 0.5 s) the pings stop.
    notify_socket.collect(1.0)
    assert not monitor.healthy() and source.reads <= reads + 1  # at most one read raced the hold
    assert "WATCHDOG=1" not in notify_socket.collect(0.6)
    source.release()
    notify_socket.wait_for(lambda m: m == "WATCHDOG=1")
    assert monitor.healthy()


def test_each_sample_is_stored_and_reported_in_status(in_process, notify_socket):
    monitor, _ = in_process
    notify_socket.wait_for(lambda m: m.startswith("READY=1"))
    status = notify_socket.wait_for(lambda m: m.startswith("STATUS="))
    assert status == "STATUS=cpu 12%, mem avail 55%, disk free 71%, 0 active alerts"
    with monitor.store.db.read_session() as session:
        stored = session.execute(text("SELECT count(*) FROM samples")).scalar_one()
    assert stored >= 2 * 3


def test_the_kura_monitor_program_speaks_the_notify_protocol(tmp_path, notify_socket):
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "300000",
           "KURA_DATA_DIR": str(tmp_path / "data"), "KURA_MONITOR_INTERVAL": "0.1",
           "KURA_MONITOR_API_URL": f"http://127.0.0.1:{free_port()}"}
    proc = subprocess.Popen([str(BIN / "kura-monitor")], env=env, stderr=subprocess.PIPE, text=True)
    try:
        notify_socket.wait_for(lambda m: m.startswith("READY=1"))
        notify_socket.wait_for(lambda m: m == "WATCHDOG=1")
        notify_socket.wait_for(lambda m: m == "WATCHDOG=1")
        proc.send_signal(signal.SIGTERM)
        notify_socket.wait_for(lambda m: m == "STOPPING=1", timeout_s=5)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert "first sample stored" in err and "stopping" in err
    db = open_database(load_settings(data_dir=tmp_path / "data"), path=tmp_path / "data" / "metrics.db", create=True)
    try:
        with db.read_session() as session:
            names = set(session.execute(text("SELECT name FROM series")).scalars())
    finally:
        db.dispose()
    assert {"cpu_percent", "memory_available_bytes", "filesystem_avail_bytes", "api_up"} <= names


def test_bad_configuration_is_one_line_and_exit_code_2(tmp_path):
    env = {**os.environ, "KURA_DATA_DIR": str(tmp_path), "KURA_MONITOR_INTERVAL": "fast"}
    result = subprocess.run([str(BIN / "kura-monitor")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "KURA_MONITOR_INTERVAL" in result.stderr


def test_main_runs_until_sigterm_in_process(tmp_path, notify_socket, monkeypatch):
    from monitor import daemon

    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KURA_MONITOR_INTERVAL", "0.05")
    monkeypatch.setenv("KURA_MONITOR_API_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def stop_when_pinged() -> None:
        notify_socket.wait_for(lambda m: m == "WATCHDOG=1")
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=stop_when_pinged)
    killer.start()
    try:
        assert daemon.main([]) == 0
    finally:
        killer.join(10)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert "STOPPING=1" in notify_socket.collect(0.2)


def test_main_refuses_an_unusable_metrics_file(tmp_path, monkeypatch):
    from monitor import daemon

    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KURA_METRICS_PATH", str(tmp_path))  # a directory, not a database
    assert daemon.main([]) == 1


def test_alerts_still_go_out_when_samples_cannot_be_stored(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    db = open_database(settings, path=settings.metrics_db_path, create=True)
    try:
        monitor = Monitor(settings, source=ScriptedSource([{"memory_available_percent": 2}]), store=MetricsStore(db),
                          notifier=Notifier())
        with db.write_session() as session:
            session.execute(text("DROP TABLE samples"))
        for _ in range(3):
            with pytest.raises(sqlite3.OperationalError):  # the store's SQL runs on the driver itself
                monitor.tick()
        assert not monitor.healthy()  # nothing stored: the watchdog would not be fed
        with db.read_session() as session:
            assert session.execute(text("SELECT kind, rule FROM alerts")).all() == [("alert", "memory_low")]
    finally:
        db.dispose()
