"""End to end: `kura-api` as a real process, a real NOTIFY_SOCKET, real HTTP, a real SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from api.server import watchdog_loop
from api.transactions import Transactions
from domain import migrate
from common.db import open_database
from common.notify import Notifier
from common.settings import Settings, load_settings
from tests.common.test_logging import fresh_loguru  # noqa: F401 - a fixture
from tests.doubles import NotifySocket
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]

# The real server, plus one test-only route that takes a while and says when it has started.
SLOW_APP_SERVER = """
import asyncio, os, sys
import api.app

real_create_app = api.app.create_app

def create_app(settings, db):
    app = real_create_app(settings, db)

    @app.get("/test-only/slow")
    async def slow():
        open(os.environ["SLOW_MARKER"], "w").close()
        await asyncio.sleep(1.5)
        return {"done": True}

    return app

api.app.create_app = create_app
import api.server
sys.exit(api.server.main())
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "KURA_DATA_DIR": str(tmp_path / "data"), "KURA_PORT": str(free_port()),
            "PYTHONPATH": str(ROOT)}


def kura(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def get(url: str, token: str | None = None, timeout: float = 10) -> tuple[int, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read())


@pytest.mark.slow
def test_the_api_serves_notifies_systemd_and_stops_gracefully(
    env: dict[str, str], notify_socket: NotifySocket, tmp_path: Path
) -> None:
    assert kura(env, "db", "upgrade").returncode == 0
    assert kura(env, "user", "add", "alice").returncode == 0
    token = kura(env, "token", "create", "alice", "--label", "e2e").stdout.strip()
    base = f"http://127.0.0.1:{env['KURA_PORT']}"
    marker, log = tmp_path / "slow-started", tmp_path / "stderr"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", SLOW_APP_SERVER], cwd=ROOT, stderr=stderr,
            env={**env, "NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "400000",
                 "SLOW_MARKER": str(marker)},
        )
    try:
        started = time.monotonic()
        early = notify_socket.lines_until(lambda m: "READY=1" in m, timeout_s=30)
        assert "READY=1" in early, early
        ready_after = time.monotonic() - started
        assert get(f"{base}/readyz")[0] == 200  # by READY=1 the socket already listens
        assert early.index("STATUS=opening the database") < early.index("READY=1")

        beats = notify_socket.lines_until(lambda m: m.count("WATCHDOG=1") >= 3, timeout_s=10)
        assert beats.count("WATCHDOG=1") >= 3

        status, tokens = get(f"{base}/api/v1/tokens", token)
        assert status == 200 and [t["label"] for t in tokens] == ["e2e"]  # type: ignore[union-attr]

        slow_result: list[object] = []
        slow = threading.Thread(target=lambda: slow_result.append(get(f"{base}/test-only/slow")))
        slow.start()
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the slow request never reached the server"
        proc.send_signal(signal.SIGTERM)

        stopping = notify_socket.lines_until(lambda m: "STOPPING=1" in m, timeout_s=10)
        assert "STOPPING=1" in stopping
        slow.join(timeout=15)
        assert slow_result == [(200, {"done": True})]  # the in-flight request was allowed to finish
        assert proc.wait(timeout=30) == 0
        print(f"process start to READY=1: {ready_after:.2f} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "SQLite 3." in log.read_text()


def test_the_api_refuses_an_unmigrated_database_in_one_line(env: dict[str, str]) -> None:
    database = Path(env["KURA_DATA_DIR"]) / "kura.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    database.touch()
    result = subprocess.run([sys.executable, "-m", "api.server"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("kura-api: database schema of") and last.endswith("run `kura db upgrade` first")


def test_the_api_never_creates_a_missing_database(env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "api.server"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    database = Path(env["KURA_DATA_DIR"]) / "kura.db"
    assert result.returncode == 1 and not database.exists()
    assert result.stderr.strip().splitlines()[-1] == (
        f"kura-api: database {database} does not exist: create it with `kura db upgrade`, "
        "or restore a backup with `kura-backup restore`")


def test_the_api_refuses_bad_settings_in_one_line(env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "api.server"], env={**env, "KURA_PORT": "seventy"},
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "KURA_PORT" in result.stderr


def test_the_watchdog_stops_when_the_database_stops_answering(tmp_path: Path, notify_socket: NotifySocket) -> None:
    settings = load_settings(data_dir=tmp_path / "data", sqlite_busy_timeout_ms=100)
    db = open_database(settings, create=True)
    migrate.upgrade(db)
    errors: list[str] = []
    sink = logger.add(lambda m: errors.append(str(m.record["message"])), level="ERROR")
    with db.engine.connect() as conn:  # move everything into the main file, so breaking it counts
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    good = db.path.read_bytes()

    notifier = Notifier()

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        task = asyncio.create_task(watchdog_loop(Transactions(db, write_wait_s=1.0), notifier, 0.05))
        read = lambda until, timeout: asyncio.to_thread(notify_socket.lines_until, until, timeout)  # noqa: E731
        healthy = await read(lambda m: m.count("WATCHDOG=1") >= 2, 5)
        db.path.write_bytes(b"this is not a database" * 300)  # the file is broken under us
        for _ in range(200):  # until the loop has seen a failure: pings after that start on the broken file
            if any("does not answer" in line for line in errors):
                break
            await asyncio.sleep(0.05)
        notify_socket.drain()
        broken = await read(lambda m: False, 0.5)
        db.path.write_bytes(good)
        recovered = await read(lambda m: "WATCHDOG=1" in m, 5)
        task.cancel()
        return healthy, broken, recovered

    try:
        healthy, broken, recovered = asyncio.run(scenario())
    finally:
        notifier.close()
        logger.remove(sink)
        db.dispose()
    assert healthy.count("WATCHDOG=1") >= 2
    assert broken == []
    assert "WATCHDOG=1" in recovered
    assert any("does not answer" in line for line in errors)


@contextlib.contextmanager
def served_in_process(tmp_path: Path) -> Iterator[tuple[Settings, threading.Thread]]:
    """kura-api's server on a thread of this process, over a fresh database; stopped on the way out."""
    from api.server import build_server, open_checked

    settings = load_settings(data_dir=tmp_path / "data", port=free_port())
    migrated = open_database(settings, create=True)
    migrate.upgrade(migrated)
    migrated.dispose()
    db, notifier = open_checked(settings), Notifier()
    server = build_server(settings, db, notifier)
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        yield settings, thread
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        notifier.close()
        db.dispose()


def test_the_server_notifies_in_process_too(
    tmp_path: Path, notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same lifecycle without a subprocess, so it is measured whatever happens to child coverage."""
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    with served_in_process(tmp_path) as (settings, thread):
        assert "READY=1" in notify_socket.lines_until(lambda m: "READY=1" in m, timeout_s=30)
        assert get(f"http://127.0.0.1:{settings.port}/healthz") == (200, {"status": "ok"})
        assert "WATCHDOG=1" in notify_socket.lines_until(lambda m: "WATCHDOG=1" in m, timeout_s=10)
    assert not thread.is_alive()
    assert "STOPPING=1" in notify_socket.lines_until(lambda m: "STOPPING=1" in m, timeout_s=5)


def test_the_server_runs_on_the_standard_library_event_loop(
    tmp_path: Path, notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not uvloop, which uvicorn picks by itself when it is installed (it is, with uvicorn[standard]):
    saturated, uvloop kept a few requests waiting many times the median (README "Benchmarks")."""
    from api.server import KuraServer

    loops: list[type] = []
    startup = KuraServer.startup

    async def noting_the_loop(self: KuraServer, sockets: object = None) -> None:
        loops.append(type(asyncio.get_running_loop()))
        await startup(self, sockets=sockets)  # type: ignore[arg-type]

    monkeypatch.setattr(KuraServer, "startup", noting_the_loop)
    with served_in_process(tmp_path) as (settings, _thread):
        notify_socket.lines_until(lambda m: "READY=1" in m, timeout_s=30)
        assert get(f"http://127.0.0.1:{settings.port}/healthz")[0] == 200
    assert loops == [asyncio.SelectorEventLoop]


def test_main_refuses_bad_settings_and_unmigrated_databases_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fresh_loguru: None
) -> None:
    from api.server import main

    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KURA_PORT", "seventy")
    assert main([]) == 2
    assert capsys.readouterr().err.startswith("kura-api: invalid configuration: KURA_PORT:")
    monkeypatch.delenv("KURA_PORT")
    assert main([]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("or restore a backup with `kura-backup restore`")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "kura.db").touch()
    assert main([]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("run `kura db upgrade` first")
