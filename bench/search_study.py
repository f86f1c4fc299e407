"""Scratch study for issue 11's search target: today's FTS5 search against its alternatives.

    PYTHONPATH=. .venv/bin/python -m bench.search_study [--runs 30] [--out bench/search_study.json]

On the bench's 100k-bookmark user (+ 10 x 10k, cached under /var/tmp/kura-bench), it measures CPU
milliseconds per query (the median of many runs, thread CPU time so other load on the machine does not
count), index sizes and build times, and the top-10 overlap of each alternative's ranking with today's
on a fixed query set. Copies and side indexes live under --work, never in the bench cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench import datagen, vocab
from common.sqlite import sqlite3
from domain.search import parse_query
from domain.searchindex import LOG_SQL, SearchIndex, rebuild
from domain.searchindex.query import build_query, top_hits

COLS = "b.id, b.url, b.title, b.description, b.notes, b.unread, b.archived, b.private, b.collection_id," \
       " b.created_at, b.modified_at"
TAGGED = " AND b.id IN (SELECT bt.bookmark_id FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id" \
         " WHERE t.user_id = :u AND t.name = :tag)"
# Today's statement, as domain.listing builds it for /search (sort=relevance, limit 50 + 1).
TODAY_SQL = ("SELECT {cols}, bm25(bookmarks_fts, 10.0, 4.0, 2.0, 1.0) AS r FROM bookmarks_fts"
             " CROSS JOIN bookmarks b ON b.id = bookmarks_fts.rowid WHERE bookmarks_fts MATCH :m"
             " AND b.user_id = :u{tagged} ORDER BY r, b.id LIMIT 51")
PER_USER_SQL = ("SELECT {cols}, bm25(fts_u1, 10.0, 4.0, 2.0, 1.0) AS r FROM fts_u1"
                " CROSS JOIN bookmarks b ON b.id = fts_u1.rowid WHERE fts_u1 MATCH :m{tagged}"
                " ORDER BY r, b.id LIMIT 51")
OWNER_SQL = ("SELECT {cols}, bm25(fts_owner, 0.0, 10.0, 4.0, 2.0, 1.0) AS r FROM fts_owner"
             " CROSS JOIN bookmarks b ON b.id = fts_owner.rowid WHERE fts_owner MATCH :m{tagged}"
             " ORDER BY r, b.id LIMIT 51")
COUNT_PER_USER_SQL = "SELECT count(*) FROM fts_u1 WHERE fts_u1 MATCH :m"
FETCH_SQL = f"SELECT {COLS} FROM bookmarks b WHERE b.id IN (SELECT value FROM json_each(:ids))"
FTS_OPTIONS = "tokenize='unicode61 remove_diacritics 2', prefix='2 3'"


def timing_queries(meta: dict) -> dict[str, str]:
    common, rare, tag = meta["common_word"], meta["rare_word"], meta["top_tags"][0]
    return {"common word": common, "rare word": rare, "phrase": f'"{meta["phrase"]}"',
            "word #tag": f"{common} #{tag}", "word -exclude": f"{common} -{vocab.VOCAB[3]}",
            "prefix*": f"{common[:3]}*"}


def overlap_queries(meta: dict) -> list[str]:
    """A fixed set: single words from common to rare, pairs, phrases, prefixes, exclusions, tags."""
    v = vocab.VOCAB
    words = [v[r] for r in (0, 5, 20, 50, 120, 300, 800, 1500, 3000)]
    return [*words, f"{v[5]} {v[50]}", f"{v[20]} {v[120]}", f"{v[0]} {v[1]} {v[2]}", f'"{meta["phrase"]}"',
            f'"{v[0]} {v[3]}"', f"{v[20][:3]}*", f"{v[50][:4]}*", f"{v[5]} {v[300][:3]}*",
            f"{v[20]} -{v[3]}", f"{v[50]} -{v[0]} -{v[1]}", f"{v[20]} #{meta['top_tags'][0]}",
            f"{v[5]} #{meta['top_tags'][1]}", f"{v[120]} #{v[210]}"]


def cpu_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm: the first call pays for page cache and compiled statements
    samples = []
    for _ in range(runs):
        start = time.thread_time_ns()
        fn()
        samples.append(time.thread_time_ns() - start)
    return statistics.median(samples) / 1e6


def sql_search(conn: sqlite3.Connection, template: str, q: str, owner: bool = False) -> list[int]:
    parsed = parse_query(q)
    match = parsed.include_match()
    if owner:
        match = f'owner : "u1" AND ({match})'
    params = {"m": match, "u": 1, "tag": parsed.tags[0] if parsed.tags else None}
    sql = template.format(cols=COLS, tagged=TAGGED if parsed.tags else "")
    return [row[0] for row in conn.execute(sql, params)]


def build_side_tables(work: Path, source: Path) -> tuple[Path, dict]:
    """A copy of the bench database with a per-user FTS5 table and an owner-column FTS5 table."""
    path = work / "fts" / "kura.db"
    if path.exists():
        return path, json.loads((work / "fts" / "build.json").read_text())
    datagen.copy_database(source, path.parent)
    conn = sqlite3.connect(path, isolation_level=None)
    timings = {}
    before = _db_bytes(conn)
    start = time.perf_counter()
    conn.execute(f"CREATE VIRTUAL TABLE fts_u1 USING fts5(title, description, url, notes, content='bookmarks',"
                 f" content_rowid='id', {FTS_OPTIONS})")
    conn.execute("INSERT INTO fts_u1(rowid, title, description, url, notes)"
                 " SELECT id, title, description, url, notes FROM bookmarks WHERE user_id = 1")
    timings["per_user"] = {"build_s": time.perf_counter() - start, "bytes": _db_bytes(conn) - before}
    before, start = _db_bytes(conn), time.perf_counter()
    conn.execute(f"CREATE VIRTUAL TABLE fts_owner USING fts5(owner, title, description, url, notes, {FTS_OPTIONS})")
    conn.execute("INSERT INTO fts_owner(rowid, owner, title, description, url, notes)"
                 " SELECT id, 'u' || user_id, title, description, url, notes FROM bookmarks")
    timings["owner_column"] = {"build_s": time.perf_counter() - start, "bytes": _db_bytes(conn) - before}
    conn.close()
    (work / "fts" / "build.json").write_text(json.dumps(timings))
    return path, timings


def _db_bytes(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]


def fts_index_bytes(conn: sqlite3.Connection) -> int:
    rows = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'bookmarks_fts%'").fetchone()
    return int(rows[0] or 0)


def build_tantivy(work: Path, source: Path) -> tuple[SearchIndex, sqlite3.Connection, dict]:
    data = work / "tantivy"
    shutil.rmtree(data, ignore_errors=True)
    db_path = datagen.copy_database(source, data)
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_log'").fetchone():
        for statement in LOG_SQL:  # a cache older than the migration that adds the log
            conn.execute(statement)
    start, cpu = time.perf_counter(), time.process_time()
    index = rebuild(db_path, data / "search-index")
    built = {"build_s": time.perf_counter() - start, "build_cpu_s": time.process_time() - cpu,
             "bytes": sum(f.stat().st_size for f in (data / "search-index").iterdir())}
    return index, conn, built


def tantivy_search(index: SearchIndex, conn: sqlite3.Connection, q: str, fetch: bool = False) -> list[int]:
    ids = [i for i, _ in index.search_ids(conn, user_id=1, query=parse_query(q), limit=51)]
    if fetch:  # what /search adds: the 50 rows by id, in SQLite
        conn.execute(FETCH_SQL, {"ids": json.dumps(ids)}).fetchall()
    return ids


def tantivy_unranked(index: SearchIndex, q: str) -> list[int]:
    """tantivy's own BM25 order on the weighted field, without the FTS5 re-ranking of the first block."""
    searcher = index._index.searcher()
    built = build_query(index._index.schema, searcher, user_id=1, parsed=parse_query(q))
    return [i for i, _ in top_hits(searcher, built, limit=51)]


