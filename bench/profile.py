"""Where does a case's time go? `python -m bench.profile --case list_newest_50 [--seconds 10]`.

Starts kura-api on the cached 100k dataset, drives the case with wrk at 4 connections while py-spy
(`pip install py-spy`) samples the API, and prints the functions with the largest share of samples:
inclusive (the function or anything it calls) and self (the function's own code).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path

from bench import cases as case_defs
from bench import api_bench, datagen, load, servers

# A sample whose innermost frame is one of these is a thread waiting for work, not spending time:
# also the event loop waiting in epoll, and kura-writer waiting for a job (SimpleQueue.get is a C
# call, so its innermost Python frame is Writer._work; it counted as 40 % "self" of a delete), and
# likewise a thread pool's idle worker in _worker (73 % "self" of a search, which runs in the pool).
IDLE_LEAVES = ("Condition.wait ", "Event.wait ", "Thread.join ", "Queue.get ", "Runner.run ",
               "EpollSelector.select ", "Writer._work ", "_worker ")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def shares(collapsed: str, *, top: int = 25) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """From py-spy's collapsed stacks: (inclusive, self) shares of samples per function, largest first."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_name(frame) for frame in stack.split(";")]
        if frames[-1].startswith(IDLE_LEAVES):
            continue
        total += count
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    if not total:
        return [], []
    scale = lambda counter: [(name, n / total) for name, n in counter.most_common(top)]  # noqa: E731
    return scale(inclusive), scale(own)


def _name(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--case", default="list_newest_50")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--cache", type=Path, default=Path("/var/tmp/kura-bench"))
    args = parser.parse_args()
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(servers.BIN))
    if not spy:
        raise SystemExit("bench.profile: py-spy is not installed (`.venv/bin/pip install py-spy`)")
    work = args.cache / "work" / "profile"
    shutil.rmtree(work, ignore_errors=True)
    source, meta = datagen.cached(datagen.Spec(), args.cache)
    datagen.copy_database(source, work / "data")
    # The web pages' cases sign in with a session cookie, as the bench's own run does (without one,
    # html_list_50 profiled the redirect to the sign-in page).
    meta = {**meta, "web_cookie": api_bench.web_session(work / "data", user=case_defs.user_of(meta, datagen.MAIN_USER))}
    case = next(c for c in case_defs.load_cases(meta) if c.name == args.case)
    api = servers.start_api(work / "data", work)
    out = work / "stacks.txt"
    url = f"http://127.0.0.1:{api.port}{case.path or '/'}"
    params = case_defs.wrk_params(case, meta, run_id="profile")
    try:
        # Warm up first: the first requests import lazily and fill caches, which is not the steady state.
        warm = load.run_wrk(url, connections=args.connections, params={**params, "run": "warm"}, seconds=2)
        if case.kind == "delete":  # the measured deletes start below the ids the warm-up deleted
            params = case_defs.wrk_params(case, meta, run_id="profile",
                                          delete_offset=case_defs.deletes_done(warm["requests"], args.connections))
        sampler = threading.Thread(target=subprocess.run, args=([spy, "record", "-p", str(api.proc.pid), "-d",
                                   str(int(args.seconds)), "-r", "250", "-f", "raw", "-o", str(out)],),
                                   kwargs={"capture_output": True})
        sampler.start()
        figures = load.run_wrk(url, connections=args.connections, params=params, seconds=args.seconds)
        sampler.join()
    finally:
        api.stop()
    print(f"{case.name} @{args.connections}: {figures['rps']:.0f} req/s, p50 {figures['p50_ms']:.1f} ms, "
          f"p99 {figures['p99_ms']:.1f} ms")
    inclusive, own = shares(out.read_text())
    ours = [(name, share) for name, share in shares(out.read_text(), top=400)[0]
            if re.search(r"\((api|domain|common|cli|backup|monitor)/", name)][:25]
    for title, rows in (("inclusive", inclusive), ("self", own), ("Kura's own functions, inclusive", ours)):
        print(f"\n{title} share of busy samples (threads waiting for work left out):")
        for name, share in rows:
            print(f"  {share * 100:5.1f}%  {name}")


if __name__ == "__main__":
    main()
