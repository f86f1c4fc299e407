"""The backup figures: `kura-backup run` on the big database (seconds, MB/s, peak RSS), `cp` + fsync of
the same file as the ceiling, and the API's create p99 with and without a backup running.

The job runs at the priority its systemd unit gives it (Nice=, CPUSchedulingPolicy=,
IOSchedulingClass=, applied with nice, chrt and ionice): a backup at the shell's priority is not the
one that runs at night, and on a small host the difference is most of the API's p99 during a backup."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from bench import cases as case_defs
from bench import datagen, load, servers
from common.files import fsync_file

UNIT = Path(__file__).resolve().parents[1] / "deploy" / "systemd" / "kura-backup.service"
CHRT = {"other": "--other", "batch": "--batch", "idle": "--idle"}
IONICE = {"realtime": "1", "best-effort": "2", "idle": "3"}


def unit_priority(unit: Path = UNIT) -> list[str]:
    """The unit's scheduling settings as a command prefix: ``nice -n N chrt --POLICY 0 ionice -c C``."""
    found = dict(line.split("=", 1) for line in unit.read_text().splitlines()
                 if line.startswith(("Nice=", "CPUSchedulingPolicy=", "IOSchedulingClass=")))
    prefix = []
    if "Nice" in found:
        prefix += ["nice", "-n", found["Nice"]]
    if "CPUSchedulingPolicy" in found:
        prefix += ["chrt", CHRT[found["CPUSchedulingPolicy"]], "0"]
    if "IOSchedulingClass" in found:
        prefix += ["ionice", "-c", IONICE[found["IOSchedulingClass"]]]
    return prefix


def backup_argv(priority: list[str]) -> list[str]:
    return [*priority, str(servers.BIN / "kura-backup"), "run"]


def copy_ceiling(source: Path, work: Path) -> dict:
    """What the disk allows: cp of the same file, then fsync it (the backup job fsyncs too)."""
    target = work / "cp-ceiling.db"
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    subprocess.run(["sync", str(target)], check=True)
    seconds = time.perf_counter() - started
    target.unlink()
    return {"seconds": seconds, "mb_per_s": source.stat().st_size / 1e6 / seconds}


def run_backup(data_dir: Path, log_dir: Path, priority: list[str]) -> dict:
    env = servers.program_env(data_dir)
    # nice, chrt and ionice exec the job in place: wait4's rusage is still the job's own.
    figures = servers.run_timed(backup_argv(priority), env=env, log_path=log_dir / "backup.log")
    if figures["exit"] != 0:
        tail = (log_dir / "backup.log").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"kura-backup run exited {figures['exit']}:\n{tail}")
    return figures


def _backup_size(data_dir: Path) -> int:
    listed = subprocess.run([str(servers.BIN / "kura-backup"), "list", "--json"], capture_output=True, text=True,
                            env=servers.program_env(data_dir), check=True)
    rows = json.loads(listed.stdout)
    return int(rows[-1]["size_bytes"]) if rows else 0


def write_p99(data_dir: Path, log_dir: Path, meta: dict, seconds: float, priority: list[str]) -> dict:
    """Create p99 at 4 connections alone, then while `kura-backup run` works on the same database."""
    api = servers.start_api(data_dir, log_dir)
    create = next(c for c in case_defs.load_cases(meta) if c.kind == "create")
    url = f"http://127.0.0.1:{api.port}{case_defs.PREFIX}/bookmarks"

    def measure(tag: str) -> dict:
        params = case_defs.wrk_params(create, meta, run_id=f"backup-{tag}-{time.time_ns()}")
        return load.run_wrk(url, params=params, connections=4, seconds=seconds)

    try:
        alone = measure("alone")
        env = servers.program_env(data_dir)
        with open(log_dir / "backup-under-load.log", "ab") as log:
            backup = subprocess.Popen(backup_argv(priority), env=env, stdout=log, stderr=subprocess.STDOUT)
            during = measure("during")
            still_running = backup.poll() is None
            backup.wait()
    finally:
        api.stop()
    return {"write_p99_alone_ms": alone["p99_ms"], "write_p99_during_ms": during["p99_ms"],
            "write_p99_ratio": during["p99_ms"] / alone["p99_ms"] if alone["p99_ms"] else None,
            "write_errors_during": during["errors"], "backup_outlasted_load": still_running,
            "backup_exit_under_load": backup.returncode}


def bench_backup(source: Path, meta: dict, work: Path) -> dict:
    data_dir = work / "data"
    db_path = datagen.copy_database(source, data_dir)
    # On disk before anything is timed: left dirty, the fresh 1.2 GB copy was written back by the kernel
    # 30 s later, in the middle of whichever figure was being taken (a host's database is not dirty).
    fsync_file(db_path)
    size = db_path.stat().st_size
    priority = unit_priority()
    figures = run_backup(data_dir, work, priority)
    result = {"priority": " ".join(priority), "db_mb": round(size / 1e6, 1), "seconds": figures["seconds"],
              "mb_per_s": size / 1e6 / figures["seconds"], "peak_rss_mb": figures["peak_rss_mb"],
              "cpu_seconds": figures["cpu_seconds"], "compressed_mb": round(_backup_size(data_dir) / 1e6, 1)}
    ceiling = copy_ceiling(db_path, work)
    result.update(cp_seconds=ceiling["seconds"], cp_mb_per_s=ceiling["mb_per_s"],
                  ratio_to_cp=figures["seconds"] / ceiling["seconds"])
    # Load for most of a backup's length, so the p99 "during" really is during.
    load_seconds = max(3.0, min(30.0, figures["seconds"] * 0.8))
    result.update(write_p99(data_dir, work, meta, load_seconds, priority), load_seconds=load_seconds)
    return result
