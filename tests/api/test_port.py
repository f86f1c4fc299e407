"""A second `kura-api` on a port that is taken says so in one line naming KURA_PORT (real processes)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.port import busy_port_message
from bench.live import BIN, ROOT, LiveApi, make_token
from tests.support import free_port


@pytest.fixture
def running_api(tmp_path: Path) -> Iterator[LiveApi]:
    make_token(tmp_path / "data")
    api = LiveApi(tmp_path / "data", tmp_path / "first.log", measured=False)
    api.start()
    yield api
    api.stop()


@pytest.mark.slow
def test_a_second_api_on_a_busy_port_names_kura_port_in_one_line(running_api: LiveApi) -> None:
    second = subprocess.run([str(BIN / "kura-api")], env=running_api.environment(), cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    last = second.stderr.strip().splitlines()[-1]
    assert last == (f"kura-api: port {running_api.port} on 127.0.0.1 is already in use (is another kura-api "
                    f"running?): stop it, or pick another port with KURA_PORT, e.g. KURA_PORT={running_api.port + 1} "
                    "kura-api")
    assert "Traceback" not in second.stderr and "Errno" not in second.stderr
    assert running_api.exited() is None  # the first one serves on, untouched


def test_a_free_port_has_no_message() -> None:
    assert busy_port_message("127.0.0.1", free_port()) is None


def test_a_host_that_does_not_resolve_is_left_to_uvicorn() -> None:
    assert busy_port_message("no-such-host.invalid", free_port()) is None
