"""The one failure type of kura-backup: which stage failed, and a one-line reason."""

from __future__ import annotations


class StageError(Exception):
    def __init__(self, stage: str, message: str) -> None:
        # Library errors can run to several lines (SQLAlchemy adds a link); the first says what failed.
        message = next((line.strip() for line in message.splitlines() if line.strip()), message)
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.message = message
