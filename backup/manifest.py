"""The JSON manifest written beside each backup, and the listing of backups from the manifests.

The manifest is written LAST, after the compressed file is complete, verified and renamed into place:
a backup file without a manifest is not a backup, and nothing here lists it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger

from common.files import is_temp, write_atomic

DATA_SUFFIX = ".db.zst"
MANIFEST_SUFFIX = ".manifest.json"
FORMAT = 1


def backup_stem(created_at: datetime) -> str:
    # Microseconds keep two runs in one second apart; the name sorts in time order.
    return "kura-" + created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


@dataclass
class Manifest:
    file: str
    created_at: datetime
    source_size: int
    compressed_size: int
    sha256: str
    raw_sha256: str
    row_counts: dict[str, int]
    newest_bookmark_id: int | None
    schema_revision: str | None
    sqlite_version: str
    kura_version: str
    duration_s: float
    verified: bool
    format: int = FORMAT
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def kept(self) -> bool:
        """Taken with `kura-backup run --keep`: retention never deletes it. Under ``extra`` so that an
        older Kura still reads the manifest."""
        return bool(self.extra.get("keep"))

    def to_json(self) -> bytes:
        data = asdict(self)
        data["created_at"] = self.created_at.astimezone(UTC).isoformat()
        return json.dumps(data, indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        created = datetime.fromisoformat(data.pop("created_at"))
        if created.tzinfo is None:
            raise ValueError("created_at has no time zone")
        return cls(created_at=created.astimezone(UTC), **data)


@dataclass(frozen=True)
class Entry:
    """A listed backup: its manifest and where its files are."""

    manifest: Manifest
    data_path: Path
    manifest_path: Path

    @property
    def created_at(self) -> datetime:
        return self.manifest.created_at


def manifest_path_for(data_path: Path) -> Path:
    return data_path.with_name(data_path.name.removesuffix(DATA_SUFFIX) + MANIFEST_SUFFIX)


def write_manifest(data_path: Path, manifest: Manifest) -> Path:
    target = manifest_path_for(data_path)
    write_atomic(target, manifest.to_json())
    return target


def read_manifest(data_path: Path) -> Manifest:
    return Manifest.from_json(manifest_path_for(data_path).read_bytes())


def list_backups(directory: Path) -> list[Entry]:
    """Backups that have a readable manifest and their data file, oldest first."""
    entries: list[Entry] = []
    if not directory.is_dir():
        return entries
    for mpath in directory.glob(f"*{MANIFEST_SUFFIX}"):
        if is_temp(mpath):
            continue
        data_path = mpath.with_name(mpath.name.removesuffix(MANIFEST_SUFFIX) + DATA_SUFFIX)
        try:
            manifest = Manifest.from_json(mpath.read_bytes())
        except (OSError, ValueError, TypeError, KeyError) as exc:
            logger.warning("ignoring unreadable manifest {}: {}", mpath.name, exc)
            continue
        if data_path.is_file():
            entries.append(Entry(manifest=manifest, data_path=data_path, manifest_path=mpath))
    entries.sort(key=lambda e: e.created_at)
    return entries


def orphans(directory: Path) -> list[Path]:
    """Final-named data files with no manifest (a run killed between rename and manifest)."""
    return [
        p for p in directory.glob(f"*{DATA_SUFFIX}")
        if not is_temp(p) and not manifest_path_for(p).exists()
    ]
