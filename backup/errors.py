"""The one failure type of kura-backup: which stage failed, and a one-line reason."""

from __future__ import annotations


class StageError(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.message = message
