"""The README update touches only the benchmarks section's latest-run block."""

from __future__ import annotations

from pathlib import Path

from bench import readme, report

README = """# Kura
<!-- section: api -->
api text
<!-- end: api -->

<!-- section: benchmarks -->
## Benchmarks
How to run it.

**Latest run**

old table
<!-- end: benchmarks -->
after
"""


def test_update_replaces_the_latest_run_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(README)
    result = {"meta": {"started": "2026-11-23T18:30:00Z", "host": "vm", "cpus": 2, "repeat": 3,
                       "loadavg_start": [0.3, 0.5, 0.9], "loadavg_end": [1.0, 0.7, 0.8]},
              "startup": {"ready_s": 0.9}, "queries": {"get_one": {"10": 3, "1000": 3}}}
    result["targets"] = report.check_targets(result)
    readme.update(path, result, source="bench/results/x.json")
    text = path.read_text()
    assert "old table" not in text and "How to run it." in text and "api text" in text
    assert text.endswith("<!-- end: benchmarks -->\nafter\n")
    assert "load average at start 0.30/0.50/0.90" in text and "| API start to READY (s) | 0.9 | <= 1.5 | ok |" in text
    readme.update(path, result, source="bench/results/x.json")
    assert path.read_text() == text  # idempotent: a second update leaves one block
