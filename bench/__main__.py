"""`python -m bench`: run every benchmark in one go, print the tables, write bench/results/<time>.json.

    python -m bench                      # everything, 5 s per case, median of 3 runs
    python -m bench --quick              # 2 s per case, one run, no 1 GB backup file
    python -m bench --only load,startup  # some sections
    python -m bench --only crash --kills 500  # issue 10's crash drill and 200-writer burst
    python -m bench --compare bench/results/OLD.json          # run, then print the change
    python -m bench --show NEW.json --compare OLD.json        # compare two files, no run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench import datagen, report, sections
from common.sqlite import sqlite3

RESULTS = Path(__file__).resolve().parent / "results"
SECTIONS = ("queries", "startup", "load", "import", "backup", "monitor", "crash")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}")
    parser.add_argument("--cases", default="", help="comma-separated load cases (default: all)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each load case")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--quick", action="store_true", help="2 s cases, one run, a 200 MB backup file")
    parser.add_argument("--monitor-window", type=float, default=120.0, help="seconds kura-monitor is watched")
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs per crash drill (--quick: at most 50)")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("KURA_BENCH_CACHE", "/var/tmp/kura-bench")))
    parser.add_argument("--out", type=Path, default=None, help="result file (default bench/results/<time>.json)")
    parser.add_argument("--compare", type=Path, default=None, help="an earlier result to compare with")
    parser.add_argument("--show", type=Path, default=None, help="print this result instead of running")
    parser.add_argument("--markdown", action="store_true", help="also print the README's markdown tables")
    parser.add_argument("--readme", action="store_true", help="write the tables into README.md's benchmarks section")
    parser.add_argument("--merge", type=Path, action="append", default=[],
                        help="take the sections this run skips from an earlier result (repeatable)")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    if args.quick:
        args.seconds, args.repeat, args.monitor_window = min(args.seconds, 2.0), 1, min(args.monitor_window, 30.0)
        args.kills = min(args.kills, 50)
    return args


def machine() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent).stdout.strip()
    return {"host": socket.gethostname(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform(), "commit": commit,
            "wrk": shutil.which("wrk") or "missing"}


def run(args: argparse.Namespace) -> dict:
    started = time.time()
    result: dict = {"meta": {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                             **machine(), "loadavg_start": os.getloadavg(), "seconds_per_case": args.seconds,
                             "repeat": args.repeat, "spec": vars(datagen.Spec())}}
    for name in [s for s in SECTIONS if s in args.only.split(",")]:
        print(f"== {name}", flush=True)
        try:
            result.update(getattr(sections, {"import": "import_"}.get(name, name))(args))
        except Exception as exc:  # noqa: BLE001 - one failed section must not lose the others' figures
            traceback.print_exc()
            result.setdefault("failed", {})[name] = f"{type(exc).__name__}: {exc}"[:2000]
    result["meta"].update(loadavg_end=os.getloadavg(), wall_seconds=round(time.time() - started, 1))
    for earlier in args.merge:
        merge(result, json.loads(earlier.read_text()), source=earlier.name)
    result["targets"] = report.check_targets(result)
    return result


def merge(result: dict, earlier: dict, *, source: str) -> None:
    """Fill in what this run did not measure from an earlier result, and say so in meta."""
    taken = [key for key in earlier if key not in result and key not in ("meta", "targets", "failed")]
    for key in taken:
        result[key] = earlier[key]
    result["meta"].setdefault("merged", []).append(
        {"from": source, "sections": taken, "started": earlier.get("meta", {}).get("started"),
         "loadavg_start": earlier.get("meta", {}).get("loadavg_start"),
         "loadavg_end": earlier.get("meta", {}).get("loadavg_end")})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.show
    if args.show:
        result = json.loads(args.show.read_text())
    else:
        result = run(args)
        out = args.out or RESULTS / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"results written to {out}")
    print(report.render(result))
    if args.readme:
        from bench import readme

        readme.update(Path(__file__).resolve().parent.parent / "README.md", result,
                      source=f"bench/results/{out.name}")
    if args.markdown:
        print("\n" + report.markdown(result))
    if args.compare:
        print("\n" + report.compare_table(report.compare(json.loads(args.compare.read_text()), result)))
    return 1 if result.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