def sync_cost(index: SearchIndex, conn: sqlite3.Connection, runs: int) -> dict:
    cpu, wall = [], []
    for n in range(runs):
        conn.execute("UPDATE bookmarks SET title = title || ' edited' WHERE id = ?", (n + 1,))
        start_cpu, start = time.thread_time_ns(), time.perf_counter()
        index.sync(conn)
        cpu.append((time.thread_time_ns() - start_cpu) / 1e6)
        wall.append((time.perf_counter() - start) * 1e3)
    return {"cpu_ms": statistics.median(cpu), "wall_ms": statistics.median(wall)}


def concurrent_latency(index: SearchIndex, db_path: Path, q: str, threads: int, per_thread: int) -> dict:
    """In-process stand-in for "p99 at 4 connections": 4 threads searching at once (the HTTP figure
    needs the lead's integrated route)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = sqlite3.connect(db_path, isolation_level=None)
        mine = []
        for _ in range(per_thread):
            start = time.perf_counter()
            tantivy_search(index, conn, q)
            mine.append((time.perf_counter() - start) * 1e3)
        conn.close()
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    latencies.sort()
    return {"p50_ms": latencies[len(latencies) // 2], "p99_ms": latencies[int(len(latencies) * 0.99)]}


def fts5_scores(conn: sqlite3.Connection, q: str, ids: list[int]) -> list[float]:
    """FTS5's own bm25 (positive: higher is better) for these rows, in their order."""
    sql = (f"SELECT rowid, -bm25(bookmarks_fts, 10.0, 4.0, 2.0, 1.0) FROM bookmarks_fts"
           f" WHERE bookmarks_fts MATCH ? AND rowid IN ({','.join(str(int(i)) for i in ids)})")
    found = dict(conn.execute(sql, (parse_query(q).include_match(),)).fetchall())
    return [found.get(i, 0.0) for i in ids]


