"""The page-details fetcher (domain/pagemeta.py) against a real HTTP server on 127.0.0.1.

Every fetch goes to the test's own server or is refused before any connection, so no test needs the
network. The server lets loopback through only where a test sets web_fetch_private=True.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import ipaddress
import socket
import subprocess
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest

from domain import pagemeta_net

from domain.pagemeta import PageMeta, fetch_page_meta, parse_page
from domain.pagemeta_net import address_kind
from common.settings import Settings, load_settings
from common.version import VERSION
from tests.support import program

HUGE_TOTAL = 64 * 1024 * 1024  # far beyond what loopback's socket buffers can hold


@dataclass
class Page:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalServer:
    port: int = 0
    routes: dict[str, Page | Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # lets stalled handlers go
    finished: threading.Event = field(default_factory=threading.Event)  # the huge page's writer stopped
    huge_sent: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        kura: LocalServer = self.server.kura  # type: ignore[attr-defined]
        kura.seen.append((self.path, dict(self.headers.items())))
        route = kura.routes.get(self.path) or _dynamic(self.path) or Page(b"not here", "text/plain", 404)
        try:
            if isinstance(route, Page):
                self.send_page(route)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the fetcher hung up, as it should when it has read enough

    def send_page(self, page: Page) -> None:
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        for name, value in page.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(page.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _dynamic(path: str) -> Page | None:
    """/chain/N redirects N times before the page; /loop/N redirects forever."""
    kind, _, number = path.strip("/").partition("/")
    if kind == "chain" and number.isdigit():
        n = int(number)
        if n == 0:
            return Page(b"<title>End of the chain</title>")
        return Page(status=302, headers={"Location": f"/chain/{n - 1}"})
    if kind == "loop" and number.isdigit():
        return Page(status=301, headers={"Location": f"/loop/{int(number) + 1}"})
    return None


@contextlib.contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    kura = LocalServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    httpd.kura = kura  # type: ignore[attr-defined]
    kura.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield kura
    finally:
        kura.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with serving() as kura:
        yield kura


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"web_fetch_meta": True, "web_fetch_private": True}
    return load_settings(data_dir=tmp_path, **(values | overrides))


def fetch(url: str, settings: Settings) -> PageMeta:
    return anyio.run(functools.partial(fetch_page_meta, url, settings=settings))


def html(head: str, body: str = "") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


# --- what a page says ---------------------------------------------------------------------------

def test_a_page_gives_its_title_and_description(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(html('<title>Kura docs</title><meta name="description" content="How to save">'))
    meta = fetch(server.url("/p"), _settings(tmp_path))
    assert meta == PageMeta("Kura docs", "How to save", None)


def test_the_request_names_kura_and_the_host_while_connecting_to_the_checked_address(
        server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(html("<title>Hello</title>"))
    assert fetch(server.url("/p", host="localhost"), _settings(tmp_path)).title == "Hello"
    [(path, headers)] = server.seen
    assert path == "/p"
    assert headers["Host"] == f"localhost:{server.port}"
    assert headers["User-Agent"].startswith(f"Kura/{VERSION} ")


def test_og_tags_fill_in_when_the_title_and_description_are_missing(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(html('<title> </title><meta property="og:title" content="OG title">'
                                    '<meta property="og:description" content="OG text">'))
    assert fetch(server.url("/p"), _settings(tmp_path)) == PageMeta("OG title", "OG text", None)


def test_the_title_and_meta_description_win_over_og_tags(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(html('<meta property="og:title" content="OG title">'
                                    '<meta property="og:description" content="OG text">'
                                    '<title>Real title</title><meta name="Description" content="Real text">'))
    assert fetch(server.url("/p"), _settings(tmp_path)) == PageMeta("Real title", "Real text", None)


def test_entities_are_unescaped_and_whitespace_collapsed(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(html("<title>\n  Fish &amp; Chips &mdash;\t&#8220;best&#x201d;  </title>"
                                    '<meta name="description" content="a &lt;b&gt;\n\n line">'))
    assert fetch(server.url("/p"), _settings(tmp_path)) == PageMeta("Fish & Chips — “best”", "a <b> line", None)


@pytest.mark.parametrize(("content_type", "head", "encoded", "expected"), [
    ("text/html; charset=ISO-8859-1", "", "Café crème".encode("latin-1"), "Café crème"),
    ("text/html; charset=windows-1252", "", "“Quoted” 5 €".encode("cp1252"), "“Quoted” 5 €"),
    # Browsers read latin-1 as windows-1252, so the curly quotes a latin-1 label hides still show.
    ("text/html; charset=latin1", "", "“Quoted”".encode("cp1252"), "“Quoted”"),
    ("text/html", '<meta charset="windows-1252">', "Naïve “café”".encode("cp1252"), "Naïve “café”"),
    ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">',
     "Привет".encode("koi8-r"), "Привет"),
    ("text/html", "", "日本語のページ".encode(), "日本語のページ"),
    ("text/html", "", b"broken \xff byte", "broken \ufffd byte"),
    ("text/html; charset=base64", "", b"plain", "plain"),  # not a text encoding: UTF-8 instead
    ("text/html; charset=x-no-such-charset", "", "ünknown".encode(), "ünknown"),
    # A page whose <meta> could be read as ASCII is not UTF-16, whatever it claims (HTML standard).
    ("text/html", '<meta charset="utf-16">', "ça".encode(), "ça"),
])
def test_a_page_is_decoded_by_its_declared_charset(server: LocalServer, tmp_path: Path, content_type: str,
                                                   head: str, encoded: bytes, expected: str) -> None:
    server.routes["/p"] = Page(b"<html><head>" + head.encode() + b"<title>" + encoded + b"</title></head></html>",
                               content_type)
    assert fetch(server.url("/p"), _settings(tmp_path)).title == expected


def test_a_utf_16_page_is_recognised_by_its_byte_order_mark(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page("\ufeff<html><head><title>Zweibyte</title></head>".encode("utf-16-le"), "text/html")
    assert fetch(server.url("/p"), _settings(tmp_path)).title == "Zweibyte"


def test_a_gzip_page_is_read(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(gzip.compress(html("<title>Squeezed</title>")), headers={"Content-Encoding": "gzip"})
    assert fetch(server.url("/p"), _settings(tmp_path)) == PageMeta("Squeezed", None, None)


def test_a_page_in_an_encoding_kura_did_not_ask_for_is_a_problem(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(b"\x0b\x02\x80", headers={"Content-Encoding": "br"})
    assert fetch(server.url("/p"), _settings(tmp_path)) == PageMeta(
        None, None, "the page came in an encoding Kura does not read (br)")


def test_a_title_cut_off_by_the_cap_keeps_what_was_read() -> None:
    assert parse_page(b"<html><head><title>Cut  off") == PageMeta("Cut off", None, None)


def test_an_svg_title_is_not_the_page_title() -> None:
    page = parse_page(html('<meta property="og:title" content="The page">',
                           "<svg><title>icon</title></svg><title>late</title>"))
    assert page.title == "late"
    assert parse_page(html("", "<svg><title>icon</title></svg>")).title is None


def test_a_very_long_title_is_capped_to_the_api_field() -> None:
    page = parse_page(html(f"<title>{'word ' * 1000}</title>"))
    assert page.title is not None and len(page.title) == 1024 and page.title.endswith("…")


# --- redirects ---------------------------------------------------------------------------------

def test_a_chain_of_five_redirects_is_followed(server: LocalServer, tmp_path: Path) -> None:
    meta = fetch(server.url("/chain/5"), _settings(tmp_path))
    assert meta == PageMeta("End of the chain", None, None)
    assert [path for path, _ in server.seen] == [f"/chain/{n}" for n in range(5, -1, -1)]


def test_a_redirect_loop_stops_after_five_redirects(server: LocalServer, tmp_path: Path) -> None:
    meta = fetch(server.url("/loop/0"), _settings(tmp_path))
    assert meta.problem == "127.0.0.1 redirected more than 5 times"
    assert len(server.seen) == 6


@pytest.mark.parametrize(("location", "problem"), [
    ("ftp://127.0.0.1/file.html", "refused: a redirect to ftp: addresses (only http and https pages are fetched)"),
    ("file:///etc/passwd", "refused: a redirect to file: addresses (only http and https pages are fetched)"),
    ("javascript:alert(1)", "refused: a redirect to an unusable address (url scheme 'javascript' is not bookmarkable)"),
    ("http://[::1/", "refused: a redirect to a malformed address (http://[::1/)"),
])
def test_a_redirect_to_an_unusable_address_is_refused(server: LocalServer, tmp_path: Path,
                                                      location: str, problem: str) -> None:
    server.routes["/p"] = Page(status=302, headers={"Location": location})
    assert fetch(server.url("/p"), _settings(tmp_path)) == PageMeta(None, None, problem)
    assert len(server.seen) == 1


# --- what is not a page ----------------------------------------------------------------------------

def test_a_non_html_answer_is_not_parsed(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(b"<title>looks like html</title>", "application/pdf")
    assert fetch(server.url("/p"), _settings(tmp_path)) == PageMeta(
        None, None, "127.0.0.1 sent application/pdf, not a web page")


def test_a_404_is_a_problem(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(html("<title>Not found</title>"), status=404)
    assert fetch(server.url("/p"), _settings(tmp_path)) == PageMeta(None, None, "127.0.0.1 answered 404")


def test_an_answer_that_is_not_http_is_a_problem(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = lambda handler: handler.wfile.write(b"SSH-2.0-OpenSSH\r\n\r\n")
    meta = fetch(server.url("/p"), _settings(tmp_path))
    assert meta.problem is not None and meta.problem.startswith("the server's answer could not be read")


def test_a_server_that_hangs_up_without_answering_is_a_problem(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = lambda handler: None
    assert fetch(server.url("/p"), _settings(tmp_path)) == PageMeta(
        None, None, "the server closed the connection without answering")


def test_a_closed_port_is_a_problem(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again once the block ends: nobody listens there
    meta = fetch(f"http://127.0.0.1:{port}/", _settings(tmp_path))
    assert meta.problem is not None and meta.problem.startswith("could not connect to 127.0.0.1")


def test_https_to_a_server_that_speaks_no_tls_is_a_problem(server: LocalServer, tmp_path: Path) -> None:
    meta = fetch(f"https://127.0.0.1:{server.port}/", _settings(tmp_path))
    assert meta.title is None
    assert meta.problem is not None and "TLS" in meta.problem


@dataclass
class Certificate:
    cert: Path
    key: Path


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """A self-signed certificate for the name localhost (and 127.0.0.1), made with openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([program("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return Certificate(cert, key)


@pytest.fixture
def tls_server(certificate: Certificate) -> Iterator[tuple[LocalServer, list[str | None]]]:
    """An HTTPS server with that certificate; the list collects the host names clients asked for (SNI)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert, certificate.key)
    names: list[str | None] = []

    def record_name(_socket: ssl.SSLSocket, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    context.sni_callback = record_name
    with serving(context) as kura:
        kura.routes["/p"] = Page(html("<title>Over TLS</title>"))
        yield kura, names


@pytest.fixture
def system_trust(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Point the system trust store at a file (SSL_CERT_FILE, as an operator can) for this test."""
    def trust(cert: Path) -> None:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        pagemeta_net._tls_context.cache_clear()

    yield trust
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    pagemeta_net._tls_context.cache_clear()


def test_an_untrusted_certificate_is_refused(tls_server: tuple[LocalServer, list[str | None]],
                                             tmp_path: Path) -> None:
    kura, _names = tls_server
    meta = fetch(f"https://localhost:{kura.port}/p", _settings(tmp_path))
    assert meta.title is None
    assert meta.problem is not None and meta.problem.startswith("localhost's certificate was refused (")
    assert kura.seen == []


def test_a_trusted_certificate_is_checked_for_the_host_name_not_the_address(
        tls_server: tuple[LocalServer, list[str | None]], certificate: Certificate,
        system_trust: Callable[[Path], None], tmp_path: Path) -> None:
    kura, names = tls_server
    system_trust(certificate.cert)
    assert fetch(f"https://localhost:{kura.port}/p", _settings(tmp_path)) == PageMeta("Over TLS", None, None)
    assert names == ["localhost"]  # SNI named the host, though the connection went to 127.0.0.1
    assert kura.seen[0][1]["Host"] == f"localhost:{kura.port}"


# --- limits ------------------------------------------------------------------------------------

def _stall_before_answering(kura: LocalServer, handler: BaseHTTPRequestHandler) -> None:
    kura.release.wait(30)


def _stall_inside_the_head(kura: LocalServer, handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()
    handler.wfile.write(b"<html><head><title>Slow")
    handler.wfile.flush()
    kura.release.wait(30)


@pytest.mark.parametrize("stall", [_stall_before_answering, _stall_inside_the_head])
def test_a_slow_server_runs_into_the_deadline(server: LocalServer, tmp_path: Path,
                                              stall: Callable[[LocalServer, BaseHTTPRequestHandler], None]) -> None:
    server.routes["/slow"] = functools.partial(stall, server)
    meta = fetch(server.url("/slow"), _settings(tmp_path, web_fetch_timeout_s=0.5))
    assert meta == PageMeta(None, None, "timed out after 0.5 s")


def _huge_page(kura: LocalServer, handler: BaseHTTPRequestHandler) -> None:
    """A head that never ends, sent until the reader hangs up (no Content-Length: read until close)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.end_headers()
    chunk = b"<meta name='filler' content='" + b"x" * 65000 + b"'>\n"
    try:
        handler.wfile.write(b"<html><head><title>Huge page</title>")
        while kura.huge_sent < HUGE_TOTAL:
            handler.wfile.write(chunk)
            kura.huge_sent += len(chunk)
    finally:
        kura.finished.set()


def test_a_huge_page_is_read_only_up_to_the_size_cap(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/huge"] = functools.partial(_huge_page, server)
    meta = fetch(server.url("/huge"), _settings(tmp_path, web_fetch_max_bytes=4096, web_fetch_timeout_s=30))
    assert meta == PageMeta("Huge page", None, None)
    assert server.finished.wait(30)
    assert server.huge_sent < HUGE_TOTAL  # the writer was cut off: the fetcher stopped reading


def test_a_title_beyond_the_size_cap_is_not_seen(server: LocalServer, tmp_path: Path) -> None:
    filler = "".join(f'<meta name="f{n}" content="{"y" * 90}">' for n in range(100))
    server.routes["/p"] = Page(html(filler + "<title>Too late</title>"))
    assert fetch(server.url("/p"), _settings(tmp_path, web_fetch_max_bytes=4096)) == PageMeta(None, None, None)
    assert fetch(server.url("/p"), _settings(tmp_path, web_fetch_max_bytes=65536)).title == "Too late"


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_loopback_addresses_are_refused_unless_the_setting_allows_them(
        server: LocalServer, tmp_path: Path, host: str) -> None:
    server.routes["/p"] = Page(html("<title>Internal</title>"))
    meta = fetch(server.url("/p", host=host), _settings(tmp_path, web_fetch_private=False))
    assert meta.title is None
    assert meta.problem is not None and meta.problem.startswith("refused: ")
    assert "a loopback address" in meta.problem
    assert server.seen == []


def test_localhost_is_refused_naming_the_address_it_resolves_to(server: LocalServer, tmp_path: Path) -> None:
    meta = fetch(server.url("/p", host="localhost"), _settings(tmp_path, web_fetch_private=False))
    assert meta.problem is not None
    assert meta.problem.startswith("refused: localhost resolves to ")
    assert meta.problem.endswith(", a loopback address")


@pytest.mark.parametrize(("address", "kind"), [
    ("10.0.0.5", "private"), ("192.168.1.1", "private"), ("127.0.0.1", "loopback"),
    ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
    ("100.64.0.1", "non-public"), ("240.0.0.1", "reserved"),
    ("::1", "loopback"), ("fe80::1", "link-local"), ("fc00::1", "private"), ("::", "unspecified"),
    ("::ffff:10.0.0.1", "private"), ("2002:7f00:1::", "loopback"), ("64:ff9b::a9fe:a9fe", "link-local"),
    ("93.184.215.14", None), ("2606:4700:4700::1111", None), ("::ffff:93.184.215.14", None),
])
def test_only_public_unicast_addresses_pass(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_nothing_is_fetched_when_the_setting_is_off(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/p"] = Page(html("<title>Hello</title>"))
    meta = fetch(server.url("/p"), _settings(tmp_path, web_fetch_meta=False))
    assert meta == PageMeta(None, None, "fetching page details is turned off")
    assert server.seen == []


def test_the_test_environment_keeps_the_fetch_off(tmp_path: Path) -> None:
    assert load_settings(data_dir=tmp_path).web_fetch_meta is False


@pytest.mark.parametrize(("url", "problem"), [
    ("", "url is empty"),
    ("example.com/page", "is not bookmarkable"),
    ("ftp://example.com/file", "refused: ftp: addresses (only http and https pages are fetched)"),
    ("file:///etc/passwd", "refused: file: addresses (only http and https pages are fetched)"),
    ("javascript:alert(1)", "is not bookmarkable"),
    ("http:///path", "url has no host"),
    ("http://[::1/", "url is malformed"),
    ("http://exa mple.com/", "is not a host name"),
    ("http://example.com:99999/", "url is malformed"),
])
def test_a_malformed_url_is_refused_before_any_connection(tmp_path: Path, url: str, problem: str) -> None:
    meta = fetch(url, _settings(tmp_path, web_fetch_private=False))
    assert meta.title is None and meta.description is None
    assert meta.problem is not None and problem in meta.problem
