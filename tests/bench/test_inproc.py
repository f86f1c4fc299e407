import asyncio
from pathlib import Path

from bench import datagen, inproc


def test_inproc_measures_every_read_case_and_the_ceiling(tmp_path: Path) -> None:
    spec = datagen.Spec(main_bookmarks=60, other_users=1, other_bookmarks=20, tags=10)
    source, meta = datagen.cached(spec, tmp_path / "cache")
    datagen.copy_database(source, tmp_path / "work")
    figures = asyncio.run(inproc.measure(tmp_path / "work", meta, n=3))
    assert set(figures) == {"ceiling", "list_newest_50", "list_newest_50_304", "list_two_tags", "search_common",
                            "search_rare", "search_phrase", "get_one"}
    assert all(value > 0 for value in figures.values())
