"""kura-monitor at its default interval, watched from outside for a fixed window: CPU seconds per hour
(and as a share of one core) and RSS, with a real kura-api beside it for its /readyz probe.

RSS is split as the kernel counts it (/proc/PID/status): anonymous memory is the Python heap (what
the imports and the daemon keep), file-backed memory is the shared libraries' pages it touched."""

from __future__ import annotations

import time
from pathlib import Path

from bench import datagen, servers


def rss_split_mb(pid: int) -> dict[str, float]:
    fields = {"RssAnon:": "rss_anon_mb", "RssFile:": "rss_file_mb"}
    split = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition("\t")
        if name in fields:
            split[fields[name]] = round(int(value.split()[0]) / 1024, 1)
    return split


def bench_monitor(work: Path, *, window_s: float) -> dict:
    data = work / "data"
    datagen.create_users(data, [(datagen.MAIN_USER, 0)])
    api = servers.start_api(data, work)
    try:
        env = servers.program_env(data, KURA_MONITOR_API_URL=f"http://127.0.0.1:{api.port}")
        monitor = servers.start("kura-monitor", [str(servers.BIN / "kura-monitor")], env=env, log_dir=work)
        try:
            cpu_at_ready = monitor.cpu_seconds()
            started = time.monotonic()
            time.sleep(window_s)
            cpu = monitor.cpu_seconds() - cpu_at_ready
            elapsed = time.monotonic() - started
            rss, peak, split = monitor.rss_mb(), monitor.peak_rss_mb(), rss_split_mb(monitor.proc.pid)
        finally:
            monitor.stop()
    finally:
        api.stop()
    return {"window_s": round(elapsed, 1), "cpu_seconds": round(cpu, 3),
            "cpu_seconds_per_hour": cpu * 3600 / elapsed, "cpu_percent": cpu / elapsed * 100,
            "startup_cpu_seconds": round(cpu_at_ready, 3), "ready_s": round(monitor.ready_s, 3),
            "rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1), **split}
