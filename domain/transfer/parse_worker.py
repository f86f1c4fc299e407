"""The child process of childparse: `python -m domain.transfer.parse_worker FILE OPTIONS NOW FD`.

It parses the open file FILE (a descriptor) as importer.parse_file would (batches.py: no database
code, which would only slow its start) and sends down the pipe FD
(a multiprocessing Connection, so messages are framed and pickled): ("progress", bytes read) as it
reads, ("batch", items) per prepared batch, then ("done", None), or ("error", what went wrong).
A module of its own, not imported by the package: run with -m, it must not be in sys.modules first.
"""

from __future__ import annotations

import json
import sys
from multiprocessing.connection import Connection
from typing import Any

from common.errors import KuraError
from domain.transfer.batches import ImportOptions, prepared_batches


def produce(file: int, options: ImportOptions, now: int, out: Connection) -> None:
    try:
        with open(file, "rb") as source:  # our own descriptor, but the offset is shared: start over
            source.seek(0)
            for batch in prepared_batches(source, options=options, now=now,
                                          progress=lambda n: out.send(("progress", n))):
                out.send(("batch", batch))
        out.send(("done", None))
    except Exception as exc:  # every failure is the parent's to report, in its own words
        out.send(("error", portable(exc)))


def portable(exc: Exception) -> tuple[type[Exception], tuple[Any, ...], dict[str, Any]] | str:
    """Kura's errors as (class, args, attributes), for childparse to rebuild (their keyword-only
    arguments defeat pickle's default for exceptions); anything else as text."""
    if isinstance(exc, KuraError):
        return type(exc), exc.args, dict(exc.__dict__)
    return f"{type(exc).__name__}: {exc}"


def main(argv: list[str]) -> None:
    file, options, now, fd = argv
    out = Connection(int(fd), readable=False)
    try:
        produce(int(file), ImportOptions(**json.loads(options)), int(now), out)
    finally:
        out.close()


if __name__ == "__main__":
    main(sys.argv[1:])
