from __future__ import annotations

from pathlib import Path

import pytest
from loguru import logger

from common.startup import boot
from tests.common.test_logging import fresh_loguru  # noqa: F401 - fixture


def test_boot_prints_one_line_naming_the_bad_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KURA_SMTP_SECURITY", "carrier-pigeon")
    assert boot("kura-x") is None
    err = capsys.readouterr().err
    assert err.startswith("kura-x: invalid configuration: KURA_SMTP_SECURITY:")
    assert err.count("\n") == 1


def test_boot_returns_the_settings_with_logging_set_up_for_the_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fresh_loguru: None
) -> None:
    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "somewhere"))
    settings = boot("kura-x")
    assert settings is not None and settings.data_dir == tmp_path / "somewhere"
    logger.info("hello from a booted program")
    assert "kura-x hello from a booted program" in capsys.readouterr().err


def test_kura_backup_exits_1_with_one_line_on_bad_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from backup.cli import main

    monkeypatch.setenv("KURA_BACKUP_KEEP_DAILY", "-3")
    assert main(["list"]) == 1
    assert capsys.readouterr().err.startswith("kura-backup: invalid configuration: KURA_BACKUP_KEEP_DAILY:")
