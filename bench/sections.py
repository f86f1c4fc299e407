"""One function per section of the run; each takes the parsed arguments and returns its figures."""

from __future__ import annotations

import argparse
import shutil
import statistics
from pathlib import Path

from bench import api_bench, datagen, servers


def workdir(args: argparse.Namespace, name: str) -> Path:
    """A fresh scratch directory for one section (the dataset cache sits beside it)."""
    path = args.cache / "work" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def dataset(args: argparse.Namespace, target: Path) -> dict:
    """Copy the cached 100k dataset (built on first use, about a minute) into `target`."""
    print("  dataset: 100,000 + 10 x 10,000 bookmarks (cached after the first run)", flush=True)
    source, meta = datagen.cached(datagen.Spec(), args.cache)
    datagen.copy_database(source, target)
    return meta


def startup(args: argparse.Namespace) -> dict:
    """Process start to READY=1 on a real notify socket, on the 100k database; median of runs."""
    work = workdir(args, "startup")
    dataset(args, work / "data")
    times = []
    for _ in range(max(3, args.repeat)):
        proc = servers.start_api(work / "data", work)
        times.append(proc.ready_s)
        proc.stop()
    return {"startup": {"ready_s": statistics.median(times), "runs_s": [round(t, 3) for t in times]}}


def load(args: argparse.Namespace) -> dict:
    work = workdir(args, "load")
    meta = dataset(args, work / "data")
    only = set(filter(None, args.cases.split(","))) or None
    return api_bench.run_load(data_dir=work / "data", log_dir=work, meta=meta, seconds=args.seconds,
                              repeat=args.repeat, only=only)


def queries(args: argparse.Namespace) -> dict:
    from bench import querycount  # imports the app: only when this section runs

    return {"queries": querycount.query_counts()}


def backup(args: argparse.Namespace) -> dict:
    """On the ~1 GB database (built once, several minutes; --quick uses the 100k file instead)."""
    from bench import backup_bench, bigdb

    work = workdir(args, "backup")
    if args.quick:
        source, meta = datagen.cached(datagen.Spec(), args.cache)
    else:
        print("  database: ~1 GB (cached after the first run)", flush=True)
        source, meta = bigdb.cached(args.cache)
    try:
        return {"backup": backup_bench.bench_backup(source, meta, work)}
    finally:
        shutil.rmtree(work, ignore_errors=True)  # two GB-sized files: do not leave them lying about


def import_(args: argparse.Namespace) -> dict:
    from bench import import_bench

    work = workdir(args, "import")
    return {"import": import_bench.bench_import(args.cache, work)}


def monitor(args: argparse.Namespace) -> dict:
    from bench import monitor_bench

    return {"monitor": monitor_bench.bench_monitor(workdir(args, "monitor"), window_s=args.monitor_window)}


def crash(args: argparse.Namespace) -> dict:
    """Issue 10's proofs, longer than CI's: the SIGKILL drill under each `synchronous` setting, and 200
    simultaneous creates with the default settings and with a 2-thread pool."""
    from bench import burst, crash as drill

    work = workdir(args, "crash")
    figures: dict = {}
    for synchronous in ("NORMAL", "FULL"):
        print(f"  drill: {args.kills} SIGKILLs, KURA_SQLITE_SYNCHRONOUS={synchronous}", flush=True)
        figures[f"drill_{synchronous.lower()}"] = drill.drill(
            work / synchronous.lower(), kills=args.kills, env={"KURA_SQLITE_SYNCHRONOUS": synchronous})
    print("  burst: 200 simultaneous creates", flush=True)
    figures["burst"] = burst.run_burst(work / "burst")
    figures["burst_2_threads"] = burst.run_burst(work / "burst-2-threads", env={"KURA_API_THREADS": "2"})
    return {"crash": figures}
