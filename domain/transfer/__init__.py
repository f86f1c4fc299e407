"""Import and export: browser bookmark files (Netscape format) and Kura's own JSON.

Shared by the API (api/routes/transfer.py) and the CLI (common/cli_transfer.py).
"""

from domain.transfer.childparse import read_import
from domain.transfer.entries import BadFile
from domain.transfer.exporter import export_json, export_netscape
from domain.transfer.importer import (
    ImportOptions,
    ImportResult,
    ParsedImport,
    StrictImportFailed,
    import_file,
    import_parsed,
    parse_file,
    write_parsed,
)

EXPORTERS = {"netscape": export_netscape, "json": export_json}
MEDIA_TYPES = {"netscape": "text/html; charset=utf-8", "json": "application/json"}
SUFFIXES = {"netscape": "html", "json": "json"}

__all__ = [
    "BadFile", "EXPORTERS", "ImportOptions", "ImportResult", "MEDIA_TYPES", "ParsedImport", "SUFFIXES",
    "StrictImportFailed", "export_json", "export_netscape", "import_file", "import_parsed", "parse_file", "read_import",
    "write_parsed",
]
