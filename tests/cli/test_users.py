"""`kura user …` and `kura token …`: accounts, names checked as the API checks them, and a removal
that says what goes and asks first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.sqlite import sqlite3
from domain.models import NAME_MAX
from tests.cli.process import kura_on_a_terminal, kura_process, only_line


def rows(listing: str) -> list[list[str]]:
    header, *lines = listing.splitlines()
    return [line.split("\t") for line in lines]


def test_users_are_added_listed_under_a_header_and_removed(upgraded) -> None:  # type: ignore[no-untyped-def]
    assert upgraded("user", "add", "alice", "--admin")[1].startswith("created user alice (id 1, admin)")
    assert upgraded("user", "add", "bob")[1].startswith("created user bob (id 2)")
    listed = upgraded("user", "list")[1]
    assert listed.splitlines()[0].split("\t") == ["ID", "NAME", "ROLE", "CREATED"]
    assert [row[1:3] for row in rows(listed)] == [["alice", "admin"], ["bob", "user"]]
    assert upgraded("user", "remove", "bob", "--yes")[1] == "removed user bob and their 0 bookmarks\n"
    assert [row[1] for row in rows(upgraded("user", "list")[1])] == ["alice"]


def test_tokens_are_created_once_listed_under_a_header_and_revoked(upgraded) -> None:  # type: ignore[no-untyped-def]
    upgraded("user", "add", "alice")
    code, out, err = upgraded("token", "create", "alice", "--label", "laptop")
    token = out.strip()
    assert code == 0 and len(token) >= 40 and "\n" not in token
    assert "shown only once" in err and token not in err
    listed = upgraded("token", "list", "--user", "alice")[1]
    assert listed.splitlines()[0].split("\t") == ["ID", "USER", "LABEL", "STATE", "LAST USED", "EXPIRES"]
    assert rows(listed)[0][1:] == ["alice", "laptop", "active", "never", "never"] and token not in listed
    token_id = rows(listed)[0][0]
    assert upgraded("token", "revoke", token_id)[1].strip() == f"revoked token {token_id}"
    assert rows(upgraded("token", "list")[1])[0][3].startswith("revoked ")


def test_a_token_may_expire_and_the_list_shows_when_and_whether_it_has(upgraded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    upgraded("user", "add", "alice")
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    code, _, err = upgraded("token", "create", "alice", "--label", "ci", "--expires", "90d")
    assert code == 0 and "), expires " in err
    upgraded("token", "create", "alice", "--label", "laptop")
    first, second = rows(upgraded("token", "list")[1])
    expires = datetime.strptime(first[5], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert first[3] == "active" and f"expires {first[5]} UTC" in err
    assert before + timedelta(days=90) <= expires <= datetime.now(UTC) + timedelta(days=90)
    assert second[3:] == ["active", "never", "never"]
    with sqlite3.connect(tmp_path / "data" / "kura.db") as conn:  # as if those 90 days had gone by
        conn.execute("UPDATE api_tokens SET expires_at = expires_at - ? WHERE id = ?",
                     (91 * 86400 * 10**6, int(first[0])))
    conn.close()
    assert [row[3] for row in rows(upgraded("token", "list")[1])] == ["expired", "active"]


@pytest.mark.parametrize("duration", ["90", "90x", "0d", "ninety days", "99999999w"])
def test_an_expiry_that_is_not_a_duration_is_a_usage_error_and_creates_no_token(
        upgraded, tmp_path: Path, duration: str) -> None:  # type: ignore[no-untyped-def]
    upgraded("user", "add", "alice")
    done = kura_process(tmp_path / "data", "token", "create", "alice", "--label", "ci", "--expires", duration)
    assert (done.returncode, done.stdout) == (2, b"")
    assert only_line(done.stderr).startswith(f"kura token create: argument --expires: {duration!r} is not a "
                                              "duration: write a count and a unit, e.g. 90d")
    assert rows(upgraded("token", "list")[1]) == []


@pytest.mark.parametrize("name", ["", "   ", "x" * (NAME_MAX + 1)], ids=["empty", "blank", "too-long"])
def test_a_name_the_api_would_refuse_is_refused_and_creates_nobody(upgraded, name: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = upgraded("user", "add", name)
    assert (code, out) == (1, "")
    assert only_line(err).startswith(f"kura: user name {name[:40]!r} is not a valid name: string should have")
    assert rows(upgraded("user", "list")[1]) == []


def test_a_name_is_stored_without_surrounding_whitespace_as_the_api_stores_names(upgraded) -> None:  # type: ignore[no-untyped-def]
    assert upgraded("user", "add", "  carol ")[1].startswith("created user carol ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("user", "add", "alice"), "kura: user 'alice' already exists"),
        (("user", "remove", "nobody", "--yes"), "kura: no user named 'nobody'"),
        (("token", "create", "nobody", "--label", "x"), "kura: no user named 'nobody'"),
        (("token", "list", "--user", "nobody"), "kura: no user named 'nobody'"),
        (("token", "revoke", "99"), "kura: no token with id 99"),
    ],
)
def test_mistakes_get_one_line_and_exit_1(upgraded, argv: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    upgraded("user", "add", "alice")
    code, out, err = upgraded(*argv)
    assert (code, out, only_line(err)) == (1, "", message)


@pytest.fixture
def bob_with_two_bookmarks(upgraded, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    upgraded("user", "add", "bob")
    page = tmp_path / "two.html"
    page.write_text('<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n<DT><A HREF="https://a.example/">a</A>\n'
                    '<DT><A HREF="https://b.example/">b</A>\n</DL>\n')
    assert upgraded("import", str(page), "--user", "bob")[0] == 0
    return tmp_path / "data"


def users_in(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "kura.db") as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM users")]
    conn.close()
    return names


def test_removing_a_user_without_a_terminal_needs_yes_and_says_what_would_go(bob_with_two_bookmarks: Path) -> None:
    done = kura_process(bob_with_two_bookmarks, "user", "remove", "bob")
    assert (done.returncode, done.stdout) == (1, b"")
    assert only_line(done.stderr) == ("kura: not removing user bob and their 2 bookmarks: no terminal to ask "
                                      "on, so add --yes to confirm")
    assert users_in(bob_with_two_bookmarks) == ["bob"]


@pytest.mark.parametrize("typed", [b"\n", b"n\n", b"whatever\n"], ids=["enter", "no", "other"])
def test_removing_a_user_on_a_terminal_asks_and_anything_but_yes_keeps_them(
        bob_with_two_bookmarks: Path, typed: bytes) -> None:
    done = kura_on_a_terminal(bob_with_two_bookmarks, "user", "remove", "bob", typed=typed)
    assert done.returncode == 1
    assert done.stderr.decode().startswith(
        "Remove user bob and their 2 bookmarks, with their tags, collections and tokens? [y/N] ")
    assert done.stderr.decode().endswith("kura: not removing user bob and their 2 bookmarks: not confirmed, "
                                         "nothing changed\n")
    assert users_in(bob_with_two_bookmarks) == ["bob"]


def test_removing_a_user_on_a_terminal_goes_ahead_on_y(bob_with_two_bookmarks: Path) -> None:
    done = kura_on_a_terminal(bob_with_two_bookmarks, "user", "remove", "bob", typed=b"y\n")
    assert (done.returncode, done.stdout) == (0, b"removed user bob and their 2 bookmarks\n")
    assert users_in(bob_with_two_bookmarks) == []


def test_commands_refuse_a_schema_that_is_not_at_head(kura, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = kura("user", "add", "alice")
    assert code == 1 and "does not exist" in only_line(err)  # and nothing creates it but `db upgrade`
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "kura.db").touch()
    code, _, err = kura("user", "add", "alice")
    assert code == 1 and only_line(err).endswith("run `kura db upgrade` first")


def test_a_write_blocked_by_another_process_fails_in_one_line_and_saves_nothing(
    upgraded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("KURA_SQLITE_BUSY_TIMEOUT_MS", "200")
    other = sqlite3.connect(tmp_path / "data" / "kura.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. the API in the middle of a large import
    try:
        code, _, err = upgraded("user", "add", "erin")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert code == 1
    assert only_line(err) == "kura: the database is busy with another writer; nothing was saved, retry shortly"
    assert "erin" not in upgraded("user", "list")[1]
