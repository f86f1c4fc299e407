"""Aggregate repeated runs, check the issue's targets, print tables and compare two result files."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

METRICS = ("rps", "p50_ms", "p95_ms", "p99_ms", "max_ms", "cpu_ms_per_req", "drain_s", "rss_mb")
LIST_CASES = ("list_newest_50", "list_two_tags")
WRITE_CASES = ("create", "update", "delete")
# Figures where a larger value is better; for the rest (latencies, seconds, memory) smaller is better.
HIGHER_IS_BETTER = {"rps", "ratio", "mb_per_s", "kills", "acknowledged", "created", "readyz_polls"}


def aggregate(runs: list[dict]) -> dict:
    """The median of each figure over repeated runs; errors are summed, since any error counts."""
    if not runs:
        raise ValueError("no runs to aggregate")
    out: dict[str, object] = {key: statistics.median(run[key] for run in runs) for key in (*METRICS, "ratio")
                              if all(key in run for run in runs)}
    out["errors"] = sum(run["errors"] for run in runs)
    out["runs"] = len(runs)
    return out


def check_targets(result: dict) -> list[dict]:
    """Each target of issues 7, 10 and 11 that this result has a figure for: value, limit, verdict."""
    checks: list[dict] = []

    def add(figure: str, value: float | None, limit: float, *, at_least: bool = False) -> None:
        if value is not None:
            ok = value >= limit if at_least else value <= limit
            checks.append({"figure": figure, "value": round(value, 3), "limit": limit,
                           "op": ">=" if at_least else "<=", "ok": ok})

    load = {(row["case"], row["connections"]): row for row in result.get("load", [])}
    _load_targets(add, load)
    if load:
        add("errors under load", sum(row["errors"] for row in load.values()), 0)
    add("API RSS after load (MB)", result.get("api_rss_mb", {}).get("after"), 120)
    imp = result.get("import", {})
    for via in ("cli", "api"):
        add(f"import 100k via {via} (s)", imp.get(via, {}).get("seconds"), 10)
        add(f"import 100k via {via} peak RSS (MB)", imp.get(via, {}).get("peak_rss_mb"), 300)
    backup = result.get("backup", {})
    add("backup of 1 GB (s)", backup.get("seconds"), 20)
    add("write p99 during backup / without", backup.get("write_p99_ratio"), 2.0)
    monitor = result.get("monitor", {})
    add("monitor CPU (% of one core)", monitor.get("cpu_percent"), 1.0)
    add("monitor RSS (MB)", monitor.get("rss_mb"), 50)
    add("API start to READY (s)", result.get("startup", {}).get("ready_s"), 1.5)
    version = result.get("meta", {}).get("sqlite")
    if version:  # the bench's own, which is the API's: one virtualenv, one common/sqlite.py
        checks.append({"figure": "SQLite in use (3.51.3 fixes the WAL reset)", "value": version, "limit": "3.51.3",
                       "op": ">=", "ok": tuple(int(n) for n in version.split(".")) >= (3, 51, 3)})
    for key, figures in result.get("crash", {}).items():
        if key.startswith("drill"):
            name = f"crash drill {figures.get('synchronous')}"
            add(f"{name}: acknowledged but lost", figures.get("lost"), 0)
            add(f"{name}: acknowledged ids reused", figures.get("ids_reused"), 0)
            add(f"{name}: integrity and FTS checks ok", float(_checks_ok(figures)), 1, at_least=True)
        elif key.startswith("burst"):
            name = f"{figures.get('writers')} writers ({figures.get('settings')})"
            add(f"{name}: requests without an answer", figures.get("unanswered"), 0)
            add(f"{name}: slowest /readyz (s)", figures.get("readyz_max_s"), 1.0)
    return checks


def _load_targets(add, load: dict) -> None:  # type: ignore[no-untyped-def]
    """Issue 11's: CPU per request first (it holds up on a busy machine), then ratios and latency."""
    def fig(case: str, conns: int, key: str) -> float | None:
        return load.get((case, conns), {}).get(key)

    for case in LIST_CASES:
        add(f"{case} CPU ms/req @4", fig(case, 4, "cpu_ms_per_req"), 0.7)
        add(f"{case} / ceiling @32", fig(case, 32, "ratio"), 0.30, at_least=True)
        add(f"p99 {case} @4 (ms)", fig(case, 4, "p99_ms"), 25)
        add(f"p99 {case} @32 (ms)", fig(case, 32, "p99_ms"), 100)
    add("get_one / ceiling @32", fig("get_one", 32, "ratio"), 0.5, at_least=True)
    add("list_newest_50_304 / ceiling @32", fig("list_newest_50_304", 32, "ratio"), 0.7, at_least=True)
    html, json_list = fig("html_list_50", 4, "cpu_ms_per_req"), fig("list_newest_50", 4, "cpu_ms_per_req")
    add("html_list_50 CPU / list_newest_50 CPU @4", html / json_list if html and json_list else None, 2.0)
    add("search_common CPU ms/req @4", fig("search_common", 4, "cpu_ms_per_req"), 3.0)
    add("p99 search_common @4 (ms)", fig("search_common", 4, "p99_ms"), 50)
    add("search_rare CPU ms/req @4", fig("search_rare", 4, "cpu_ms_per_req"), 1.0)
    for case in WRITE_CASES:
        add(f"{case} CPU ms/req @4", fig(case, 4, "cpu_ms_per_req"), 2.0)
        add(f"p99 {case} @4 (ms)", fig(case, 4, "p99_ms"), 50)


