"""Backups taken while another PROCESS keeps writing, and `kura-backup run` killed at any moment."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backup.manifest import DATA_SUFFIX, Entry, list_backups, manifest_path_for
from backup.pipeline import run_backup
from backup.verify import verify_file
from common.db import Database
from common.files import is_temp
from common.settings import Settings
from tests.backup.conftest import KURA_BACKUP, ROOT, add_bookmarks, backup_env, open_backup
from tests.doubles import NotifySocket

STAGES = ["snapshot", "compress", "verify", "publish", "prune"]

WRITER = """
import sys
from common.db import open_database
from domain.models import Bookmark, User
from common.settings import load_settings

db = open_database(load_settings(data_dir=sys.argv[1]), pool_size=1)
with db.write_session() as s:
    user = User(name="writer"); s.add(user); s.flush(); uid = user.id
i = 0
while True:
    i += 1
    with db.write_session() as s:
        row = Bookmark(user_id=uid, url=f"https://w.example/{i}", description="x" * 200)
        s.add(row); s.flush(); rid = row.id
    print(rid, flush=True)  # acknowledged: committed before this line is written
"""


class Acks:
    """Reads the writer's acknowledged ids as they arrive."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.ids: list[int] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self.cond:
                self.ids.append(int(line))
                self.cond.notify_all()

    def wait_for_more(self, than: int) -> list[int]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.ids) > than, timeout=30), "writer stopped acknowledging"
            return list(self.ids)


def test_backup_under_continuous_writes_holds_every_acknowledged_row(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    errors = tmp_path / "writer.err"
    with open(errors, "w") as err, subprocess.Popen(
        [sys.executable, "-c", WRITER, str(settings.data_dir)], cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True
    ) as writer:
        try:
            acks = Acks(writer)
            seen = 0
            for round_no in range(6):
                acknowledged = acks.wait_for_more(seen + 20)
                entry = run_backup(settings).entry  # verified: integrity, row counts, newest bookmark
                copy = open_backup(entry.data_path, tmp_path / f"copy{round_no}.db")
                ids = {r[0] for r in copy.execute("SELECT id FROM bookmarks")}
                copy.close()
                assert set(acknowledged) <= ids
                seen = len(acks.wait_for_more(len(acknowledged)))  # and the writer kept going
            assert writer.poll() is None, errors.read_text()
        finally:
            writer.kill()
            writer.wait()
    assert errors.read_text() == ""


def _final_backups_are_complete(directory: Path, tmp_path: Path) -> int:
    checked = 0
    for data in directory.glob(f"*{DATA_SUFFIX}"):
        if is_temp(data):
            continue
        if manifest_path_for(data).exists():
            verify_file(data)
        else:  # renamed but killed before the manifest: still complete, and swept by the next run
            open_backup(data, tmp_path / f"check-{checked}.db").close()
        checked += 1
    return checked


def _first_survives_or_a_newer_backup_replaced_it(directory: Path, first: Entry) -> None:
    """The stage named in the last STATUS is only where the run WAS: on a busy machine it may have
    published and pruned before the kill landed, and pruning `first` then is retention doing its job.
    What must hold is that `first` goes only after a newer verified backup is complete beside it."""
    entries = list_backups(directory)
    if first.data_path in [e.data_path for e in entries]:
        return
    assert any(e.created_at > first.created_at and e.manifest.verified for e in entries), entries


@pytest.mark.slow  # one fresh interpreter per kill
def test_sigkill_at_any_stage_leaves_only_complete_backups(
    settings: Settings, db: Database, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    add_bookmarks(db, 1500, text_size=200)
    first = run_backup(settings).entry
    rng = random.Random(4)
    killed_at = []
    for target in STAGES:
        proc = subprocess.Popen([*KURA_BACKUP, "run"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=backup_env(settings, NOTIFY_SOCKET=notify_socket.address))
        reached = f"STATUS=backup: {target}"
        msg = notify_socket.wait_for(lambda m: m == reached or "failed" in m, timeout_s=30)
        assert msg == reached, msg
        time.sleep(rng.uniform(0, 0.03))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        notify_socket.drain()  # what the killed run said after `reached` must not steer the next kill
        killed_at.append(target)
        assert _final_backups_are_complete(settings.backups_path, tmp_path) >= 1
        _first_survives_or_a_newer_backup_replaced_it(settings.backups_path, first)
    assert killed_at == STAGES
    after = run_backup(settings).entry
    assert not [p for p in settings.backups_path.iterdir() if is_temp(p)]
    assert after.data_path in [e.data_path for e in list_backups(settings.backups_path)]
