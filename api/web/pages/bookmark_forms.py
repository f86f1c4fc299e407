"""The add/edit form and the bulk form: what a person typed, kept as typed, checked by the API's own models.

A form is re-shown with the message and every field as it was sent whenever anything is wrong, so
nothing typed is lost. The checks are the JSON API's: its request models (api/routes/bookmarks.py:
lengths, tag names, ids) and then the domain functions (domain/fields.py, domain/urls.py, the
duplicate-URL and collection-owner checks), whose KuraError carries the status to answer with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from api.routes.bookmarks import BookmarkCreate, BookmarkUpdate, BulkRequest
from api.web.pages.bookmark_reads import describe
from domain.bookmarks import BulkAction
from common.errors import KuraError

# The bulk form's actions (the contract's names) and the API's.
BULK_ACTIONS: dict[str, BulkAction] = {"tag": "add_tags", "untag": "remove_tags", "archive": "archive", "unarchive": "unarchive",
                "read": "mark_read", "unread": "mark_unread", "delete": "delete"}
BULK_DONE = {"tag": "tagged", "untag": "untagged", "archive": "archived", "unarchive": "moved out of the archive",
             "read": "marked read", "unread": "marked unread", "delete": "deleted"}


@dataclass
class BookmarkForm:
    """The form's fields as text, exactly as shown or sent."""

    url: str = ""
    title: str = ""
    description: str = ""
    notes: str = ""
    tags: str = ""
    collection: str = ""
    unread: bool = False
    archived: bool = False
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_form(cls, form: FormData) -> BookmarkForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        return cls(url=text("url"), title=text("title"), description=text("description"), notes=text("notes"),
                   tags=text("tags"), collection=text("collection"), unread="unread" in form,
                   archived="archived" in form)

    @classmethod
    def from_bookmark(cls, bookmark: dict[str, Any]) -> BookmarkForm:
        collection = bookmark["collection"]
        return cls(url=bookmark["url"], title=bookmark["title"], description=bookmark["description"],
                   notes=bookmark["notes"], tags=", ".join(bookmark["tags"]),
                   collection="" if collection is None else str(collection), unread=bookmark["unread"],
                   archived=bookmark["archived"])

    def _fields(self) -> dict[str, Any]:
        return {"url": self.url.strip(), "title": self.title.strip(), "description": self.description,
                "notes": self.notes, "tags": split_tags(self.tags),
                "collection": self.collection.strip() or None, "unread": self.unread, "archived": self.archived}

    def create_kwargs(self) -> dict[str, Any]:
        """create_bookmark's arguments; ValidationError as the JSON create would answer 422."""
        body = BookmarkCreate.model_validate(self._fields())
        return {**body.model_dump(exclude={"collection"}), "collection_id": body.collection}

    def changes(self) -> dict[str, Any]:
        """update_bookmark's changes: every field the form shows (an empty collection uncollects)."""
        return BookmarkUpdate.model_validate(self._fields()).model_dump(exclude_unset=True)


def split_tags(text: str) -> list[str]:
    """Tags are typed comma-separated (a tag name may hold spaces); empty pieces are dropped."""
    return [name.strip() for name in text.split(",") if name.strip()]


def failure(exc: Exception) -> tuple[int, str]:
    """The status and the one-line message a form shows for what went wrong."""
    if isinstance(exc, ValidationError):
        return 422, describe(exc)
    if isinstance(exc, KuraError):
        return exc.status, exc.message
    raise exc


@dataclass(frozen=True)
class BulkForm:
    ids: list[int]
    action: str
    tags: list[str]

    @classmethod
    def parse(cls, form: FormData) -> BulkForm:
        """The checked ids, the action and its tags, checked as POST /api/v1/bookmarks/bulk checks them;
        a KuraError or ValidationError says what is missing."""
        action = form.get("action")
        if not isinstance(action, str) or action not in BULK_ACTIONS:
            raise BulkProblem("choose what to do with the selected bookmarks")
        raw_ids = [v for v in form.getlist("ids") if isinstance(v, str)]
        if not raw_ids:
            raise BulkProblem("select at least one bookmark")
        tag_text = form.get("tag")
        tags = split_tags(tag_text) if isinstance(tag_text, str) and action in ("tag", "untag") else []
        if action in ("tag", "untag") and not tags:
            raise BulkProblem(f"type the tag to {action} the selected bookmarks with")
        body = BulkRequest.model_validate({"ids": raw_ids, "action": BULK_ACTIONS[action], "tags": tags})
        return cls(ids=list(body.ids), action=action, tags=list(body.tags))


class BulkProblem(KuraError):
    status, code = 400, "bad_request"
