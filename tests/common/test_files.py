"""Safe file writes on a real directory: complete or absent, private, and no temp file left behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from common.files import is_temp, publish, remove_quietly, temp_path, write_atomic


def test_a_written_file_appears_whole_and_readable_by_its_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "figures.json"
    write_atomic(target, b'{"requests": 1}\n')
    assert target.read_bytes() == b'{"requests": 1}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["figures.json"]


def test_a_second_write_replaces_the_first_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "figures.json"
    write_atomic(target, b"old")
    inode = target.stat().st_ino
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_ino != inode  # a new file renamed over the old, never the old rewritten in place


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "figures.json"
    write_atomic(target, b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["figures.json"]


def test_a_rename_that_fails_removes_the_temp_file(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # a directory under the final name: os.replace refuses
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path / "taken", b"data")
    assert not [p for p in tmp_path.iterdir() if is_temp(p)]


def test_temp_names_are_recognised_and_unique_per_call(tmp_path: Path) -> None:
    first, second = temp_path(tmp_path, "out.json"), temp_path(tmp_path, "out.json")
    assert first != second and first.parent == tmp_path
    assert is_temp(first) and first.name.endswith("-out.json")
    assert not is_temp(tmp_path / "out.json")


def test_publish_moves_a_finished_temp_file_into_place(tmp_path: Path) -> None:
    temp = temp_path(tmp_path, "export.html")
    temp.write_bytes(b"<html>")
    publish(temp, tmp_path / "export.html")
    assert not temp.exists() and (tmp_path / "export.html").read_bytes() == b"<html>"


def test_removing_files_that_are_already_gone_is_no_error(tmp_path: Path) -> None:
    there = tmp_path / "there"
    there.write_bytes(b"x")
    remove_quietly(there, tmp_path / "never")
    assert not there.exists()
