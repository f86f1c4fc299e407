import pytest

from common.urls import InvalidURL, normalize_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://Example.COM", "https://example.com/"),
        ("  http://example.com:80/a/B?x=1#frag ", "http://example.com/a/B?x=1#frag"),
        ("https://example.com:8443/", "https://example.com:8443/"),
        ("https://user:pw@Example.com/", "https://user:pw@example.com/"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("file:///home/me/notes.txt", "file:///home/me/notes.txt"),
        ("magnet:?xt=urn:btih:abc", "magnet:?xt=urn:btih:abc"),
    ],
)
def test_normalize_url_canonicalises_scheme_host_and_port(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("example.com", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("place:sort=8&maxResults=10", "scheme"),
        ("https://", "no host"),
        ("http://example.com:99999/", "malformed"),
        ("https://e.com/" + "a" * 5000, "longer"),
    ],
)
def test_normalize_url_rejects_what_cannot_be_bookmarked(raw: str, reason: str) -> None:
    with pytest.raises(InvalidURL, match=reason):
        normalize_url(raw)
