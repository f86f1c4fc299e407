"""The parse's half of an import: its options and the file read into prepared batches.

What the parser process (parse_worker) runs, so it imports no database code: starting that process
is on the path to the first write. importer.py writes the batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, BinaryIO, Literal

from common.errors import BadRequest
from domain.transfer.entries import EntryError
from domain.transfer.reader import Progress, read_items
from domain.transfer.rows import prepared

BATCH = 2000
Mode = Literal["skip", "strict"]


@dataclass(frozen=True)
class ImportOptions:
    folders_as_tags: bool = False
    mode: Mode = "skip"  # skip: broken entries are reported and skipped; strict: one rejects the file


class StrictImportFailed(BadRequest):
    code = "import_rejected"


def prepared_batches(source: BinaryIO, *, options: ImportOptions, now: int,
                     progress: Progress | None = None) -> Iterator[list[Any]]:
    """The file read, validated and normalised, BATCH items at a time; BadFile, or in strict mode
    StrictImportFailed, where it goes wrong."""
    items = prepared(read_items(source, progress=progress), folders_as_tags=options.folders_as_tags, now=now)
    while batch := list(islice(items, BATCH)):
        if options.mode == "strict":
            _reject_broken(batch)
        yield batch


def _reject_broken(batch: list[Any]) -> None:
    broken = next((item for item in batch if isinstance(item, EntryError)), None)
    if broken is not None:
        where = f"line {broken.line}: " if broken.line is not None else ""
        raise StrictImportFailed(f"import rejected, nothing was changed: {where}{broken.reason}",
                                 details={"line": broken.line, "reason": broken.reason})
