"""Small helpers shared by test suites (fixtures live in conftest.py files, the stand-ins for SMTP,
sd_notify and Sentry in doubles.py; a real kura-api process for end-to-end tests is bench/live.py's
LiveApi, shared with the drills in bench/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from backup.manifest import MANIFEST_SUFFIX
from bench.servers import free_port

__all__ = ["count_manifest_reads", "free_port", "program"]


def program(name: str) -> str:
    """The path of a program from Debian's packages that `./install.sh --dev` installs for the tests.
    Missing, the test fails where apt-get could have installed it (root), and skips only elsewhere."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        pytest.fail(f"{name} is missing although apt-get could install it: run ./install.sh --dev")
    pytest.skip(f"{name} is not installed and cannot be here (needs root and apt-get): sudo apt-get install {name}")


def count_manifest_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The manifests read, through the real Path.read_bytes."""
    read: list[str] = []
    real = Path.read_bytes

    def counting(path: Path) -> bytes:
        if path.name.endswith(MANIFEST_SUFFIX):
            read.append(path.name)
        return real(path)

    monkeypatch.setattr(Path, "read_bytes", counting)
    return read