def _checks_ok(drill: dict) -> bool:
    return drill.get("integrity") == "ok" and drill.get("fts_integrity") == "ok"


def table(headers: list[str], rows: Iterable[list[object]]) -> str:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return "-" if value is None else str(value)


def load_table(result: dict) -> str:
    rows = [[r["case"], r["connections"], r["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["max_ms"],
             r["errors"], r.get("ratio"), r.get("cpu_ms_per_req")] for r in result.get("load", [])]
    return table(["endpoint", "conns", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "x ceiling",
                  "CPU ms/req"], rows)


def targets_table(checks: list[dict]) -> str:
    rows = [[c["figure"], c["value"], f'{c["op"]} {c["limit"]}', "ok" if c["ok"] else "MISSED"] for c in checks]
    return table(["target", "value", "limit", ""], rows)


def flatten(result: dict) -> dict[str, float]:
    """Every comparable figure of a result under a stable name, e.g. `load.get_one@32.p99_ms`."""
    flat: dict[str, float] = {}
    for row in result.get("load", []):
        for key in (*METRICS, "ratio", "errors"):
            if isinstance(row.get(key), (int, float)):
                flat[f"load.{row['case']}@{row['connections']}.{key}"] = float(row[key])
    for section in ("ceiling", "api_rss_mb", "import", "backup", "monitor", "startup", "crash"):
        _flatten_into(flat, section, result.get(section, {}))
    return flat


def _flatten_into(flat: dict[str, float], prefix: str, value: object) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten_into(flat, f"{prefix}.{key}", inner)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        flat[prefix] = float(value)


def change(old: float, new: float) -> float | None:
    """Relative change in percent; None when the old value is zero (no meaningful ratio)."""
    return None if old == 0 else (new - old) / abs(old) * 100


def compare(old: dict, new: dict) -> list[dict]:
    """Figures present in both results with their change and whether it is an improvement."""
    before, after = flatten(old), flatten(new)
    rows = []
    for name in sorted(before.keys() & after.keys()):
        pct = change(before[name], after[name])
        metric = name.rsplit(".", 1)[-1]
        better = None if pct is None or pct == 0 else (pct > 0) == (metric in HIGHER_IS_BETTER)
        rows.append({"figure": name, "old": before[name], "new": after[name], "change_pct": pct, "better": better})
    return rows


def compare_table(rows: list[dict]) -> str:
    def verdict(row: dict) -> str:
        return "" if row["better"] is None else "better" if row["better"] else "worse"

    return table(["figure", "old", "new", "change %", ""],
                 [[r["figure"], r["old"], r["new"], r["change_pct"], verdict(r)] for r in rows])


def render(result: dict) -> str:
    meta = result.get("meta", {})
    out = [f"Kura bench {meta.get('started')} on {meta.get('host')} ({meta.get('cpus')} CPUs, commit "
           f"{meta.get('commit')}); load average at start {_loads(meta.get('loadavg_start'))}, at end "
           f"{_loads(meta.get('loadavg_end'))}; {meta.get('seconds_per_case')} s per case, median of "
           f"{meta.get('repeat')}"]
    for merged in meta.get("merged", []):
        out.append(f"sections {', '.join(merged['sections'])} from {merged['from']} (started {merged['started']}, "
                   f"load average at start {_loads(merged.get('loadavg_start'))}, at end "
                   f"{_loads(merged.get('loadavg_end'))})")
    if result.get("load"):
        out += ["", f"ceiling req/s: {result.get('ceiling')}", load_table(result),
                f"API RSS MB: {result.get('api_rss_mb')}"]
    for section in ("startup", "import", "backup", "monitor"):
        if section in result:
            out.append(f"{section}: {_inline(result[section])}")
    out += crash_lines(result.get("crash", {}))
    if result.get("queries"):
        out += ["", queries_table(result["queries"])]
    if result.get("targets"):
        out += ["", targets_table(result["targets"])]
    for name, error in result.get("failed", {}).items():
        out.append(f"FAILED {name}: {error.splitlines()[0]}")
    return "\n".join(out)


def crash_lines(crash: dict) -> list[str]:
    """One line per drill and per burst, each starting with "crash" (the README keeps such lines)."""
    out = []
    for key, f in crash.items():
        if key.startswith("drill"):
            out.append(f"crash drill, synchronous={f.get('synchronous')}: kills {f.get('kills')}, acknowledged "
                       f"{f.get('acknowledged')}, lost {f.get('lost')}, ids reused {f.get('ids_reused')}, "
                       f"integrity {f.get('integrity')}, FTS {f.get('fts_integrity')}"
                       + (f", stale answers {f['stale_answers']}" if "stale_answers" in f else ""))
        elif key.startswith("burst"):
            out.append(f"crash burst, {f.get('writers')} simultaneous creates ({f.get('settings')}): 201 x "
                       f"{f.get('created')}, 503 x {f.get('busy_503')}, no answer {f.get('unanswered')}; p50 "
                       f"{_fmt(f.get('p50_s'))} s, p99 {_fmt(f.get('p99_s'))} s, max {_fmt(f.get('max_s'))} s; "
                       f"slowest /readyz {_fmt(f.get('readyz_max_s'))} s of {f.get('readyz_polls')}")
    return out


def queries_table(queries: dict) -> str:
    sizes = sorted({size for counts in queries.values() for size in counts}, key=int)
    return table(["endpoint", *(f"queries @{s}" for s in sizes)],
                 [[name, *(counts.get(s) for s in sizes)] for name, counts in queries.items()])


def _loads(values: object) -> str:
    return "/".join(f"{v:.2f}" for v in values) if isinstance(values, (list, tuple)) else "?"


def _inline(section: dict) -> str:
    return ", ".join(f"{k} {_fmt(v) if not isinstance(v, dict) else _inline(v)}" for k, v in section.items())


def markdown(result: dict) -> str:
    """The README's table: one row per endpoint and connection count, then the targets."""
    def row(values: list[object]) -> str:
        return "| " + " | ".join(_fmt(v) for v in values) + " |"

    out = ["| endpoint | conns | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | × ceiling | CPU ms/req |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    out += [row([r["case"], r["connections"], r["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["max_ms"],
                 r["errors"], r.get("ratio"), r.get("cpu_ms_per_req")]) for r in result.get("load", [])]
    out += ["", "| target | value | limit | |", "|---|---:|---:|---|"]
    out += [row([c["figure"], c["value"], f'{c["op"]} {c["limit"]}', "ok" if c["ok"] else "**missed**"])
            for c in result.get("targets", [])]
    return "\n".join(out)
