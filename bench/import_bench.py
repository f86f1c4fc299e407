"""Import of a 100,000-bookmark Netscape file: through `kura import` (seconds, CPU seconds, peak RSS of
the process) and through POST /api/v1/import on a fresh kura-api (seconds, the API's CPU seconds for
the request, peak RSS and RSS after)."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

from bench import datagen, netscape, servers

COUNT = 100_000


def netscape_file(cache: Path, count: int = COUNT) -> Path:
    path = cache / f"netscape-{count}-v{datagen.GENERATOR_VERSION}.html"
    if not path.exists():
        temp = path.with_suffix(".tmp")
        netscape.write(temp, count=count)
        temp.replace(path)
    return path


def via_cli(source: Path, work: Path) -> dict:
    data = work / "cli"
    datagen.create_users(data, [(datagen.MAIN_USER, 0)])
    argv = [str(servers.BIN / "kura"), "import", str(source), "--user", datagen.MAIN_USER]
    figures = servers.run_timed(argv, env=servers.program_env(data), log_path=work / "import-cli.log")
    if figures["exit"] != 0:
        raise RuntimeError(f"kura import exited {figures['exit']}: see {work / 'import-cli.log'}")
    return {**figures, "imported": _count(data / "kura.db")}


def via_api(source: Path, work: Path) -> dict:
    data = work / "api"
    _, users = datagen.create_users(data, [(datagen.MAIN_USER, 0)])
    api = servers.start_api(data, work)
    try:
        rss_before = api.rss_mb()
        body = source.read_bytes()
        cpu_before = api.cpu_seconds()
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=600)
        started = time.perf_counter()
        conn.request("POST", "/api/v1/import", body=body, headers={
            "Authorization": f"Bearer {users[0]['token']}", "Content-Type": "text/html"})
        try:
            response = conn.getresponse()
            answer = response.read()
        finally:
            conn.close()
        seconds = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"POST /api/v1/import answered {response.status}: {answer[:300]!r}")
        summary = json.loads(answer)
        # CPU seconds hold up when other work competes for the cores; wall seconds do not.
        return {"seconds": seconds, "cpu_seconds": api.cpu_seconds() - cpu_before,
                "peak_rss_mb": api.peak_rss_mb(), "rss_before_mb": rss_before,
                "rss_after_mb": api.rss_mb(), "created": summary.get("created"), "skipped": summary.get("skipped")}
    finally:
        api.stop()


def _count(db_path: Path) -> int:
    from common.sqlite import sqlite3

    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT count(*) FROM bookmarks").fetchone()[0])


def bench_import(cache: Path, work: Path, count: int = COUNT) -> dict:
    source = netscape_file(cache, count)
    return {"file_mb": round(source.stat().st_size / 1e6, 1), "bookmarks": count,
            "cli": via_cli(source, work), "api": via_api(source, work)}
