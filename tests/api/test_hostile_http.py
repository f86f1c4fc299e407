"""A real `kura-api` against oversized and slow request heads, raw HTTP and wrong methods (issue 12).

Raw sockets, because an HTTP client library would neither send a 50 MiB header nor stall mid-header.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.live import LiveApi, call, make_token

LIMIT = 8192  # KURA_MAX_HEADER_BYTES of the server under test


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApi, str]]:
    root = tmp_path_factory.mktemp("hostile-http")
    token = make_token(root / "data")
    api = LiveApi(root / "data", root / "kura-api.log",
                  env={"KURA_MAX_HEADER_BYTES": str(LIMIT), "KURA_HEADER_TIMEOUT_S": "1"})
    api.start()
    yield api, token
    api.stop()


def connect(api: LiveApi) -> socket.socket:
    return socket.create_connection(("127.0.0.1", api.port), timeout=30)


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Everything the server sends until it closes the connection: status, headers, body."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def exchange(api: LiveApi, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw` on a new connection; what comes back until the server closes it."""
    with connect(api) as sock:
        sock.sendall(raw)
        return read_answer(sock)


def assert_error_shape(headers: dict[str, str], body: bytes, code: str) -> None:
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"]


def test_a_header_over_the_limit_answers_431_in_the_error_shape(server: tuple[LiveApi, str]) -> None:
    api, token = server
    status, headers, body = exchange(api, b"GET /healthz HTTP/1.1\r\nHost: kura\r\nX-Big: " + b"a" * (LIMIT * 2)
                                     + b"\r\n\r\n")
    assert status == 431 and headers["connection"] == "close"
    assert_error_shape(headers, body, "request_header_fields_too_large")
    assert call(api.port, "GET", "/api/v1/tokens", token=token).status == 200


def test_many_small_headers_over_the_limit_answer_431_too(server: tuple[LiveApi, str]) -> None:
    api, _ = server
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 60) for i in range(LIMIT // 50))
    assert exchange(api, b"GET /healthz HTTP/1.1\r\nHost: kura\r\n" + many + b"\r\n")[0] == 431


def test_a_50_mib_header_is_cut_off_long_before_its_end(server: tuple[LiveApi, str]) -> None:
    api, token = server
    chunk, sent, refused = b"a" * 65536, 0, False
    with connect(api) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: kura\r\nX-Huge: ")
        try:
            while sent < 50 * 2**20:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            refused = True
        if not refused:
            status = read_answer(sock)[0]
            assert status == 431
    assert refused, "the server read the whole 50 MiB header"
    assert sent < 50 * 2**20
    assert call(api.port, "GET", "/api/v1/tokens", token=token).status == 200


def test_a_head_just_under_the_limit_is_served(server: tuple[LiveApi, str]) -> None:
    api, token = server
    padding = b"p" * (LIMIT - 200)
    with connect(api) as sock:
        sock.sendall(b"GET /api/v1/tokens HTTP/1.1\r\nHost: kura\r\nAuthorization: Bearer " + token.encode()
                     + b"\r\nX-Pad: " + padding + b"\r\nConnection: close\r\n\r\n")
        status, _, body = read_answer(sock)
    assert status == 200 and isinstance(json.loads(body), list)


def test_a_body_sent_in_the_same_packet_as_its_head_does_not_count_as_header(server: tuple[LiveApi, str]) -> None:
    api, token = server
    body = json.dumps({"url": "https://example.org/long", "notes": "n" * (LIMIT * 4)}).encode()
    with connect(api) as sock:
        sock.sendall(b"POST /api/v1/bookmarks HTTP/1.1\r\nHost: kura\r\nAuthorization: Bearer " + token.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                     + b"\r\nConnection: close\r\n\r\n" + body)
        assert read_answer(sock)[0] == 201


def test_a_client_that_never_finishes_its_headers_gets_408_and_is_disconnected(server: tuple[LiveApi, str]) -> None:
    api, token = server
    # No more bytes after these: the server must answer and close by itself (exchange waits for the close).
    status, headers, body = exchange(api, b"GET /healthz HTTP/1.1\r\nHost: kura\r\nX-Slow: a")
    assert status == 408
    assert_error_shape(headers, body, "request_timeout")
    assert call(api.port, "GET", "/api/v1/tokens", token=token).status == 200


def test_a_connection_that_sends_nothing_is_closed(server: tuple[LiveApi, str]) -> None:
    api, _ = server
    with connect(api) as sock:
        assert sock.recv(1) == b""


def test_keep_alive_requests_each_get_their_own_header_budget(server: tuple[LiveApi, str]) -> None:
    api, token = server
    request = (b"GET /api/v1/tokens HTTP/1.1\r\nHost: kura\r\nAuthorization: Bearer " + token.encode()
               + b"\r\nX-Pad: " + b"p" * (LIMIT // 2) + b"\r\n\r\n")
    with connect(api) as sock:
        sock.sendall(request * 3 + b"GET /healthz HTTP/1.1\r\nHost: kura\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 4


def test_a_request_that_is_not_http_answers_400_in_the_error_shape(server: tuple[LiveApi, str]) -> None:
    api, _ = server
    status, headers, body = exchange(api, b"\x16\x03\x01 this is no HTTP\r\n\r\n")
    assert status == 400
    assert_error_shape(headers, body, "bad_request")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/api/v1/bookmarks/bulk", "POST, OPTIONS"),
    ("DELETE", "/api/v1/tags/graph", "GET, OPTIONS"),
    ("PUT", "/api/v1/bookmarks", "GET, POST, OPTIONS"),
    ("POST", "/api/v1/bookmarks/1", "GET, PATCH, DELETE, OPTIONS"),
    ("PUT", "/api/v1/tokens", "GET, POST, OPTIONS"),
])
def test_a_wrong_method_answers_405_naming_every_allowed_method(
    server: tuple[LiveApi, str], method: str, path: str, allowed: str
) -> None:
    api, token = server
    reply = call(api.port, method, path, token=token)
    assert reply.status == 405 and reply.headers["allow"] == allowed
    assert reply.json()["error"]["code"] == "method_not_allowed"  # type: ignore[index]
    options = call(api.port, "OPTIONS", path)
    assert options.status == 204 and options.headers["allow"] == allowed


def test_an_unknown_path_answers_404_in_the_error_shape(server: tuple[LiveApi, str]) -> None:
    api, _ = server
    reply = call(api.port, "GET", "/no/such/thing")
    assert reply.status == 404 and reply.json()["error"]["code"] == "not_found"  # type: ignore[index]
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_the_refusals_are_logged_with_the_client_address(server: tuple[LiveApi, str]) -> None:
    api, _ = server
    exchange(api, b"GET /healthz HTTP/1.1\r\nHost: kura\r\nX-Big: " + b"a" * (LIMIT * 2) + b"\r\n\r\n")
    log = Path(api.log_path).read_text()
    assert "refused a request from 127.0.0.1 (431)" in log
