"""`kura-backup`: run, list, verify, restore, check. Every failure is one line on stderr and exit 1."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

from loguru import logger

from backup import job
from backup.errors import StageError
from backup.files import BackupLocked, reading
from backup.manifest import list_backups
from backup.restore import restore
from backup.verify import verify_file
from common.cmdline import program_parser
from common.settings import Settings
from common.startup import boot


class CliError(Exception):
    """A failure worth one line on stderr and exit status 1."""


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    result = job.run_job(settings, force=args.force, keep=args.keep)
    print(result.entry.data_path)


def cmd_list(settings: Settings, args: argparse.Namespace) -> None:
    entries = list_backups(settings.backups_path)
    if args.json:
        rows = [{"file": str(e.data_path), "created_at": e.created_at.isoformat(),
                 "size_bytes": e.manifest.compressed_size, "source_size": e.manifest.source_size,
                 "sha256": e.manifest.sha256, "verified": e.manifest.verified, "keep": e.manifest.kept}
                for e in entries]
        print(json.dumps(rows, indent=2))
        return
    if not entries:
        print(f"no backups in {settings.backups_path}")
    for e in entries:
        state = "verified" if e.manifest.verified else "UNVERIFIED"
        kept = "kept" if e.manifest.kept else ""
        print(f"{e.created_at:%Y-%m-%d %H:%M:%S}Z  {e.manifest.compressed_size:>12,}  {state:<10}  {kept:<4}  "
              f"{e.data_path.name}")


def _verify_targets(settings: Settings, args: argparse.Namespace) -> list[Path]:
    if args.all:
        return [e.data_path for e in list_backups(settings.backups_path)]
    path = Path(args.file)
    if not path.is_file() and (settings.backups_path / args.file).is_file():
        return [settings.backups_path / args.file]
    return [path]


def cmd_verify(settings: Settings, args: argparse.Namespace) -> None:
    if args.all == bool(args.file):
        raise CliError("give one backup FILE or --all")
    # Listed and verified under the folder's read lock: no run prunes a listed backup meanwhile.
    if args.all and not settings.backups_path.is_dir():
        raise CliError(f"no backups to verify in {settings.backups_path}")
    with reading(settings.backups_path) if args.all else nullcontext():
        paths = _verify_targets(settings, args)
        failed = []
        for path in paths:
            try:
                verify_file(path)
                print(f"ok      {path.name}")
            except StageError as exc:
                print(f"FAILED  {path.name}: {exc.message.removeprefix(path.name + ': ')}")
                failed.append(path.name)
    if failed:
        raise CliError(f"{len(failed)} of {len(paths)} backup(s) failed verification")
    if not paths:
        raise CliError(f"no backups to verify in {settings.backups_path}")


def cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    target = restore(settings, source=args.file, to=args.to, force=args.force)
    print(f"restored {args.file} to {target}")
    if args.to is None:
        print("start the API again: systemctl start kura-api")


def cmd_check(settings: Settings, args: argparse.Namespace) -> None:
    ok, message = job.check_job(settings)
    if not ok:
        raise CliError(message)
    print(message)


def build_parser() -> argparse.ArgumentParser:
    parser = program_parser("kura-backup", "Kura's backup job and its tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="`kura-backup COMMAND --help` shows its arguments")
    p = sub.add_parser("run", help="take, verify and publish a backup, then apply retention")
    p.add_argument("--force", action="store_true",
                   help="back up a source the guard refuses (no schema, or lost most rows); prunes nothing")
    p.add_argument("--keep", action="store_true",
                   help="keep this backup for good: retention never deletes it (delete it by hand)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("list", help="list backups with date, size and verified state")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("verify", help="decompress and check SHA-256 and integrity")
    p.add_argument("file", nargs="?", help="a backup file (path or name in the backup folder)")
    p.add_argument("--all", action="store_true", help="verify every backup")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("restore", help="verify a backup and restore it")
    p.add_argument("file", help="a backup file (path or name in the backup folder)")
    p.add_argument("--to", type=Path, help="restore to this path instead of the live database")
    p.add_argument("--force", action="store_true", help="swap even if a process seems to hold the database")
    p.set_defaults(func=cmd_restore)
    sub.add_parser("check", help="fail (and mail) if the newest verified backup is too old").set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = boot("kura-backup")
    if settings is None:
        return 1
    func: Callable[[Settings, argparse.Namespace], None] = args.func
    try:
        func(settings, args)
    except (CliError, StageError, BackupLocked, OSError) as exc:
        message = exc.message if isinstance(exc, StageError) else str(exc)
        stage = f"{exc.stage} failed: " if isinstance(exc, StageError) else ""
        print(f"kura-backup {args.command}: {stage}{message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        logger.warning("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback: one line, exit 1, the details in the log
        logger.opt(exception=exc).debug("unexpected error")
        print(f"kura-backup {args.command}: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
