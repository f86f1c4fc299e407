"""Run README.md's `sh` blocks as written, in order, in one shell, and compare answers with the README.

A step is one command of a block; the comment lines right under it (no blank line between) are the
answer the README shows. Comparing, whitespace (where the README wraps a long answer) may be any or
none, `…` or `...` stands for anything, and ISO times match any time. Everything else must be equal.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

SECTION = re.compile(r"<!-- section: (\S+) -->")
END = re.compile(r"<!-- end: \S+ -->")
FENCE = re.compile(r"(\s*)```(\w*)$")
ANNOTATION = re.compile(r"\s+\((stdout|stderr)\)$")  # "(stdout)" beside a shown line says where it goes
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
ELLIPSIS = re.compile(r"(\s+|\.\.\.|…)")


@dataclass
class Step:
    section: str
    line: int  # of README.md, for messages
    command: str
    shown: list[str] = field(default_factory=list)

    def agrees(self, actual: str) -> bool:
        """Whether `actual` (stdout then stderr) is the answer shown; a step showing none always agrees."""
        if not self.shown:
            return True
        pattern = ""
        for piece in ELLIPSIS.split(TIME.sub("<time>", " ".join(self.shown))):
            if piece and piece.isspace():
                pattern += r"\s*"
            elif piece in ("...", "…"):
                pattern += ".*?"
            else:
                pattern += re.escape(piece)
        return re.fullmatch(rf"\s*{pattern}\s*", TIME.sub("<time>", actual), re.S) is not None


def _block_steps(section: str, lines: list[tuple[int, str]]) -> list[Step]:
    steps: list[Step] = []
    current: Step | None = None
    pending: list[str] = []
    for number, text in lines:
        if pending:  # a command continued with a backslash
            pending.append(text)
            if not text.endswith("\\"):
                steps[-1].command = "\n".join(pending)
                pending = []
        elif not text.strip():
            current = None
        elif text.startswith("#"):
            if current is not None:  # right under a command: its answer; else a remark
                current.shown.append(ANNOTATION.sub("", text[1:].strip()))
        else:
            current = Step(section, number, text)
            steps.append(current)
            if text.endswith("\\"):
                pending = [text]
    return steps


def read_steps(readme: str, sections: tuple[str, ...]) -> list[Step]:
    """The steps of every `sh` block in these sections, in README order (fences may be indented)."""
    steps: list[Step] = []
    section: str | None = None
    block: list[tuple[int, str]] | None = None
    indent = ""
    for number, text in enumerate(readme.splitlines(), 1):
        if block is not None:
            if text.strip() == "```":
                steps += _block_steps(section or "", block)
                block = None
            else:
                block.append((number, text.removeprefix(indent)))
        elif (start := SECTION.fullmatch(text.strip())) is not None:
            section = start.group(1)
        elif END.fullmatch(text.strip()):
            section = None
        elif section in sections and (fence := FENCE.fullmatch(text)) is not None and fence.group(2) == "sh":
            block, indent = [], fence.group(1)
    return steps


class Shell:
    """One bash, as a user's terminal: variables and exports carry from one command to the next."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.runs = cwd, 0
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def run(self, command: str, timeout: float = 120.0) -> tuple[int, str]:
        """Exit status and output (stdout, then stderr) of one command."""
        self.runs += 1
        out, err, status = (self.cwd / f".step{self.runs}.{kind}" for kind in ("out", "err", "status"))
        done = f"__step_{self.runs}_done__"
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{{\n{command}\n}} >{out} 2>{err} </dev/null; echo $? >{status}; echo {done}\n")
        self.proc.stdin.flush()
        while self.lines.get(timeout=timeout) != done:
            pass
        answer = out.read_text() + err.read_text()
        code = int(status.read_text())
        for path in (out, err, status):
            os.unlink(path)
        return code, answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
