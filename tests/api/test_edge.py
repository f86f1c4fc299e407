"""The edge's headers (api/edge.py's edge_headers): what every answer gets on its way out, in one pass
over the raw headers."""

from __future__ import annotations

from api.edge import edge_headers

JSON = [(b"content-type", b"application/json"), (b"content-length", b"4096")]


def test_a_json_answer_to_a_credentialed_request_gets_nosniff_no_store_and_vary() -> None:
    got = edge_headers(list(JSON), private=True, gzip=False)
    assert got == [*JSON, (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"),
                   (b"vary", b"Accept-Encoding")]


def test_a_routes_own_nosniff_and_cache_control_are_replaced_not_doubled() -> None:
    raw = [*JSON, (b"cache-control", b"max-age=60"), (b"x-content-type-options", b"sniff-away")]
    private = edge_headers(list(raw), private=True, gzip=True)
    assert [value for name, value in private if name == b"cache-control"] == [b"no-store"]
    assert [value for name, value in private if name == b"x-content-type-options"] == [b"nosniff"]
    public = edge_headers(list(raw), private=False, gzip=True)
    assert (b"cache-control", b"max-age=60") in public  # nothing credentialed: the route's own policy stands


def test_an_existing_vary_is_extended_into_one_header() -> None:
    raw = [*JSON, (b"vary", b"Origin"), (b"vary", b"Cookie")]
    got = edge_headers(raw, private=False, gzip=False)
    assert [value for name, value in got if name == b"vary"] == [b"Origin, Accept-Encoding"]


def test_answers_gzip_would_leave_alone_get_no_vary() -> None:
    small = [(b"content-type", b"application/json"), (b"content-length", b"1023")]
    encoded = [*JSON, (b"content-encoding", b"br")]
    image = [(b"content-type", b"image/png"), (b"content-length", b"50000")]
    for raw in (small, encoded, image):
        assert all(name != b"vary" for name, _ in edge_headers(list(raw), private=False, gzip=False))
    # A client that accepts gzip: GZipMiddleware has set Vary itself where it applies.
    assert all(name != b"vary" for name, _ in edge_headers(list(JSON), private=False, gzip=True))
