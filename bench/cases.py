"""The endpoints under load, described once so the load driver and the query counter agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

PREFIX = "/api/v1"


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "static" (fixed GET), "conditional" (the same GET with the current ETag), "page" (a
    #            GET with the web session's cookie), or get_one / create / update / delete (built in Lua)
    path: str = ""
    user: str = "bench"  # whose token: export uses a 10,000-bookmark user
    write: bool = False
    timeout_s: int = 10
    min_seconds: float = 0.0  # slow answers need a longer run to give percentiles at all
    extra: dict = field(default_factory=dict)


def _list(**query: object) -> str:
    return f"{PREFIX}/bookmarks?" + urlencode(query, doseq=True)


def _search(q: str) -> str:
    # /search ranks by bm25 (title weighted highest): the costlier and the more used form of q.
    return f"{PREFIX}/search?" + urlencode({"q": q, "limit": 50})


def load_cases(meta: dict) -> list[Case]:
    tag1, tag2 = meta["top_tags"]
    return [
        Case("list_newest_50", "static", _list(limit=50)),
        # A client refreshing a page it holds: 304 from the user's data version, no bookmark read.
        Case("list_newest_50_304", "conditional", _list(limit=50)),
        Case("list_two_tags", "static", _list(tag=[tag1, tag2], limit=50)),
        Case("search_common", "static", _search(meta["common_word"])),
        Case("search_rare", "static", _search(meta["rare_word"])),
        Case("search_phrase", "static", _search(f'"{meta["phrase"]}"')),
        Case("get_one", "get_one"),
        # The web interface's list of the same 50 (issue 14: at most 2x the JSON list's CPU).
        Case("html_list_50", "page", "/?limit=50"),
        Case("export_10k", "static", f"{PREFIX}/export?format=json", user="user01", timeout_s=30,
             min_seconds=20),
        Case("create", "create", write=True),
        Case("update", "update", write=True),
        Case("delete", "delete", write=True),
    ]


def user_of(meta: dict, name: str) -> dict:
    return next(user for user in meta["users"] if user["name"] == name)


def deletes_done(requests: int, connections: int) -> int:
    """How many ids a delete run may have used up: wrk may not count its last in-flight requests."""
    return requests + 2 * connections


# The tags the create case gives its bookmarks: not the two-tag list's own (meta's top_tags), or every
# repetition after the first would list the bench's newest creates, whose links all match, instead of
# the generated data (0.28-0.31 of the ceiling then, against 0.24-0.29 on the generated data).
CREATED_TAGS = ("bench-created", "bench-write")


def wrk_params(case: Case, meta: dict, *, run_id: str, delete_offset: int = 0) -> dict[str, object]:
    """What requests.lua needs: token, id ranges (reads and updates take the lower half, deletes
    walk down from the top, so a delete never meets an id another case relies on)."""
    user = user_of(meta, case.user)
    first, last = user["first_id"], user["last_id"]
    middle = first + (last - first) // 2
    return {
        "kind": case.kind, "path": case.path, "prefix": PREFIX, "token": user["token"], "seed": 42,
        "first_id": first, "last_id": middle if case.kind != "delete" else last - delete_offset,
        "run": run_id, "word": meta["common_word"], "tag1": CREATED_TAGS[0], "tag2": CREATED_TAGS[1],
        "cookie": meta.get("web_cookie", ""),  # a web session of the main user (api_bench)
    }
