"""`kura-api`'s entry point (api/launch.py): no cyclic collection while the server's modules load and
the app is built; collection back on, with what start-up made frozen, before the server runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from domain import migrate
from common.db import open_database
from common.settings import load_settings
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]

# The real entry point in a fresh interpreter; the server's run() only reports what it found.
PROBE = """
import gc, importlib.abc, importlib.util, json, sys
from api import launch

collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
found = {}

def run(self):
    found.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count(), collections=len(collections),
                 jinja2="jinja2" in sys.modules)

# Replaces KuraServer.run once api.server has loaded (importing it here would load it too early).
class StopAtRun(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "api.server":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            module.KuraServer.run = run

        spec.loader.exec_module = exec_module
        return spec

if sys.argv[1] == "serve":
    sys.meta_path.insert(0, StopAtRun())
code = launch.main([])
print(json.dumps({"code": code, "server_imported": "api.server" in sys.modules, "enabled": gc.isenabled(),
                  "collections_before_run": found.get("collections", len(collections)), "at_run": found}))
"""


def launch(tmp_path: Path, mode: str, **env: str) -> dict:
    environment = {**os.environ, "KURA_DATA_DIR": str(tmp_path / "data"), "KURA_PORT": str(free_port()),
                   "PYTHONPATH": str(ROOT), **env}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], env=environment, capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_server_starts_with_no_collection_and_runs_with_its_start_up_frozen(tmp_path: Path) -> None:
    db = open_database(load_settings(data_dir=tmp_path / "data"), create=True)
    migrate.upgrade(db)
    db.dispose()
    report = launch(tmp_path, "serve")
    assert report["code"] == 0
    assert report["collections_before_run"] == 0  # importing FastAPI and building the app alone collect ~200 times
    assert report["at_run"]["enabled"] is True
    assert report["at_run"]["frozen"] > 50_000
    # The web pages' template engine loads at the first page: it was a tenth of the time to READY.
    assert report["at_run"]["jinja2"] is False


def test_a_start_that_fails_early_still_leaves_collection_on(tmp_path: Path) -> None:
    report = launch(tmp_path, "fail", KURA_PORT="seventy")
    assert report["code"] == 2
    assert report["server_imported"] is True
    assert report["collections_before_run"] == 0
    assert report["enabled"] is True
