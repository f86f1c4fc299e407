"""The real psutil source on this host, the time box for slow probes, and the Kura process finder."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.live import LiveApi
from common.sqlite import sqlite3
from domain import migrate
from common.db import open_database
from common.settings import Settings, load_settings
from monitor import sources
from monitor.metrics import METRICS
from monitor import processes
from monitor.processes import ProcessTracker
from monitor.sources import PsutilSource, TimeBox, mountpoint

ROOT = Path(__file__).resolve().parents[2]


class Readyz(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Readyz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_psutil_source_reads_host_disks_database_and_api(tmp_path, api_url):
    settings = load_settings(data_dir=tmp_path / "data", monitor_api_url=api_url)
    settings.data_dir.mkdir(parents=True)
    settings.db_path.write_bytes(b"x" * 4096)
    source = PsutilSource(settings)
    first, second = source.read(), source.read()
    mount = mountpoint(settings.data_dir)
    assert first.get("cpu_percent") is None and not first.family("cpu_core_percent")  # psutil's made-up first figure
    assert 0 <= second.get("cpu_percent") <= 100
    assert second.get("memory_total_bytes") >= second.get("memory_available_bytes") > 0
    assert second.get("filesystem_avail_bytes", mount) > 0
    assert second.get("database_file_bytes", "kura.db") == 4096
    assert second.get("database_file_bytes", "kura.db-wal") is None  # no WAL file, no value
    assert second.get("api_up") == 1
    assert second.get("backup_fresh") == 0 and "no verified backup" in second.notes["backup"]
    assert first.get("disk_read_bytes_per_second") is None  # rates need two samples
    assert second.get("network_receive_bytes_per_second") >= 0
    assert {name for name, _ in second.values} <= METRICS.keys()


def test_api_down_reads_as_zero(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, never listening: connection refused
        assert sources.readyz_probe(url, 1.0) == {("api_up", ""): 0.0}


def test_a_hung_probe_is_missing_and_not_restarted_while_stuck():
    gate, calls = threading.Event(), []

    def hangs() -> dict:  # type: ignore[type-arg]
        calls.append(1)
        gate.wait()
        return {"late": 1}

    box = TimeBox(0.05)
    assert box.run({"hangs": hangs, "quick": lambda: 7}) == {"quick": 7}
    assert box.run({"hangs": hangs, "quick": lambda: 8}) == {"quick": 8}
    assert len(calls) == 1  # one stuck thread, not one per sample
    gate.set()
    box._stuck["hangs"].join(1)
    assert box.run({"hangs": hangs}) == {"hangs": {"late": 1}} and len(calls) == 2


def test_a_failing_probe_is_missing():
    def broken() -> None:
        raise OSError("stale NFS handle")

    assert TimeBox(1.0).run({"broken": broken, "fine": lambda: 1}) == {"fine": 1}


HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT 1").fetchone()
print("holding", flush=True)
time.sleep(60)
"""


@contextmanager
def hold_database(settings: Settings, program: str, script: str = HOLD, *args: str) -> Iterator[subprocess.Popen[str]]:
    """A process named `program` that has this installation's database open, as Kura's programs do."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with subprocess.Popen([program, "-c", script, str(settings.db_path), *args], executable=sys.executable,
                          stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
            yield proc
        finally:
            proc.kill()


def test_kura_processes_are_found_by_command_line_and_cached(tmp_path):
    now = [0.0]
    settings = load_settings(data_dir=tmp_path / "data")
    with hold_database(settings, "kura-backup") as child:
        tracker = ProcessTracker(settings, clock=lambda: now[0])
        found = tracker.read()
        assert tracker.pids("kura-backup") == {child.pid}
        assert found[("process_count", "kura-backup")] == 1
        assert found[("process_resident_memory_bytes", "kura-backup")] > 0
        assert found[("process_threads", "kura-backup")] >= 1
        now[0] += 10
        tracker.read()
        assert tracker.scans == 1  # cached between scans
        child.kill()
        child.wait()
        tracker.read()
        assert child.pid not in tracker.pids("kura-backup")
        now[0] += processes.RESCAN_S
        tracker.read()
        assert tracker.scans == 2


# Holds the database and 96 MiB more, resident: a file's pages through a memory map (as the backup
# reads its copy), or memory of its own.
HOLD_AND_FILL = """
import mmap, sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT 1").fetchone()
size = 96 << 20
if sys.argv[2] == "mapped":
    with open(sys.argv[1] + ".scratch", "w+b") as f:
        f.truncate(size)
        kept = mmap.mmap(f.fileno(), size)
else:
    kept = bytearray(size)
