"""Is this URL saved already? What a browser extension asks for every page it shows.

The URL is normalised exactly as a create normalises it (domain/urls.py), so the answer is the one a
create would give: "saved as id N" here means a create would answer 409 naming N.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from domain.urls import normalize_url

# Served by the (user_id, url) unique index: one index probe, however many bookmarks there are.
FIND = "SELECT id FROM bookmarks WHERE user_id = ? AND url = ?"


def find_url(session: Session, *, user_id: int, url: str) -> dict[str, Any]:
    """`{"url": normalised, "saved": bool, "id": id or None}`; an unusable URL raises InvalidURL (400)."""
    normalised = normalize_url(url)
    found = session.connection().exec_driver_sql(FIND, (user_id, normalised)).scalar()
    return {"url": normalised, "saved": found is not None, "id": found}
