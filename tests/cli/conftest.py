"""`kura` as a real process (`kura` fixture: exit code, stdout, stderr) on a data dir in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.process import kura_process

Run = tuple[int, str, str]


@pytest.fixture
def kura(tmp_path: Path) -> Callable[..., Run]:
    """`kura ARGS` as its own process (as an admin runs it), with this test's environment."""

    def run(*argv: str) -> Run:
        done = kura_process(tmp_path / "data", *argv)
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    return run


@pytest.fixture
def upgraded(kura: Callable[..., Run]) -> Callable[..., Run]:
    assert kura("db", "upgrade")[0] == 0
    return kura
