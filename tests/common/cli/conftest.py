"""`kura` in this process (`kura` fixture: exit code, stdout, stderr) on a data dir in tmp_path."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from loguru import logger

from common.cli import main

Run = tuple[int, str, str]


@pytest.fixture
def kura(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., Run]]:
    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "data"))

    def run(*argv: str) -> Run:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    # main() pointed loguru at this test's captured stderr, which closes now: later tests' log lines
    # would hit a closed file. Write to whatever stderr is current instead.
    logger.remove()
    logger.add(lambda message: sys.stderr.write(message))


@pytest.fixture
def upgraded(kura: Callable[..., Run]) -> Callable[..., Run]:
    assert kura("db", "upgrade")[0] == 0
    return kura
