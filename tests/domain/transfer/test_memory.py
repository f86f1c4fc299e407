"""A Kura JSON import is streamed: its peak memory does not follow the file's size (issue 12, defect 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from common.db import Database
from common.settings import Settings

FILE_MIB = 32
RSS_GROWTH_MAX_MB = 100

# The peak is the kernel's high-water mark of this process's resident memory (VmHWM), reset to the
# current size just before the import: ru_maxrss would not do, as a child starts with its parent's
# (pytest's) high-water mark on Linux.
MEASURED_IMPORT = textwrap.dedent("""
    import gc, json, sys
    from pathlib import Path
    from common.db import open_database
    from common.settings import load_settings
    from domain.transfer import import_file

    def kib(field):
        line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field))
        return int(line.split()[1])

    db = open_database(load_settings(data_dir=sys.argv[1]))
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # "reset the peak resident set size"
    before = kib("VmRSS:")
    with open(sys.argv[2], "rb") as source:
        result = import_file(db, user_id=int(sys.argv[3]), source=source)
    print(json.dumps({"growth_mb": (kib("VmHWM:") - before) / 1024, "before_mb": before / 1024,
                      "created": result.created, "skipped": result.skipped}))
""")


def write_big_export(path: Path, *, mib: int) -> int:
    """A Kura export of about `mib` MiB: half good bookmarks, half broken ones, 1 KB of text each."""
    filler = "lorem ipsum dolor sit amet " * 40
    count = 0
    with open(path, "wb") as out:
        out.write(b'{"format": "kura-bookmarks", "version": 2, "tags": [], "collections": [], "bookmarks": [')
        while out.tell() < mib << 20:
            url = f"https://big.example/{count}" if count % 2 == 0 else f"not a url {count}"
            out.write((b"," if count else b"") + orjson.dumps({"url": url, "title": f"t{count}",
                                                              "description": filler, "tags": ["big"]}))
            count += 1
        out.write(b"]}")
    return count


@pytest.mark.slow
def test_a_32_mib_json_import_grows_the_process_by_less_than_100_mb(db: Database, settings: Settings, alice,
                                                                   tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    count = write_big_export(big, mib=FILE_MIB)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    run = subprocess.run([sys.executable, "-c", MEASURED_IMPORT, str(settings.data_dir), str(big),
                          str(alice.user_id)], capture_output=True, env=env, timeout=600, check=True)
    got = json.loads(run.stdout.decode().strip().splitlines()[-1])
    assert (got["created"], got["skipped"]) == ((count + 1) // 2, count // 2)
    print(f"\n{FILE_MIB} MiB JSON import: {got}")
    assert got["growth_mb"] < RSS_GROWTH_MAX_MB, got
