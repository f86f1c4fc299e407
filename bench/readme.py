"""Put a result's tables into the README's benchmarks section (between its markers, nothing else)."""

from __future__ import annotations

from pathlib import Path

from bench import report

START, END = "<!-- section: benchmarks -->", "<!-- end: benchmarks -->"
LATEST = "**Latest run**"


def latest_block(result: dict, *, source: str) -> str:
    meta = result.get("meta", {})
    lines = [LATEST, "", f"`{source}`: {meta.get('started')}, {meta.get('host')} ({meta.get('cpus')} CPUs), "
             f"commit {meta.get('commit')}, {meta.get('seconds_per_case')} s per case, median of "
             f"{meta.get('repeat')}; load average at start {_loads(meta.get('loadavg_start'))}, at end "
             f"{_loads(meta.get('loadavg_end'))}."]
    for merged in meta.get("merged", []):
        lines.append(f"Sections {', '.join(merged['sections'])} come from `{merged['from']}` (started "
                     f"{merged['started']}, load average {_loads(merged.get('loadavg_start'))} → "
                     f"{_loads(merged.get('loadavg_end'))}).")
    lines += ["", report.markdown(result), "", "```", *_others(result), "```"]
    return "\n".join(lines)


def _others(result: dict) -> list[str]:
    text = report.render(result).splitlines()
    keep = ("ceiling", "API RSS MB", "startup:", "import:", "backup:", "monitor:", "crash ")
    return [line for line in text if line.startswith(keep)] + ["", report.queries_table(result.get("queries", {}))]


def _loads(values: object) -> str:
    return "/".join(f"{v:.2f}" for v in values) if isinstance(values, (list, tuple)) else "?"


def update(readme: Path, result: dict, *, source: str) -> None:
    """Replace everything from the "Latest run" heading to the section's end marker."""
    text = readme.read_text()
    start, end = text.index(START), text.index(END)
    section = text[start:end]
    cut = section.index(LATEST) if LATEST in section else len(section)
    new_section = section[:cut] + latest_block(result, source=source) + "\n"
    readme.write_text(text[:start] + new_section + text[end:])
