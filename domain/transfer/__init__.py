"""Import and export: browser bookmark files (Netscape format) and Kura's own JSON.

Shared by the API (api/routes/transfer.py) and the CLI (cli/transfer.py). The names below load on
first use (PEP 562): the import's parser process runs `domain.transfer.parse_worker`, and loading
this package must not pull the database code in with it (half a second before the first batch).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domain.transfer.batches import ImportOptions, StrictImportFailed
    from domain.transfer.childparse import read_import
    from domain.transfer.entries import BadFile
    from domain.transfer.exporter import export_json, export_netscape
    from domain.transfer.importer import (
        ImportResult,
        ParsedImport,
        import_file,
        import_parsed,
        parse_file,
        write_parsed,
    )

_HOMES = {
    "ImportOptions": "batches", "StrictImportFailed": "batches", "read_import": "childparse", "BadFile": "entries",
    "export_json": "exporter", "export_netscape": "exporter", "ImportResult": "importer",
    "ParsedImport": "importer", "import_file": "importer", "import_parsed": "importer", "parse_file": "importer",
    "write_parsed": "importer",
}
MEDIA_TYPES = {"netscape": "text/html; charset=utf-8", "json": "application/json"}
SUFFIXES = {"netscape": "html", "json": "json"}

__all__ = [*_HOMES, "EXPORTERS", "MEDIA_TYPES", "SUFFIXES"]


def __getattr__(name: str) -> Any:
    if name == "EXPORTERS":
        exporter = importlib.import_module("domain.transfer.exporter")
        return {"netscape": exporter.export_netscape, "json": exporter.export_json}
    if name in _HOMES:
        return getattr(importlib.import_module(f"domain.transfer.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
