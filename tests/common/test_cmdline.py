"""Every Kura program answers `--help` and `--version` and refuses an unknown argument in one line,
without starting anything: each is run as the installed console script, with a timeout, so a
program that started its server or daemon instead fails the test rather than hanging it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.cmdline import version_line

PROGRAMS = ["kura", "kura-api", "kura-backup", "kura-monitor"]
BIN = Path(sys.executable).parent  # the virtualenv's bin, where `pip install` put the console scripts


def run(program: str, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KURA_DATA_DIR": str(data_dir)}
    return subprocess.run([str(BIN / program), *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30, check=False)


@pytest.mark.parametrize("program", PROGRAMS)
def test_help_describes_the_program_and_starts_nothing(program: str, tmp_path: Path) -> None:
    done = run(program, "--help", data_dir=tmp_path / "data")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"usage: {program} [-h] [--version]")
    assert "KURA_* environment variables" in done.stdout
    assert not (tmp_path / "data").exists()  # no database, no metrics file: nothing ran


@pytest.mark.parametrize("program", PROGRAMS)
def test_version_prints_one_line_and_starts_nothing(program: str, tmp_path: Path) -> None:
    done = run(program, "--version", data_dir=tmp_path / "data")
    assert (done.returncode, done.stdout, done.stderr) == (0, version_line() + "\n", "")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(("program", "args"), [
    ("kura", ["user", "list", "--frobnicate"]),
    ("kura-api", ["--frobnicate"]),
    ("kura-backup", ["list", "--frobnicate"]),
    ("kura-monitor", ["--frobnicate"]),
])
def test_an_unknown_argument_is_refused_in_one_line_with_exit_2(program: str, args: list[str],
                                                                tmp_path: Path) -> None:
    done = run(program, *args, data_dir=tmp_path / "data")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{program}: unrecognized arguments: --frobnicate (see {program} --help)\n"
    assert not (tmp_path / "data").exists()
