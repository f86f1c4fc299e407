"""Logging: syslog priority prefixes under the journal, JSON lines by setting, text otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from loguru import logger

from common.db import Database

ROOT = Path(__file__).resolve().parents[2]

EMIT = """
import logging
from loguru import logger
from common.logging import setup_logging
from common.settings import load_settings

setup_logging(load_settings(), program="kura-test")
logger.debug("a debug line")
logger.info("an info line")
logger.warning("a warning line")
logging.getLogger("uvicorn.error").error("a stdlib error")
try:
    secret = "hunter2-token"
    len(secret) / 0
except ZeroDivisionError:
    logger.exception("it broke")
"""


@pytest.fixture
def fresh_loguru() -> Iterator[None]:
    """setup_logging replaces every loguru sink with one bound to this test's captured stderr; put
    loguru's default back afterwards so later tests do not log into a closed capture stream."""
    yield
    logger.remove()
    logger.add(sys.stderr)


# What the API's request lines bind: the JSON line must carry them as top-level fields.
EMIT_BOUND = EMIT + """
logger.bind(route="/api/v1/bookmarks", status=201, ms=3.25).info("request done")
logger.bind(path=__import__("pathlib").Path("/srv/kura")).info("not JSON by nature")
"""


def run_emitter(script: str = EMIT, **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KURA_") and k != "JOURNAL_STREAM"}
    result = subprocess.run([sys.executable, "-c", script], env={**clean, "KURA_LOG_LEVEL": "DEBUG", **env},
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == ""  # logs go to stderr only
    return result.stderr.splitlines()


def test_under_the_journal_every_line_carries_its_syslog_priority() -> None:
    lines = run_emitter(JOURNAL_STREAM="8:12345")
    assert lines[:4] == [
        "<7>kura-test: a debug line",
        "<6>kura-test: an info line",
        "<4>kura-test: a warning line",
        "<3>kura-test: a stdlib error",
    ]
    trace = lines[4:]
    assert trace[0] == "<3>kura-test: it broke"
    assert any("ZeroDivisionError" in line for line in trace)
    assert all(line.startswith("<3>") for line in trace)  # so `journalctl -p err` keeps the whole trace
    assert not any("hunter2" in line for line in lines)  # no variable values in tracebacks


def test_json_lines_are_flat_objects_with_ts_level_program_and_msg() -> None:
    lines = [json.loads(line) for line in run_emitter(EMIT_BOUND, KURA_LOG_JSON="true")]
    assert [(r["level"], r["msg"]) for r in lines] == [
        ("DEBUG", "a debug line"), ("INFO", "an info line"), ("WARNING", "a warning line"),
        ("ERROR", "a stdlib error"), ("ERROR", "it broke"), ("INFO", "request done"), ("INFO", "not JSON by nature"),
    ]
    assert list(lines[1]) == ["ts", "level", "program", "msg"]  # nothing nested, nothing else
    assert all(r["program"] == "kura-test" for r in lines)
    assert all(datetime.fromisoformat(r["ts"]).utcoffset() == timedelta(0) for r in lines)
    assert lines[4]["exc"].startswith("Traceback") and lines[4]["exc"].endswith("ZeroDivisionError: division by zero")
    assert "hunter2" not in lines[4]["exc"]  # no variable values in tracebacks
    assert lines[5] == {**lines[5], "route": "/api/v1/bookmarks", "status": 201, "ms": 3.25}
    assert lines[6]["path"] == "/srv/kura"


def test_json_under_the_journal_keeps_the_priority_prefix() -> None:
    lines = run_emitter(KURA_LOG_JSON="true", JOURNAL_STREAM="8:12345")
    assert [line[:3] for line in lines] == ["<7>", "<6>", "<4>", "<3>", "<3>"]
    assert json.loads(lines[2][3:])["msg"] == "a warning line"


def test_the_api_program_writes_only_json_lines_by_setting(tmp_path: Path, db: Database) -> None:
    from bench.live import LiveApi, call

    server = LiveApi(db.path.parent, tmp_path / "kura-api.log", measured=False,
                     env={"KURA_LOG_JSON": "true", "KURA_ACCESS_LOG": "true"})
    server.start()
    try:
        assert call(server.port, "GET", "/api/v1/bookmarks", token="not-a-token").status == 401
    finally:
        assert server.stop() == 0
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines()]
    assert len(lines) >= 3  # start-up, uvicorn's own lines, shut-down
    assert all(r["program"] == "kura-api" and r["level"] and r["msg"] and "record" not in r for r in lines)
    assert sum(r["msg"].startswith("SQLite ") for r in lines) == 1  # the library version: once a start
    [access] = [r for r in lines if r.get("path") == "/api/v1/bookmarks"]  # the access log line, as fields
    assert (access["method"], access["status"]) == ("GET", 401) and access["client"].startswith("127.0.0.1")


def test_people_get_a_readable_format_with_level_and_program() -> None:
    lines = run_emitter()
    assert "WARNING" in lines[2] and "kura-test" in lines[2] and lines[2].endswith("a warning line")
    assert not lines[2].startswith("<")
    assert any(line.startswith("ZeroDivisionError") for line in lines)


def test_the_log_level_setting_filters(tmp_path: Path) -> None:
    lines = run_emitter(KURA_LOG_LEVEL="WARNING", JOURNAL_STREAM="8:1")
    assert lines[0] == "<4>kura-test: a warning line"


def test_the_journal_sink_prefixes_in_process(monkeypatch, capsys, fresh_loguru) -> None:  # type: ignore[no-untyped-def]
    from loguru import logger

    from common.logging import setup_logging
    from common.settings import load_settings

    monkeypatch.setenv("JOURNAL_STREAM", "8:1")
    setup_logging(load_settings(), program="kura-test")
    logger.error("first\nsecond")
    assert capsys.readouterr().err == "<3>kura-test: first\n<3>second\n"


def test_logging_follows_stderr_when_it_is_swapped(monkeypatch, capsys, fresh_loguru) -> None:  # type: ignore[no-untyped-def]
    import io

    from common.logging import setup_logging
    from common.settings import load_settings

    setup_logging(load_settings(), program="kura-test")
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)
    logger.warning("after the swap")
    assert swapped.getvalue().rstrip().endswith("kura-test after the swap")
    assert "after the swap" not in capsys.readouterr().err


@pytest.mark.parametrize(("level", "traced"), [("INFO", False), ("DEBUG", False), ("TRACE", True)])
def test_uvicorn_traces_every_asgi_message_only_at_trace_level(level: str, traced: bool, fresh_loguru: None) -> None:
    import uvicorn
    from uvicorn.middleware.message_logger import MessageLoggerMiddleware

    from common.logging import setup_logging
    from common.settings import load_settings

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        return None

    setup_logging(load_settings(log_level=level), program="t")
    config = uvicorn.Config(app, log_config=None)
    config.load()
    layers, app_ = [], config.loaded_app
    while app_ is not None:  # uvicorn's wrappers each keep the next one as .app
        layers.append(type(app_))
        app_ = getattr(app_, "app", None)
    assert (MessageLoggerMiddleware in layers) is traced
