"""Drive load with wrk (Debian's package) from a separate process and read its figures back.

wrk is closed-loop: each connection sends its next request when the last answer arrives, so the
figures are the service time under N concurrent clients. Lua hooks count bad statuses and print
percentiles as one JSON line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

WRK_DIR = Path(__file__).resolve().parent / "wrk"
MARKER = "KURA_BENCH_JSON "


class LoadError(RuntimeError):
    pass


def lua_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {lua_literal(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))  # a JSON string literal is a valid Lua string literal


def build_script(params: dict[str, object]) -> str:
    parts = [f"P = {lua_literal(params)}\n"]
    parts.append((WRK_DIR / "requests.lua").read_text())
    parts.append((WRK_DIR / "report.lua").read_text())
    return "\n".join(parts)


def parse_output(stdout: str) -> dict:
    """The JSON line from report.lua turned into the harness's figures (ms, req/s)."""
    for line in stdout.splitlines():
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER):])
            break
    else:
        raise LoadError(f"wrk printed no result:\n{stdout[-1500:]}")
    seconds = raw["duration_us"] / 1e6
    errors = raw["errors"]
    lat = {key: value / 1000 for key, value in raw["latency_us"].items()}
    if raw["requests"] == 0:
        # Not one answer in the whole run: a stall. Count it as an error and give every latency the
        # run's length, a lower bound, so no target can read "0 ms" as a pass.
        errors["no_answer"] = 1
        lat = {key: raw["duration_us"] / 1000 for key in lat}
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "p50_ms": lat["p50"], "p90_ms": lat["p90"], "p95_ms": lat["p95"], "p99_ms": lat["p99"],
        "max_ms": lat["max"], "mean_ms": lat["mean"],
        "errors": sum(errors.values()),
        "error_kinds": {k: v for k, v in errors.items() if v},
        "bad_status": raw["bad_status"],
        "mb_per_s": raw["bytes"] / seconds / 1_048_576 if seconds else 0.0,
    }


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise LoadError("wrk is not installed: run bench/run.sh (it installs it) or `apt-get install -y wrk`")
    return found


def run_wrk(url: str, *, params: dict[str, object], connections: int, seconds: float,
            threads: int = 1, timeout_s: int = 10) -> dict:
    """Run wrk against `url` for `seconds` with `connections` and return parsed figures."""
    threads = max(1, min(threads, connections))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="kura-bench-", delete=False) as script:
        script.write(build_script({**params, "threads": threads}))
    try:
        argv = [wrk_binary(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                f"--timeout={timeout_s}s", "-s", script.name, url]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    finally:
        Path(script.name).unlink(missing_ok=True)
    if done.returncode != 0:
        raise LoadError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return parse_output(done.stdout)
