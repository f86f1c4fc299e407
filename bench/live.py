"""A real `kura-api` on 127.0.0.1 for the drills (bench/crash.py, bench/burst.py) and the tests that
run them: a database with a user and token, one-request HTTP calls, start/kill/stop."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.servers import free_port

ROOT = Path(__file__).resolve().parents[1]  # the checkout
BIN = Path(sys.executable).parent
# What one HTTP request raises when no answer comes back (refused, reset, cut off mid-body, timed out).
NO_ANSWER = (OSError, http.client.HTTPException)
_HOST_ONLY = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "STATE_DIRECTORY")
_COVERAGE = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")


def make_token(data_dir: Path, name: str = "alice") -> str:
    """Create Kura's database in `data_dir` with `kura db upgrade`, then one user and a token for them
    through domain.accounts; returns the token."""
    from domain import accounts
    from common.db import open_database
    from common.settings import load_settings

    env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_") and k not in _HOST_ONLY}
    upgrade = subprocess.run([str(BIN / "kura"), "db", "upgrade"], capture_output=True, text=True, timeout=120,
                             env={**env, "KURA_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert upgrade.returncode == 0, upgrade.stderr
    db = open_database(load_settings(data_dir=data_dir))
    try:
        with db.write_session() as session:
            user = accounts.create_user(session, name=name)
            _, token = accounts.create_token(session, user_id=user.id, label=name)
    finally:
        db.dispose()
    return token


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    seconds: float

    def json(self) -> object:
        return json.loads(self.body)


def call(port: int, method: str, path: str, *, token: str | None = None, body: object = None,
         timeout: float = 30.0) -> Reply:
    """One request on its own connection; raises one of NO_ANSWER when no whole answer came back."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, payload,
                     time.perf_counter() - started)
    finally:
        conn.close()


@dataclass
class LiveApi:
    """`kura-api` as a real process on a free port of 127.0.0.1, over the database in `data_dir`.

    `measured=False` keeps coverage out of the process: a process killed with SIGKILL never writes
    its coverage data, so measuring it would only slow each start down."""

    data_dir: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    measured: bool = True
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None  # type: ignore[type-arg]
    starts: int = 0

    def environment(self) -> dict[str, str]:
        drop = _HOST_ONLY + (() if self.measured else _COVERAGE)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_") and k not in drop}
        return {**env, "KURA_DATA_DIR": str(self.data_dir), "KURA_PORT": str(self.port),
                "PYTHONPATH": str(ROOT), **self.env}

    def start(self, timeout: float = 60.0) -> None:
        """Start the process and return once /readyz answers 200."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([str(BIN / "kura-api")], env=self.environment(), cwd=ROOT,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if call(self.port, "GET", "/readyz", timeout=5).status == 200:
                    return
            except NO_ANSWER:
                pass
            time.sleep(0.02)  # polling for a condition, not waiting for a guessed time
        self.stop()
        raise AssertionError(f"kura-api did not become ready within {timeout} s: {self.exited()}")

    def exited(self) -> str | None:
        """None while the process runs; else its exit status and the end of its log, for a message."""
        if self.proc is None or self.proc.poll() is None:
            return None
        tail = self.log_path.read_text(errors="replace")[-2000:]
        return f"kura-api exited with status {self.proc.returncode}; the end of {self.log_path}:\n{tail}"

    def kill(self) -> None:
        """SIGKILL, as a crash would, and reap the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it has not gone within `timeout`. The exit status, or None."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode
