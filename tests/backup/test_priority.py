"""The backup's work runs at idle priority, on its own threads only, and the bench runs the job the
way its systemd unit does."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

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


def test_a_busy_host_lets_one_piece_run_at_a_time_and_the_next_starts_when_it_ends() -> None:
    share = priority.CpuShare(2)
    share.observe(others=1.0, now=0.0)
    first_in, second_in, release = threading.Event(), threading.Event(), threading.Event()

    def work(entered: threading.Event) -> None:
        with share.piece():
            entered.set()
            release.wait(30)

    first = threading.Thread(target=work, args=(first_in,))
    first.start()
    assert first_in.wait(30)
    second = threading.Thread(target=work, args=(second_in,))
    second.start()
    assert not second_in.wait(0.3) and share.running == 1  # it waits for the share, not for a core
    release.set()
    first.join(30)
    assert second_in.wait(30)
    second.join(30)
    assert share.running == 0


def test_a_quiet_host_gets_all_pieces_back_only_after_it_stayed_quiet() -> None:
    share = priority.CpuShare(2)
    assert share.allowed == 2
    share.observe(others=priority.BUSY_CORES, now=0.0)
    assert share.allowed == 1
    share.observe(others=0.05, now=1.0)
    share.observe(others=0.05, now=1.0 + priority.QUIET_S - 0.01)
    assert share.allowed == 1
    share.observe(others=0.6, now=3.5)  # busy again: the quiet time starts over
    share.observe(others=0.0, now=4.0)
    share.observe(others=0.0, now=4.0 + priority.QUIET_S)
    assert share.allowed == 2


def test_widening_lets_a_waiting_piece_start() -> None:
    share = priority.CpuShare(2)
    share.observe(others=2.0, now=0.0)
    started = threading.Event()

    def wait_for_a_share() -> None:
        with share.piece():
            started.set()

    with share.piece():
        waiting = threading.Thread(target=wait_for_a_share)
        waiting.start()
        assert not started.wait(0.3)
        share.observe(others=0.0, now=1.0)
        share.observe(others=0.0, now=1.0 + priority.QUIET_S)
        assert started.wait(30)  # while the first piece still runs
    waiting.join(30)


def test_the_jobs_own_work_never_narrows_its_share() -> None:
    samples = []

    def host_is_only_this_process() -> float:  # every CPU second the host counts is the job's own
        samples.append(time.process_time())
        return samples[-1]

    with priority.CpuShare(2, read=host_is_only_this_process) as share:
        deadline = time.monotonic() + 60
        while len(samples) < 5 and time.monotonic() < deadline:
            pass  # a busy core, all of it this process's
        assert share.allowed == 2
    assert len(samples) >= 5 and samples[-1] - samples[0] > 0.2


def test_another_process_keeping_a_core_busy_narrows_the_share() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with priority.CpuShare(2) as share:
            deadline = time.monotonic() + 30
            while share.allowed != 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert share.allowed == 1
    finally:
        spinner.kill()
        spinner.wait()


def test_without_proc_stat_the_share_stays_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    def hidden() -> None:  # what a unit with ProcSubset=pid leaves: no /proc/stat
        raise FileNotFoundError(2, "No such file or directory", "/proc/stat")

    monkeypatch.setattr(psutil, "cpu_times", hidden)
    assert priority.host_cpu_seconds() is None
    with priority.CpuShare(2) as share:
        share._sampler.join(30)
        assert not share._sampler.is_alive() and share.allowed == 2
