"""Kura's tables, typed SQLAlchemy 2 models.

Times are stored as integer microseconds since the epoch (UTC): exact for the microsecond dates some
browsers export, cheap to index and compare, and free of SQLite's text-date pitfalls.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Re-exported: defined where the import's parser process can load them without SQLAlchemy.
from domain.values import (  # noqa: F401
    NAME_MAX,
    TEXT_MAX,
    TITLE_MAX,
    URL_MAX,
    from_micros,
    to_micros,
    utcnow,
)


class UTCMicros(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as integer microseconds since the epoch."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: int | None, dialect: object) -> datetime | None:
        return None if value is None else from_micros(value)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCMicros, default=utcnow)
    # Argon2 hash for the web sign-in (migration 0007); null: this user cannot sign in on the web.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(NAME_MAX))
    # Only the SHA-256 of the token is kept; the token itself is shown once at creation.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCMicros, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCMicros, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCMicros, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCMicros, nullable=True)  # null: never (migration 0004)

    user: Mapped[User] = relationship(lazy="joined")


class WebSession(Base):
    """A browser's sign-in (migration 0007). Only the SHA-256 of the cookie's value is stored;
    `csrf` is the token every form of this session posts back."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCMicros, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCMicros, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCMicros)


class Collection(Base):
    __tablename__ = "collections"
    __table_args__ = (Index("ix_collections_user_parent", "user_id", "parent_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="SET NULL"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCMicros, default=utcnow)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_tags_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX, collation="NOCASE"))


class BookmarkTag(Base):
    __tablename__ = "bookmark_tags"
    __table_args__ = (
        # A tag's links newest first: the walk a tag-filtered list takes (migration 0005), and every
        # other lookup by tag (migration 0009 dropped the (tag_id, bookmark_id) index it made redundant);
        # with the bookmark's tag set, so a walk checks the other tags of a filter without a probe (0010).
        Index("ix_bookmark_tags_tag_created", "tag_id", "created_at", "bookmark_id", "tag_ids"),
    )

    bookmark_id: Mapped[int] = mapped_column(
        ForeignKey("bookmarks.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    # The bookmark's created_at, copied by triggers (migration 0005); never written by Kura's code.
    created_at: Mapped[datetime | None] = mapped_column(UTCMicros, nullable=True)
    # Every tag id of the bookmark as ",3,17,42,", written by triggers (migration 0010); never by Kura's code.
    tag_ids: Mapped[str | None] = mapped_column(Text, nullable=True, deferred=True)


class Bookmark(Base):
    __tablename__ = "bookmarks"
    __table_args__ = (
        UniqueConstraint("user_id", "url", name="uq_bookmarks_user_url"),
        # One index per sort order, each ending in id so keyset pagination is a range seek.
        Index("ix_bookmarks_user_created", "user_id", "created_at", "id"),
        Index("ix_bookmarks_user_modified", "user_id", "modified_at", "id"),
        Index("ix_bookmarks_user_title", "user_id", text("title COLLATE NOCASE"), "id"),
        Index("ix_bookmarks_user_unread_created", "user_id", "unread", "created_at", "id"),
        Index("ix_bookmarks_user_archived_created", "user_id", "archived", "created_at", "id"),
        Index("ix_bookmarks_collection_created", "collection_id", "created_at", "id"),
        # A folder's entries in the imported file's order, for the Netscape export (migration 0006).
        Index("ix_bookmarks_user_collection_position", "user_id", "collection_id", "position", "id",
              sqlite_where=text("position IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(URL_MAX))
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="", server_default=text("''"))
    description: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    notes: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    unread: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCMicros, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCMicros, default=utcnow)
    # Import/export facts only (migration 0006), never in the API's answers: the place among its
    # folder's entries in the imported file, and the browser keyword (Netscape SHORTCUTURL).
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    keyword: Mapped[str | None] = mapped_column(String(NAME_MAX), nullable=True)
    # The API's answer for this row as JSON text, written only by migration 0008's triggers (never
    # by the ORM; deferred, so loading a Bookmark does not read it).
    api_json: Mapped[str | None] = mapped_column(Text, nullable=True, deferred=True)


class BackupRun(Base):
    """One run of kura-backup, recorded so the API can report it (GET /api/v1/system/backups)."""

    __tablename__ = "backup_runs"
    __table_args__ = (Index("ix_backup_runs_started", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCMicros, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCMicros, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # running | ok | failed | interrupted
    stage: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class HealthProbe(Base):
    """One row that readiness rewrites: proof that a write can commit right now (disk, lock, file)."""

    __tablename__ = "health_probe"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    written_at: Mapped[datetime] = mapped_column(UTCMicros)


class SearchLog(Base):
    """Ids of bookmarks whose searchable text changed, appended by triggers (migration 0003); the
    search index (domain/searchindex) applies and prunes them."""

    __tablename__ = "search_log"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    bookmark_id: Mapped[int] = mapped_column(Integer)
    nonce: Mapped[int] = mapped_column(Integer, server_default=text("(random())"))


class DataVersion(Base):
    """Per user, a counter that triggers bump on every change their bookmark answers can show
    (migration 0003): the ETag of a conditional GET."""

    __tablename__ = "data_versions"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer)
