"""POST /api/v1/import of a file of a mebibyte or more: parsed by a child process (childparse) while
the writer writes, with the same answer and the same bookmarks as a small file's import."""

from __future__ import annotations

import pytest

from domain import transfer
from domain.transfer import childparse
from tests.domain.transfer.transfer_data import snapshot

COUNT = 14_000  # ~1.1 MB of rows: over childparse.MIN_BYTES


def page(*rows: str) -> bytes:
    return ("<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n" + "\n".join(rows) + "\n</DL><p>\n").encode()


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[childparse.ChildParse]:
    started: list[childparse.ChildParse] = []

    class Counted(childparse.ChildParse):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            started.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(childparse, "ChildParse", Counted)
    return started


def test_a_large_upload_imports_through_a_child_as_raw_body_and_as_multipart(client, db, alice, bob,
                                                                             children) -> None:
    rows = [f'<DT><A HREF="https://l{i}.example/" ADD_DATE="{1700000000 + i}" TAGS="t{i % 5}">l{i}</A>'
            for i in range(COUNT)]
    data = page(*rows, '<DT><A HREF="http://[broken/">broken</A>')
    assert len(data) >= transfer.childparse.MIN_BYTES
    raw = client.post("/api/v1/import", headers={**alice.headers, "Content-Type": "text/html"}, content=data)
    form = client.post("/api/v1/import", headers=bob.headers, files={"file": ("bookmarks.html", data)})
    assert (raw.status_code, form.status_code) == (200, 200), (raw.text, form.text)
    assert raw.json() == form.json()
    assert (raw.json()["created"], raw.json()["skipped"], raw.json()["errors"][0]["line"]) == (COUNT, 1, COUNT + 3)
    assert len(children) == 2 and all(child.process.returncode == 0 for child in children)
    assert snapshot(db, user_id=alice.user_id) == snapshot(db, user_id=bob.user_id)


def test_a_large_file_that_is_not_bookmarks_answers_400_and_writes_nothing(client, db, alice, children) -> None:
    data = b"notes\n" + b"just some text, no links at all\n" * 40_000
    response = client.post("/api/v1/import", headers=alice.headers, content=data)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_import_file"
    assert "it starts with 'notes'" in response.json()["error"]["message"]
    assert len(children) == 1 and snapshot(db, user_id=alice.user_id)["bookmarks"] == []
