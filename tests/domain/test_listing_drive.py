"""A list filtered by several tags walks the rarest one's links; the choice is remembered per user
and tag set, and a remembered choice that went stale never changes what a page holds."""

from __future__ import annotations

from typing import Any

from domain import bookmarks, listing, tags
from common.db import Database
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account, QueryCounter


def page(db: Database, user: Account, **options: Any) -> list[int]:
    with db.read_session() as session:
        return [b["id"] for b in listing.list_bookmarks(session, user_id=user.user_id, limit=10, **options)["items"]]


def tag_id(db: Database, user: Account, name: str) -> int:
    with db.read_session() as session:
        return next(t["id"] for t in tags.list_tags(session, user_id=user.user_id) if t["name"] == name)


def test_the_second_page_of_a_tag_pair_walks_the_remembered_tag_in_one_statement(
        db: Database, alice: Account, count_queries: QueryCounter) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=40, tags_per=3, tag_pool=5)
    first = page(db, alice, tag=["tag1", "TAG2"])
    assert listing._drivers, "the page that counted the links remembers the rarest tag"
    with count_queries:
        again = page(db, alice, tag=["tag2", "tag1"])  # the same set, another order and case
    assert again == first and first
    assert count_queries.count == 1
    statement = count_queries.statements[0]
    assert listing.DRIVE_TAG in statement and "count(*)" not in statement  # walked by name, not counted
    assert statement.count("instr(drive.tag_ids") == 1  # only the tag not walked is checked


def test_a_remembered_tag_deleted_and_made_again_still_gives_the_right_page(
        db: Database, alice: Account, count_queries: QueryCounter) -> None:
    ids = seed_bookmarks(db, user_id=alice.user_id, count=40, tags_per=3, tag_pool=5)
    page(db, alice, tag=["tag1", "tag2"])
    [(key, remembered)] = listing._drivers.items()
    with db.write_session() as session:  # deleted, then given again to a few bookmarks: a new id
        tags.delete_tag(session, user_id=alice.user_id, tag_id=tag_id(db, alice, remembered))
        bookmarks.bulk_action(session, user_id=alice.user_id, ids=ids[::3], action="add_tags",
                              tags=["tag1", "tag2"])
    with count_queries:
        stale = page(db, alice, tag=["tag1", "tag2"])
    listing._drivers.clear()
    assert stale == page(db, alice, tag=["tag1", "tag2"]) and stale
    assert count_queries.count == 1  # the name still walks the tag: nothing to count again


def test_a_remembered_tag_that_is_no_longer_the_rarest_changes_speed_not_rows(db: Database, alice: Account) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=40, tags_per=3, tag_pool=5)
    key = (alice.user_id, ("tag1", "tag2"))
    truth = page(db, alice, tag=["tag1", "tag2"])
    for remembered in ("tag1", "tag2", "tag9"):  # tag9: not one of the page's tags, so counted again
        listing._drivers[key] = remembered
        assert page(db, alice, tag=["tag1", "TAG2"]) == truth, remembered
    assert listing._drivers[key] in ("tag1", "tag2")


def test_the_walk_takes_the_tag_with_fewer_links_even_when_both_have_thousands(db: Database, alice: Account) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=2100, tags_per=2, tag_pool=2)  # every one: tag0 and tag1
    older, newer = tag_id(db, alice, "tag0"), tag_id(db, alice, "tag1")
    assert older < newer  # a tie, or a count capped below both, would pick the older
    with db.write_session() as session:
        session.connection().exec_driver_sql(
            "DELETE FROM bookmark_tags WHERE tag_id = ? AND bookmark_id IN "
            "(SELECT bookmark_id FROM bookmark_tags WHERE tag_id = ? LIMIT 50)", (newer, newer))
    assert len(page(db, alice, tag=["tag0", "tag1"])) == 10
    assert list(listing._drivers.values()) == ["tag1"]


def test_a_tag_pair_checks_the_other_tag_on_the_walked_link_without_a_probe(db: Database, alice: Account) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=40, tags_per=3, tag_pool=5)
    first = page(db, alice, tag=["tag1", "tag2"])  # counts the links once; later pages walk without
    sql, params, _, drive = listing.build_query(user_id=alice.user_id, limit=10, tag=["tag1", "tag2"])
    assert drive is not None and drive.known is not None
    with db.read_session() as session:
        conn = session.connection()
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
        truth = [row[0] for row in conn.exec_driver_sql(
            "SELECT b.id FROM bookmarks b WHERE b.user_id = ? AND 2 = (SELECT count(*) FROM bookmark_tags bt"
            " JOIN tags t ON t.id = bt.tag_id WHERE bt.bookmark_id = b.id AND t.name IN ('tag1', 'tag2'))"
            " ORDER BY b.created_at DESC, b.id DESC LIMIT 10", (alice.user_id,))]
    # The only read of the links is the walk; the other tag is found in the walked entry's tag set.
    links = [step for step in plan if "bookmark_tags" in step or step.startswith(("SEARCH drive", "SEARCH bt"))]
    assert links == ["SEARCH drive USING COVERING INDEX ix_bookmark_tags_tag_created (tag_id=?)"], plan
    assert first == truth and len(truth) == 10
    assert page(db, alice, tag=["tag2", "tag1"]) == truth
