"""kura-monitor at its default interval, watched from outside for a fixed window: CPU seconds per hour
(and as a share of one core) and RSS, with a real kura-api beside it for its /readyz probe."""

from __future__ import annotations

import time
from pathlib import Path

from bench import datagen, servers


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
            rss, peak = monitor.rss_mb(), monitor.peak_rss_mb()
        finally:
            monitor.stop()
    finally:
        api.stop()
    return {"window_s": round(elapsed, 1), "cpu_seconds": round(cpu, 3),
            "cpu_seconds_per_hour": cpu * 3600 / elapsed, "cpu_percent": cpu / elapsed * 100,
            "startup_cpu_seconds": round(cpu_at_ready, 3), "ready_s": round(monitor.ready_s, 3),
            "rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1)}
