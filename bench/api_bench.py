"""The load part: the ceiling, then kura-api on a copy of the 100k dataset, every case at 4 and 32
connections, repeated; medians per case and Kura's throughput as a share of the ceiling's, measured
again right before each case (NEAR_CEILING_S)."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from api.housekeeping import QUIET_S
from bench import cases as case_defs
from bench import datagen, load, report, servers

CEILING_CASE = case_defs.Case("ceiling", "static", "/")
# RSS "after" the load is read once the API has settled: it hands freed memory back when a burst has
# been over for api.housekeeping.QUIET_S (checked that often), so twice that and a second. "at_end" is
# the reading the moment the last case drained, before any of it went back.
SETTLE_S = 2 * QUIET_S + 1
CEILING_PARAMS = {"kind": "static", "path": "/", "token": "-", "seed": 1}
# Each case's share is of the ceiling measured for this long right before it, at the same connections:
# this VM's speed drifts over a repetition's five minutes (one run: a case's share went 0.205, 0.232,
# 0.409 over three reps against the ceiling of each rep's start, while its req/s moved far less).
NEAR_CEILING_S = 2.0


def _measure(proc: servers.Process, case: case_defs.Case, params: dict, conns: int, seconds: float) -> dict:
    """wrk's figures plus the server's CPU time per request, which, unlike req/s, holds up when other
    work on the machine competes for the cores."""
    url = f"http://127.0.0.1:{proc.port}{case.path or '/'}"
    if case.kind == "conditional":  # the ETag of now: the write cases before it changed the data
        params = {**params, "etag": current_etag(url, params["token"])}
    cpu_before = proc.cpu_seconds()
    row = load.run_wrk(url, params=params, connections=conns, seconds=max(seconds, case.min_seconds),
                       timeout_s=case.timeout_s)
    row["drain_s"] = proc.wait_idle()  # the backlog's CPU belongs to this case, so count it here
    row["cpu_ms_per_req"] = (proc.cpu_seconds() - cpu_before) * 1000 / max(1, row["requests"])
    row["rss_mb"] = proc.rss_mb()  # after each case, to see which one makes the API grow
    return row


def current_etag(url: str, token: object) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.headers["ETag"]


def _warm_up(api: servers.Process, meta: dict, cases: list[case_defs.Case], run_id: str) -> None:
    # One short pass over the read cases so the first measured run does not pay for a cold page cache.
    for case in cases:
        if not case.write:
            _measure(api, case, case_defs.wrk_params(case, meta, run_id=run_id), 4, 1)


def run_load(*, data_dir: Path, log_dir: Path, meta: dict, seconds: float, repeat: int,
             connections: tuple[int, ...] = (4, 32), only: set[str] | None = None,
             log=print) -> dict:
    cases = [c for c in case_defs.load_cases(meta) if not only or c.name in only]
    runs: dict[tuple[str, int], list[dict]] = {}
    meta = {**meta, "web_cookie": web_session(data_dir, user=case_defs.user_of(meta, datagen.MAIN_USER))}
    ceiling = servers.start_ceiling(log_dir)
    api = servers.start_api(data_dir, log_dir)
    run_id = time.strftime("%Y%m%d%H%M%S")
    rss_before = api.rss_mb()
    deleted = 0
    try:
        _warm_up(api, meta, cases, run_id)
        for rep in range(repeat):
            for conns in connections:
                row = _measure(ceiling, CEILING_CASE, CEILING_PARAMS, conns, seconds)
                runs.setdefault(("ceiling", conns), []).append({**row, "ratio": 1.0})
                log(f"  rep {rep + 1}/{repeat} ceiling @{conns}: {row['rps']:.0f} req/s")
            for case in cases:
                for conns in connections:
                    params = case_defs.wrk_params(case, meta, run_id=f"{run_id}-{rep}-{conns}",
                                                  delete_offset=deleted)
                    near = _measure(ceiling, CEILING_CASE, CEILING_PARAMS, conns, NEAR_CEILING_S)["rps"]
                    row = _measure(api, case, params, conns, seconds)
                    if case.kind == "delete":
                        deleted += case_defs.deletes_done(row["requests"], conns)
                    row["ceiling_rps"] = near
                    row["ratio"] = row["rps"] / near if near else 0.0
                    runs.setdefault((case.name, conns), []).append(row)
                    log(f"  rep {rep + 1}/{repeat} {case.name} @{conns}: {row['rps']:.0f} req/s "
                        f"({row['ratio']:.3f} of the ceiling's {near:.0f} just before), "
                        f"p99 {row['p99_ms']:.1f} ms, errors {row['errors']}")
        rss_at_end = api.rss_mb()
        time.sleep(SETTLE_S)
        rss_after = api.rss_mb()
        peak = api.peak_rss_mb()
    finally:
        ceiling.stop()
        api.stop()
    rows = [{"case": name, "connections": conns, **report.aggregate(found),
             "bad_status": _merge_status(found)} for (name, conns), found in runs.items()]
    return {
        "ceiling": {f"rps@{c}": report.aggregate(runs[("ceiling", c)])["rps"] for c in connections},
        "load": [row for row in rows if row["case"] != "ceiling"],
        "api_rss_mb": {"before": round(rss_before, 1), "at_end": round(rss_at_end, 1), "after": round(rss_after, 1),
                       "peak": round(peak, 1)},
        "slow_request_warnings": _count_slow(api.log_path),
    }


def web_session(data_dir: Path, *, user: dict) -> str:
    """A signed-in browser's session cookie for `user`, made in the run's copy of the database."""
    from domain import sessions
    from common.db import open_database
    from common.settings import load_settings

    db = open_database(load_settings(data_dir=data_dir))
    try:
        with db.write_session() as session:
            return sessions.start_session(session, user_id=user["id"], days=1).token
    finally:
        db.dispose()


def _merge_status(runs: list[dict]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for run in runs:
        for status, count in run.get("bad_status", {}).items():
            merged[status] = merged.get(status, 0) + count
    return merged


def _count_slow(log_path: Path) -> int:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return sum(1 for line in text.splitlines() if "slow" in line.lower())