def score_kept(conn: sqlite3.Connection, q: str, ranked: list[int], today: list[int]) -> float:
    """Sum of FTS5's scores of our top-10 over the sum of FTS5's own top-10: 1.0 when the ten we show
    are as good by today's measure as the ten today shows, even if near-equal ones swap places."""
    best = sum(fts5_scores(conn, q, today[:10]))
    return sum(fts5_scores(conn, q, ranked[:10])) / best if best else 1.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_probe(work: Path, word: str) -> dict:
    """What kura-api's process would carry: the index opened (no rebuild), searches, then syncs
    (which open the writer and keep it)."""
    out = {"imported": rss_mb()}
    conn = sqlite3.connect(work / "tantivy" / "kura.db", isolation_level=None)
    index = SearchIndex.open(work / "tantivy" / "search-index")
    out["opened"] = rss_mb()
    for _ in range(200):
        tantivy_search(index, conn, word)
    out["after_200_searches"] = rss_mb()
    sync_cost(index, conn, 20)
    out["after_20_syncs"] = rss_mb()
    return out


def rss_in_a_fresh_process(work: Path, word: str) -> dict:
    command = [sys.executable, "-m", "bench.search_study", "--work", str(work), "--rss-probe", word]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def overlap(ranked: list[int], today: list[int]) -> float:
    top = today[:10]
    return len(set(ranked[:10]) & set(top)) / len(top) if top else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("KURA_BENCH_CACHE", "/var/tmp/kura-bench")))
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/kura-study"))
    parser.add_argument("--out", type=Path, default=Path("bench/search_study.json"))
    parser.add_argument("--rss-probe", metavar="WORD", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_probe:
        print(json.dumps(rss_probe(args.work, args.rss_probe)))
        return
    source, meta = datagen.cached(datagen.Spec(), args.cache)
    result = study(source, meta, args.work, args.runs)
    args.out.write_text(json.dumps(result, indent=1))
    print(render(result))


def study(source: Path, meta: dict, work: Path, runs: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    fts_path, fts_build = build_side_tables(work, source)
    fts = sqlite3.connect(fts_path, isolation_level=None)
    index, conn, tantivy_build = build_tantivy(work, source)
    engines: dict[str, Callable[[str], list[int]]] = {
        "fts5_today": lambda q: sql_search(fts, TODAY_SQL, q),
        "fts5_per_user_table": lambda q: sql_search(fts, PER_USER_SQL, q),
        "fts5_owner_column": lambda q: sql_search(fts, OWNER_SQL, q, owner=True),
        "tantivy_no_rerank": lambda q: tantivy_unranked(index, q),
        "tantivy": lambda q: tantivy_search(index, conn, q),
        "tantivy+fetch_rows": lambda q: tantivy_search(index, conn, q, fetch=True),
    }
    timing = {label: {name: cpu_ms(lambda: run(q), runs if name.startswith("tantivy") else max(5, runs // 3))
                      for name, run in engines.items()} for label, q in timing_queries(meta).items()}
    common = meta["common_word"]
    timing["common word"]["fts5_per_user_count_only"] = cpu_ms(
        lambda: fts.execute(COUNT_PER_USER_SQL, {"m": f'"{common}"'}).fetchone(), max(5, runs // 3))
    queries = overlap_queries(meta)
    today = {q: engines["fts5_today"](q) for q in queries}
    overlaps = {name: {q: overlap(engines[name](q), today[q]) for q in queries}
                for name in ("fts5_per_user_table", "fts5_owner_column", "tantivy_no_rerank", "tantivy")}
    kept = {name: {q: score_kept(fts, q, engines[name](q), today[q]) for q in queries}
            for name in ("tantivy_no_rerank", "tantivy")}
    matches = {q: len(sql_search(fts, TODAY_SQL.replace("LIMIT 51", ""), q)) for q in timing_queries(meta).values()}
    sync = sync_cost(index, conn, 20)
    latency = concurrent_latency(index, work / "tantivy" / "kura.db", common, 4, 250)
    index.close()  # releases the writer: the probe below syncs in its own process
    return {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": runs, "queries": timing_queries(meta),
            "matches_for_user": matches, "cpu_ms": timing, "overlap_top10": overlaps, "fts5_score_kept_top10": kept,
            "build": {**fts_build, "fts5_today": {"bytes": fts_index_bytes(fts)}, "tantivy": tantivy_build},
            "tantivy_sync_one_change": sync, "tantivy_4_threads_common": latency,
            "rss_mb": rss_in_a_fresh_process(work, common), "loadavg": os.getloadavg()}


def render(result: dict) -> str:
    names = list(next(iter(result["cpu_ms"].values())).keys())
    lines = ["| query (matches) | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, row in result["cpu_ms"].items():
        count = result["matches_for_user"][result["queries"][label]]
        lines.append(f"| {label} ({count}) | " + " | ".join(f"{row.get(n, float('nan')):.3f}" for n in names) + " |")
    for name, per_query in result["overlap_top10"].items():
        values = list(per_query.values())
        lines.append(f"\ntop-10 overlap with today, {name}: mean {statistics.mean(values):.2f},"
                     f" min {min(values):.2f} over {len(values)} queries")
    for name, per_query in result["fts5_score_kept_top10"].items():
        values = list(per_query.values())
        lines.append(f"FTS5 score kept in the top 10, {name}: mean {statistics.mean(values):.4f},"
                     f" min {min(values):.4f}")
    lines.append(f"\nbuild: {json.dumps(result['build'])}")
    lines.append(f"RSS MB: {result['rss_mb']}")
    lines.append(f"sync one change: {result['tantivy_sync_one_change']}")
    lines.append(f"4 threads, common word: {result['tantivy_4_threads_common']}; loadavg {result['loadavg']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
