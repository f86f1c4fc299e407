"""`kura` as its own process, as an admin, a pipe or the unit's ExecStartPre runs it."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def kura_process(data_dir: Path, *args: str, stdin: object = subprocess.DEVNULL,
                 extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "KURA_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT), **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "cli", *args], env=env, cwd=ROOT, stdin=stdin,
                          capture_output=True, timeout=60, check=False)


def only_line(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode()
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def kura_on_a_terminal(data_dir: Path, *args: str, typed: bytes) -> subprocess.CompletedProcess[bytes]:
    """`kura` with a terminal as standard input on which the person has typed ``typed``."""
    master, slave = pty.openpty()
    try:
        os.write(master, typed)  # waits in the terminal's line buffer until kura reads it
        return kura_process(data_dir, *args, stdin=slave)
    finally:
        os.close(slave)
        os.close(master)
