"""Start Kura's programs (and the ceiling app) as real processes and watch them from outside.

Readiness is what systemd would see: a real AF_UNIX datagram socket is passed as NOTIFY_SOCKET and we
wait for READY=1. Programs that never notify (the ceiling) are polled over HTTP instead.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent
SCRUBBED = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "STATE_DIRECTORY")


class ServerError(RuntimeError):
    """A program did not start or died; the message names it and points at its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def program_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The host environment without any Kura or systemd settings, plus the bench's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_") and k not in SCRUBBED}
    env.update({"KURA_DATA_DIR": str(data_dir), **extra})
    return env


@dataclass
class Process:
    proc: subprocess.Popen
    name: str
    log_path: Path
    ready_s: float
    port: int | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.proc.pid)

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 1_048_576

    def peak_rss_mb(self) -> float:
        """VmHWM: the most resident memory the process has ever had."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return self.rss_mb()

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def wait_idle(self, *, cpu_share: float = 0.05, step_s: float = 0.25, timeout_s: float = 120.0) -> float:
        """Wait until the process uses under `cpu_share` of a core over a step: a case that left
        requests queued (wrk stops sending, the server keeps answering) must not eat into the next
        case's time. Returns the seconds waited."""
        started = time.monotonic()
        before = self.cpu_seconds()
        while time.monotonic() - started < timeout_s:
            time.sleep(step_s)
            now = self.cpu_seconds()
            if now - before < cpu_share * step_s:
                break
            before = now
        return time.monotonic() - started

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def _http_ok(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", path)
        return conn.getresponse().status < 500
    except OSError:
        return False
    finally:
        conn.close()  # also when no answer came in time: the socket is open by then


def _wait_ready(proc: subprocess.Popen, sock: socket.socket, deadline: float) -> list[str]:
    notices: list[str] = []
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            message = sock.recv(4096).decode(errors="replace")
        except TimeoutError:
            continue
        notices.append(message)
        if "READY=1" in message.split("\n"):
            return notices
    raise TimeoutError


def start(name: str, argv: list[str], *, env: dict[str, str], log_dir: Path, port: int | None = None,
          poll_path: str | None = None, timeout: float = 60.0) -> Process:
    """Start `argv`; wait for READY=1 on a real notify socket (or for `poll_path` to answer)."""
    log_path = log_dir / f"{name}.log"
    sock_path = Path(tempfile.mkdtemp(prefix="kb-", dir="/tmp")) / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(0.05)
    env = {**env, "NOTIFY_SOCKET": str(sock_path)}
    deadline = time.monotonic() + timeout
    with open(log_path, "ab") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if poll_path is None:
            notices = _wait_ready(proc, sock, deadline)
        else:
            notices = []
            while not _http_ok(port or 0, poll_path):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise TimeoutError
                time.sleep(0.02)
        ready = time.perf_counter() - started
    except TimeoutError:
        proc.kill()
        proc.wait()
        tail = log_path.read_text(errors="replace")[-2000:]
        raise ServerError(f"{name} did not become ready (exit {proc.returncode}); log {log_path}:\n{tail}") from None
    finally:
        sock.close()
        sock_path.unlink(missing_ok=True)
        sock_path.parent.rmdir()
    return Process(proc=proc, name=name, log_path=log_path, ready_s=ready, port=port, notices=notices)


def start_api(data_dir: Path, log_dir: Path, **extra: str) -> Process:
    port = free_port()
    env = program_env(data_dir, KURA_HOST="127.0.0.1", KURA_PORT=str(port), **extra)
    return start("kura-api", [str(BIN / "kura-api")], env=env, log_dir=log_dir, port=port)


def start_ceiling(log_dir: Path) -> Process:
    port = free_port()
    argv = [sys.executable, "-m", "bench.ceiling", "--port", str(port)]
    env = program_env(log_dir, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return start("ceiling", argv, env=env, log_dir=log_dir, port=port, poll_path="/")


def run_timed(argv: list[str], *, env: dict[str, str], log_path: Path, stdin: Path | None = None) -> dict:
    """Run a command to completion: wall seconds, peak RSS (from wait4's rusage) and exit code."""
    with open(log_path, "ab") as log, open(stdin or os.devnull, "rb") as source:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=source, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "exit": proc.returncode,
            "cpu_seconds": usage.ru_utime + usage.ru_stime}
