import pytest

from domain.urls import InvalidURL, normalize_url


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
        ("MAGNET:?xt=urn:btih:abc&dn=a%7eb%2fc", "magnet:?xt=urn:btih:abc&dn=a~b/c"),
        ("https://example.com/a/./b/../c?q=%7e%3d#%66rag", "https://example.com/a/c?q=~%3D#frag"),
        ("https://example.com/caf%c3%a9 x", "https://example.com/caf%C3%A9%20x"),
        ("http://i❤.ws/", "http://xn--i-7iq.ws/"),
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
        ("https://e.com/a\nb", "control character"),
        ("https://e.com/\x00", "control character"),
        ("https://e.com/a\rSet-Cookie:x", "control character"),
        ("https://ex ample.com/", "host"),
        ("https://a..b/", "host"),
    ],
)
def test_normalize_url_rejects_what_cannot_be_bookmarked(raw: str, reason: str) -> None:
    with pytest.raises(InvalidURL, match=reason):
        normalize_url(raw)


@pytest.mark.parametrize("spelling", [
    "https://example.com/", "https://ＥＸＡＭＰＬＥ.com/", "https://e%78ample.com/", "HTTPS://EXAMPLE.COM:443",
    "https://example.com/./", "https://exam%70le.com",
])
def test_every_spelling_of_one_address_normalises_to_one_url(spelling: str) -> None:
    assert normalize_url(spelling) == "https://example.com/"


@pytest.mark.parametrize("spelling", ["https://bücher.de/", "https://BÜCHER.de/", "https://xn--bcher-kva.de/",
                                      "https://b%C3%BCcher.de/", "https://ｂüｃｈｅｒ.de"])
def test_an_idn_and_its_xn_form_are_one_host_stored_in_ascii(spelling: str) -> None:
    assert normalize_url(spelling) == "https://xn--bcher-kva.de/"