kept[::4096] = b"x" * (size // 4096)  # every page touched: resident now
print("holding", flush=True)
time.sleep(60)
"""
FILLED = 96 << 20


@pytest.mark.parametrize("kind", ["mapped", "own"])
def test_a_programs_own_memory_leaves_out_the_files_it_maps(tmp_path, kind):
    settings = load_settings(data_dir=tmp_path / "data")
    with hold_database(settings, "kura-backup", HOLD_AND_FILL, kind):
        found = ProcessTracker(settings).read()
    resident = found[("process_resident_memory_bytes", "kura-backup")]
    private = found[("process_private_memory_bytes", "kura-backup")]
    assert resident > FILLED
    if kind == "mapped":
        assert private < resident - FILLED
    else:
        assert private > FILLED


HOLD_LATER = """
import sqlite3, sys, time
print("started", flush=True)
sys.stdin.readline()
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT 1").fetchone()
print("holding", flush=True)
time.sleep(60)
"""


def test_a_kura_api_that_opens_our_database_after_the_scan_is_counted_at_the_next_sample(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    sqlite3.connect(settings.db_path).close()
    with subprocess.Popen(["kura-api", "-c", HOLD_LATER, str(settings.db_path)], executable=sys.executable,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as api:
        try:
            assert api.stdout is not None and api.stdin is not None and api.stdout.readline().strip() == "started"
            tracker = ProcessTracker(settings, clock=lambda: 0.0)
            tracker.read()
            assert api.pid not in tracker.pids("kura-api")  # started, but holds nothing of ours yet
            api.stdin.write("go\n")
            api.stdin.flush()
            assert api.stdout.readline().strip() == "holding"
            found = tracker.read()
            assert tracker.pids("kura-api") == {api.pid} and found[("process_count", "kura-api")] == 1
            assert tracker.scans == 1  # without a full rescan
        finally:
            api.kill()


def migrated(data_dir: Path) -> Settings:
    settings = load_settings(data_dir=data_dir)
    database = open_database(settings, create=True)
    migrate.upgrade(database)
    database.dispose()
    return settings


def test_another_checkouts_kura_api_is_not_counted_as_ours(tmp_path):
    ours, theirs = (LiveApi(migrated(tmp_path / name).data_dir, tmp_path / f"{name}.log", measured=False)
                    for name in ("ours", "theirs"))
    try:
        ours.start()
        theirs.start()
        tracker = ProcessTracker(load_settings(data_dir=ours.data_dir))
        found = tracker.read()
        assert tracker.pids("kura-api") == {ours.proc.pid}
        assert found[("process_count", "kura-api")] == 1
    finally:
        ours.stop()
        theirs.stop()


HOLD_RUN_LOCK = """
import sys, time
from pathlib import Path
from backup.files import ensure_dir, run_lock
with run_lock(ensure_dir(Path(sys.argv[1]))):
    print("holding", flush=True)
    time.sleep(60)
"""


def test_a_backup_run_counts_while_it_holds_the_run_lock_without_the_database_open(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    # Named kura-backup, Python finds no venv beside that name: hand it this interpreter's path.
    with subprocess.Popen(["kura-backup", "-c", HOLD_RUN_LOCK, str(settings.backups_path)], executable=sys.executable,
                          cwd=ROOT, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}) as run:
        try:
            assert run.stdout is not None and run.stdout.readline().strip() == "holding"
            tracker = ProcessTracker(settings)
            tracker.read()
            assert tracker.pids("kura-backup") == {run.pid}
        finally:
            run.kill()


def test_a_process_named_like_kura_without_our_files_is_not_counted(tmp_path):
    with hold_database(load_settings(data_dir=tmp_path / "elsewhere"), "kura-monitor") as stranger:
        tracker = ProcessTracker(load_settings(data_dir=tmp_path / "data"))
        tracker.read()
        assert stranger.pid not in tracker.pids("kura-monitor")


@pytest.mark.parametrize(("name", "cmdline", "program"), [
    ("kura-api", [], "kura-api"),
    ("python3.11", ["/srv/kura/.venv/bin/python", "/srv/kura/.venv/bin/kura-monitor"], "kura-monitor"),
    ("python3.11", ["python", "-m", "pytest"], None),
    ("bash", ["bash", "-c", "echo kura-api"], None),
])
def test_program_names_are_matched_narrowly(name, cmdline, program):
    assert processes.program_of(name, cmdline) == program


def test_a_fresh_verified_backup_reads_as_fresh(settings, db):
    from backup.job import run_job
    from backup.status import newest_verified_backup

    run_job(settings)
    values, message = sources.backup_probe(settings)
    assert values[("backup_fresh", "")] == 1
    newest = newest_verified_backup(settings)
    assert newest is not None
    assert values[("backup_last_success_timestamp_seconds", "")] == newest.created_at.timestamp()
    assert "limit 26 h" in message


# Audit hooks cannot be removed, so one hook for the module, recording only while a list is set.
_opened: list[str] | None = None


def _record_opens(event: str, args: tuple) -> None:  # type: ignore[type-arg]
    if event == "open" and _opened is not None:
        _opened.append(str(args[0]))


sys.addaudithook(_record_opens)


def test_a_backup_check_reads_each_manifest_once(settings, db):
    global _opened
    from backup.job import run_job
    from backup.manifest import MANIFEST_SUFFIX

    for _ in range(3):
        run_job(settings, keep=True)  # kept: retention would prune all but the newest of three alike
    manifests = sorted(str(p) for p in settings.backups_path.glob(f"*{MANIFEST_SUFFIX}"))
    assert len(manifests) == 3
    _opened = []
    try:
        values, _ = sources.backup_probe(settings)
        opened = sorted(path for path in _opened if path.endswith(MANIFEST_SUFFIX))
    finally:
        _opened = None
    assert values[("backup_fresh", "")] == 1
    assert opened == manifests  # each opened once, not once for the staleness and again for the newest


@pytest.mark.parametrize(("cgroup", "program"), [
    ("0::/system.slice/kura-api.service\n", "kura-api"),
    ("12:pids:/system.slice/kura-backup.service\n0::/system.slice/kura-backup.service\n", "kura-backup"),
    ("0::/system.slice/kura-notify-failure@kura-api.service.service\n", None),
    ("0::/user.slice/user-1000.slice/session-2.scope\n", None),
    ("", None),
])
def test_processes_in_a_kura_units_cgroup_count_as_that_program(cgroup, program):
    assert processes.program_of_cgroup(cgroup) == program
