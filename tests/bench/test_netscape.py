"""The generated Netscape file is one Kura's own importer reads whole, folders included."""

from __future__ import annotations

from pathlib import Path

from bench import datagen, netscape
from common.db import open_database
from common.settings import load_settings
from domain.transfer.importer import import_file


def test_the_netscape_file_imports_every_bookmark_with_nested_folders(tmp_path: Path) -> None:
    source = tmp_path / "bookmarks.html"
    assert netscape.write(source, count=300, tags=30) == 300
    _, users = datagen.create_users(tmp_path / "data", [("bench", 0)])
    db = open_database(load_settings(data_dir=tmp_path / "data"))
    try:
        with open(source, "rb") as handle:
            result = import_file(db, user_id=users[0]["id"], source=handle)
        with db.engine.connect() as conn:
            nested = conn.exec_driver_sql("SELECT count(*) FROM collections c JOIN collections p"
                                          " ON p.id = c.parent_id WHERE p.parent_id IS NOT NULL").scalar()
            tagged = conn.exec_driver_sql("SELECT count(DISTINCT bookmark_id) FROM bookmark_tags").scalar()
    finally:
        db.dispose()
    assert (result.created, result.skipped) == (300, 0)
    assert nested > 0 and tagged == 300
