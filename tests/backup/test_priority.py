"""The backup's work runs at idle priority, on its own threads only, and the bench runs the job the
way its systemd unit does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import psutil
import pytest

from backup import priority
from backup.pipeline import run_backup
from bench.backup_bench import UNIT, unit_priority
from common.db import Database
from common.settings import Settings


def _mine() -> tuple[int, int]:
    """(CPU scheduling policy, I/O class) of the calling thread."""
    return os.sched_getscheduler(0), psutil.Process(threading.get_native_id()).ionice().ioclass


def test_compression_and_checks_run_at_idle_priority_while_the_caller_keeps_its_own(
    settings: Settings, db: Database, populated: list[int]
) -> None:
    before = _mine()
    seen: dict[str, tuple[int, int]] = {}
    run_backup(settings, hook=lambda stage: seen.setdefault(stage, _mine()))
    idle = (os.SCHED_IDLE, psutil.IOPRIO_CLASS_IDLE)
    assert seen["compress"] == idle and seen["verify"] == idle
    # The snapshot holds a read transaction on the live database: it runs at the caller's priority.
    assert seen["snapshot"] == before
    assert _mine() == before != idle  # never left behind on the test's (or a shell's) own thread


def test_a_refused_priority_change_is_no_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:  # what the unit's SystemCallFilter answers: EPERM
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    assert priority.lower_this_thread() is False


def test_the_bench_runs_the_backup_at_the_priority_its_unit_sets() -> None:
    prefix = unit_priority()
    assert prefix == ["nice", "-n", "19", "chrt", "--idle", "0", "ionice", "-c", "3"], UNIT.read_text()
    probe = "import os, psutil; print(os.sched_getscheduler(0), int(psutil.Process().ionice().ioclass))"
    out = subprocess.run([*prefix, sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(os.SCHED_IDLE), str(int(psutil.IOPRIO_CLASS_IDLE))]
