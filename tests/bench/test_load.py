"""wrk's figures reach the harness intact: the Lua report line, its parsing, and a real wrk run."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import load

LINE = ('KURA_BENCH_JSON {"requests":500,"duration_us":2000000,"bytes":1048576,"errors":{"connect":0,'
        '"read":1,"write":0,"status":4,"timeout":0},"bad_status":{"404":4},"latency_us":{"p50":1500,'
        '"p90":3000,"p95":4000,"p99":9000,"max":12000,"mean":1800.5}}')


def test_parse_output_turns_microseconds_into_milliseconds_and_counts_every_error() -> None:
    figures = load.parse_output("Running 2s test\n" + LINE + "\n")
    assert figures["rps"] == 250 and figures["p99_ms"] == 9 and figures["max_ms"] == 12
    assert figures["errors"] == 5 and figures["error_kinds"] == {"read": 1, "status": 4}
    assert figures["bad_status"] == {"404": 4} and figures["mb_per_s"] == 0.5


def test_parse_output_without_a_result_line_says_so() -> None:
    with pytest.raises(load.LoadError, match="no result"):
        load.parse_output("unable to connect to 127.0.0.1:1\n")


def test_lua_literals_quote_strings_and_nest_tables() -> None:
    text = load.lua_literal({"token": 'a"b', "n": 3, "on": True, "inner": {"x": 1.5}})
    assert text == '{token = "a\\"b", n = 3, on = true, inner = {x = 1.5}}'
    assert load.build_script({"kind": "static"}).startswith('P = {kind = "static"}')


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # wrk hangs up mid-response when its time is up; that is not a failure here


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
        if self.headers.get("If-None-Match") == '"current"':
            self.send_response(304)
            self.end_headers()
            return
        status = 404 if self.path.startswith("/missing") else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (bench/run.sh installs it)")
@pytest.mark.parametrize(("path", "bad"), [("/ok", False), ("/missing", True)])
def test_a_real_wrk_run_reports_requests_and_counts_bad_statuses(server: int, path: str, bad: bool) -> None:
    params = {"kind": "static", "path": path, "token": "t", "seed": 1}
    figures = load.run_wrk(f"http://127.0.0.1:{server}{path}", params=params, connections=2, seconds=1)
    assert figures["requests"] > 0 and figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    if bad:
        assert figures["error_kinds"]["status"] == figures["requests"] == figures["bad_status"]["404"]
    else:
        assert figures["errors"] == 0 and figures["bad_status"] == {}


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (bench/run.sh installs it)")
@pytest.mark.parametrize(("etag", "bad"), [('"current"', False), ('"stale"', True)])
def test_a_conditional_case_sends_its_etag_and_counts_any_answer_but_304_as_bad(server: int, etag: str,
                                                                                bad: bool) -> None:
    params = {"kind": "conditional", "path": "/ok", "token": "t", "seed": 1, "etag": etag}
    figures = load.run_wrk(f"http://127.0.0.1:{server}/ok", params=params, connections=2, seconds=1)
    assert figures["requests"] > 0
    assert figures["bad_status"] == ({"200": figures["requests"]} if bad else {})


def test_a_run_without_a_single_answer_counts_as_an_error() -> None:
    stalled = LINE.replace('"requests":500', '"requests":0').replace('"read":1', '"read":0').replace(
        '"status":4', '"status":0')
    figures = load.parse_output(stalled)
    assert figures["rps"] == 0 and figures["errors"] == 1 and figures["error_kinds"] == {"no_answer": 1}
    assert figures["p50_ms"] == figures["p99_ms"] == figures["max_ms"] == 2000  # the run's length
