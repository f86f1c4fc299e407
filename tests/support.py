"""Small helpers shared by test suites (fixtures live in conftest.py files; a real kura-api process for
end-to-end tests is bench/live.py's LiveApi, shared with the drills in bench/)."""

from __future__ import annotations

from bench.servers import free_port

__all__ = ["free_port"]
