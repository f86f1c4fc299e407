"""A derived full-text index for search (tantivy), so a common word costs under a millisecond.

SQLite stays the only source of truth: the index is rebuilt from it by `rebuild`, checked and caught
up at startup by `ensure_current`, and kept current after each commit by `LiveIndex`, whose thread
runs `SearchIndex.sync` over the trigger-fed `search_log` (sql.LOG_SQL belongs in a migration).
"""

from domain.searchindex.build import ensure_current, rebuild
from domain.searchindex.live import LiveIndex
from domain.searchindex.sql import LOG_DOWNGRADE_SQL, LOG_SQL, PRUNE_SQL
from domain.searchindex.store import IndexBusy, IndexUnusable, SearchIndex, Watermark

__all__ = ["LOG_DOWNGRADE_SQL", "LOG_SQL", "PRUNE_SQL", "IndexBusy", "IndexUnusable", "LiveIndex", "SearchIndex",
           "Watermark", "ensure_current", "rebuild"]
