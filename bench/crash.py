"""The crash drill (issue 10): a real kura-api under write load, killed with SIGKILL again and again.

Four client threads create, update and delete bookmarks; every answer 2xx is an acknowledgement and
goes into a ledger. A request that got no answer (the process died under it) is an unknown outcome:
it counts neither way, and its bookmark may afterwards be in either state. After the last kill the
SQLite file is read directly, as the next start would read it, and every acknowledged bookmark must
be there (or gone, if its delete was acknowledged) exactly as acknowledged, under its own id.

Kill moments are random: after a random number of acknowledgements in each life of the process,
either by the client thread that has just read the deciding answer (the instant the whole body is
in, when a write acknowledged before its COMMIT is most exposed) or a moment later by the driver.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from contextlib import closing
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.live import NO_ANSWER, LiveApi, call, make_token
from common.sqlite import sqlite3
from domain.bookmark_rows import stale_rows
from domain.search import parse_query
from domain.searchindex import ensure_current

CLIENTS = 4
BOOKMARKS = "/api/v1/bookmarks"
Content = tuple[str, str, tuple[str, ...]]  # url, title, sorted tags: what an acknowledgement promises


class DrillError(AssertionError):
    """The drill could not go on (the API stopped acknowledging, a client thread would not end)."""


@dataclass
class Acked:
    id: int
    states: set[Content | None]  # what the row may hold now; None is "deleted"; one state when certain


@dataclass
class Ledger:
    """Every acknowledged write, keyed by the bookmark's unique URL."""

    acked: dict[str, Acked] = field(default_factory=dict)
    owner: dict[str, int] = field(default_factory=dict)  # url -> client that may still change it
    urls_of_id: dict[int, set[str]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    serial: int = 0

    def next_serial(self) -> int:
        with self.lock:
            self.serial += 1
            return self.serial

    def created(self, client: int, sent_title: str, answer: dict) -> None:
        content = (answer["url"], answer["title"], tuple(sorted(answer["tags"])))
        with self.lock:
            self.counts["acknowledged creates"] += 1
            self.counts["answers not matching the request"] += answer["title"] != sent_title
            self.acked[answer["url"]] = Acked(answer["id"], {content})
            self.owner[answer["url"]] = client
            self.urls_of_id.setdefault(answer["id"], set()).add(answer["url"])

    def settled(self, client: int) -> list[str]:
        """URLs this client owns whose state is certain, so the next change has one known outcome."""
        with self.lock:
            return [url for url, who in self.owner.items() if who == client]

    def changed(self, url: str, outcome: str, before: Content, after: Content | None) -> None:
        """An update or delete answered 2xx ("acknowledged"), or not ("unknown": either state may hold)."""
        with self.lock:
            self.counts[f"{outcome} {'deletes' if after is None else 'updates'}"] += 1
            self.acked[url].states = {after} if outcome == "acknowledged" else {before, after}
            if outcome != "acknowledged" or after is None:
                self.owner.pop(url, None)  # in doubt or gone: left alone from now on

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def highest_id(self) -> int:
        with self.lock:
            return max(self.urls_of_id, default=0)


class KillSwitch:
    """Fires after `after` acknowledgements in this life of the process."""

    def __init__(self, pid: int, after: int, by_client: bool) -> None:
        self.pid, self.after, self.by_client = pid, after, by_client
        self.count, self.armed, self.lock, self.fired = 0, True, threading.Lock(), threading.Event()

    def acknowledged(self) -> None:
        with self.lock:  # under the lock: the driver disarms before it reaps, so the pid is still ours
            self.count += 1
            if self.armed and self.count == self.after:
                if self.by_client:
                    os.kill(self.pid, signal.SIGKILL)
                self.fired.set()

    def disarm(self) -> None:
        with self.lock:
            self.armed = False


def _create(api: LiveApi, token: str, ledger: Ledger, client: int, switch: KillSwitch) -> bool:
    n = ledger.next_serial()
    title = f"drill {n} kuraword{n % 97}"
    body = {"url": f"https://drill.example/{n}?c={client}", "title": title,
            "tags": ["drill", f"c{client}", f"n{n % 13}"]}
    try:
        reply = call(api.port, "POST", BOOKMARKS, token=token, body=body)
    except NO_ANSWER:
        ledger.count("unknown creates")
        return False
    if reply.status == 201:
        ledger.created(client, title, reply.json())  # type: ignore[arg-type]
        switch.acknowledged()
    else:
        ledger.count(f"creates answered {reply.status}")
    return True


def _change(api: LiveApi, token: str, ledger: Ledger, url: str, rng: random.Random, switch: KillSwitch) -> bool:
    entry = ledger.acked[url]
    (before,) = entry.states
    assert before is not None
    if rng.random() < 0.3 and entry.id < ledger.highest_id():  # never the highest id: SQLite would reuse it
        method, after, body = "DELETE", None, None
    else:
        title = f"{before[1]} edited{rng.randrange(1000)}"
        tags = sorted({"drill", "edited", f"e{rng.randrange(9)}"})
        method, after, body = "PATCH", (before[0], title, tuple(tags)), {"title": title, "tags": tags}
    try:
        reply = call(api.port, method, f"{BOOKMARKS}/{entry.id}", token=token, body=body)
    except NO_ANSWER:
        ledger.changed(url, "unknown", before, after)
        return False
    if reply.status == 200:
        answer = reply.json()
        if after is not None:
            after = (answer["url"], answer["title"], tuple(sorted(answer["tags"])))  # type: ignore[index]
        ledger.changed(url, "acknowledged", before, after)
        switch.acknowledged()
    else:  # not acknowledged; whether it happened is not promised either way
        ledger.changed(url, "unknown", before, after)
    return True


def client_loop(api: LiveApi, token: str, ledger: Ledger, client: int, switch: KillSwitch,
                stop: threading.Event, seed: int) -> None:
    """Write until told to stop, or until a request gets no answer: the process has died under it."""
    rng = random.Random(seed)
    answered = True
    while answered and not stop.is_set():
        mine = ledger.settled(client)
        if mine and rng.random() < 0.3:
            answered = _change(api, token, ledger, rng.choice(mine), rng, switch)
        else:
            answered = _create(api, token, ledger, client, switch)


def one_life(api: LiveApi, token: str, ledger: Ledger, rng: random.Random, ack_wait_s: float) -> None:
    """Start the API, load it, kill it at a random moment, and wait until every client has stopped."""
    api.start()
    assert api.proc is not None
    switch = KillSwitch(api.proc.pid, after=rng.randint(1, 40), by_client=rng.random() < 0.5)
    stop = threading.Event()
    threads = [threading.Thread(target=client_loop, args=(api, token, ledger, c, switch, stop, rng.random()),
                                name=f"drill-client-{c}") for c in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        if not switch.fired.wait(ack_wait_s):
            raise DrillError(f"kura-api acknowledged {switch.count} writes in {ack_wait_s} s, "
                             f"needed {switch.after}: it stopped answering")
        if not switch.by_client:
            time.sleep(rng.uniform(0, 0.02))  # a random moment a little after the deciding answer
    finally:
        switch.disarm()
        api.kill()
        stop.set()
        for thread in threads:
            thread.join(60)
    if any(thread.is_alive() for thread in threads):
        raise DrillError("a client thread did not end within 60 s of the kill")


def read_back(db_path: Path) -> tuple[dict[int, Content], str, str, int]:
    """Every bookmark in the file, what PRAGMA integrity_check and FTS5's integrity-check say, and
    how many bookmarks' stored copies (migration 0008's api_json, 0010's links' tag sets) disagree with
    their rows."""
    conn = sqlite3.connect(db_path)  # a read-write open replays the WAL, as the next start would
    try:
        integrity = "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
        try:
            conn.execute("INSERT INTO bookmarks_fts(bookmarks_fts) VALUES('integrity-check')")
            fts = "ok"
        except sqlite3.DatabaseError as exc:
            fts = str(exc)
        tags: dict[int, list[str]] = {}
        for bookmark_id, name in conn.execute(
                "SELECT bt.bookmark_id, t.name FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id"):
            tags.setdefault(bookmark_id, []).append(name)
        rows = {i: (url, title, tuple(sorted(tags.get(i, []))))
                for i, url, title in conn.execute("SELECT id, url, title FROM bookmarks")}
        stale = len(stale_rows(conn))
    finally:
        conn.close()
    return rows, integrity, fts, stale


SEARCH_WORDS = ("drill", "edited", "kuraword5", "kuraword11 edited", "kuraword3 -edited")


def search_disagreements(data: Path) -> list[str]:
    """The search index left behind by the kills, caught up as the next start would, against FTS5:
    the queries whose matches differ (the index is derived; the table is the truth)."""
    index = ensure_current(data / "kura.db", data / "search-index")
    out = []
    try:
        with closing(sqlite3.connect(f"file:{data / 'kura.db'}?mode=ro", uri=True, isolation_level=None)) as conn:
            for q in SEARCH_WORDS:
                parsed = parse_query(q)
                for (user_id,) in conn.execute("SELECT id FROM users"):
                    found = {i for i, _ in index.search_ids(conn, user_id=user_id, query=parsed, limit=1_000_000)}
                    truth = {i for (i,) in conn.execute(
                        "SELECT b.id FROM bookmarks_fts f JOIN bookmarks b ON b.id = f.rowid"
                        " WHERE bookmarks_fts MATCH ? AND b.user_id = ?", (parsed.include_match(), user_id))}
                    if found != truth:
                        out.append(f"{q!r}: index {len(found)}, table {len(truth)}")
    finally:
        index.close()
    return out


def verify(db_path: Path, ledger: Ledger) -> dict:
    """Compare the file with the ledger: lost acknowledgements and ids that name another bookmark."""
    rows, integrity, fts, stale = read_back(db_path)
    lost: list[str] = []
    reused = {i for i, urls in ledger.urls_of_id.items() if len(urls) > 1}  # one id answered for two URLs
    for url, entry in ledger.acked.items():
        row = rows.get(entry.id)
        if row not in entry.states:
            lost.append(f"id {entry.id} acknowledged as {' or '.join(map(str, entry.states))}; the file has {row}")
        if row is not None and row[0] != url:
            reused.add(entry.id)
    return {"acknowledged": len(ledger.acked), "lost": len(lost), "ids_reused": len(reused),
            "integrity": integrity, "fts_integrity": fts, "stale_answers": stale, "lost_examples": lost[:5]}


def drill(work: Path, *, kills: int, seed: int = 10, env: dict[str, str] | None = None,
          measured: bool = False, ack_wait_s: float = 60.0) -> dict:
    """Kill a real kura-api `kills` times under load, then check the file. Returns the figures."""
    data = work / "data"
    token = make_token(data, "drill")
    api = LiveApi(data, work / "kura-api.log", env=dict(env or {}), measured=measured)
    ledger, rng = Ledger(), random.Random(seed)
    try:
        for _ in range(kills):
            one_life(api, token, ledger, rng, ack_wait_s)
    finally:
        api.kill()
    figures = {"kills": api.starts, **verify(data / "kura.db", ledger), "search": search_disagreements(data),
               "synchronous": (env or {}).get("KURA_SQLITE_SYNCHRONOUS", "NORMAL")}
    figures["counts"] = dict(sorted(ledger.counts.items()))
    return figures
