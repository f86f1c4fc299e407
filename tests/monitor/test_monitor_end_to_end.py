"""kura-monitor and kura-api as real processes: the monitor probes the API, the API serves the samples."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from domain import accounts, migrate
from common.db import open_database
from common.settings import load_settings
from tests.support import free_port

BIN = Path(sys.executable).parent


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def wait_until(check, timeout_s: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_monitor_probes_the_running_api_and_the_api_serves_its_samples(tmp_path):
    data, port = tmp_path / "data", free_port()
    settings = load_settings(data_dir=data)
    db = open_database(settings, create=True)
    try:
        migrate.upgrade(db)
        with db.write_session() as session:
            user = accounts.create_user(session, name="root", is_admin=True)
            _, token = accounts.create_token(session, user_id=user.id, label="scrape")
    finally:
        db.dispose()
    env = {**os.environ, "KURA_DATA_DIR": str(data), "KURA_PORT": str(port), "KURA_MONITOR_INTERVAL": "0.2",
           "KURA_MONITOR_API_URL": f"http://127.0.0.1:{port}"}
    base = f"http://127.0.0.1:{port}"
    api = subprocess.Popen([str(BIN / "kura-api")], env=env, stderr=subprocess.DEVNULL)
    monitor = subprocess.Popen([str(BIN / "kura-monitor")], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: get(f"{base}/readyz")[0] == 200)

        def scraped():  # type: ignore[no-untyped-def]
            status, body = get(f"{base}/metrics", token)
            got = {f.name: f for f in text_string_to_metric_families(body)} if status == 200 else {}
            up = got.get("kura_api_up")
            return got if up and up.samples[0].value == 1 and "kura_process_resident_memory_bytes" in got else None

        got = wait_until(scraped)
        programs = {s.labels["program"] for s in got["kura_process_resident_memory_bytes"].samples}
        assert {"kura-api", "kura-monitor"} <= programs
        assert got["kura_database_file_bytes"].samples
        status, body = get(f"{base}/api/v1/system/metrics?metric=api_up", token)
        assert status == 200 and '"resolution":"raw"' in body
    finally:
        stop(monitor)
        stop(api)
    assert monitor.returncode == 0 and api.returncode == 0
