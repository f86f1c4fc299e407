"""Stand-ins for the monitor's own parts, kept out of the product so it ships no test code."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from monitor.metrics import Reading, reading_from


class ScriptedSource:
    """Replays readings given as dicts (see ``reading_from``); repeats the last one when it runs out.

    ``hold()`` makes the next ``read()`` block until ``release()``: a wedged probe on demand.
    """

    def __init__(self, readings: Iterable[dict[Any, float] | Reading]) -> None:
        self._readings = [r if isinstance(r, Reading) else reading_from(r) for r in readings]
        if not self._readings:
            raise ValueError("a scripted source needs at least one reading")
        self._next = 0
        self._open = threading.Event()
        self._open.set()
        self.reads = 0

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def read(self) -> Reading:
        self._open.wait()
        self.reads += 1
        reading = self._readings[min(self._next, len(self._readings) - 1)]
        self._next += 1
        return reading
