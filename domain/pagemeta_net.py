"""The network half of fetching a page's details (domain/pagemeta.py): one checked HTTP/1.1 GET.

No HTTP client is among Kura's runtime dependencies, and a client with its own resolver would look
the host up a second time after we checked it (DNS rebinding: the first answer public, the second
10.0.0.1). So the host is resolved here, EVERY address it resolves to must pass the policy, and the
connection goes to one of exactly those addresses: anyio for sockets, TLS and deadlines, h11 (already
installed for uvicorn) for the HTTP framing. TLS verifies the certificate against the system's
trust store for the host name (SNI), whatever address we connected to.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import zlib
from dataclasses import dataclass

import anyio
import h11
from anyio.abc import ByteStream
from yarl import URL

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_RECEIVE = 65536
_HEADER_MAX = 64 * 1024  # h11's cap on the status line plus headers


class FetchProblem(Exception):
    """One readable line saying why a page's details could not be fetched."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; the first of repeated headers
    body: bytes = b""  # read only for a 2xx HTML answer


def media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def address_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is off limits ("loopback", "private", ...), or None for a public unicast one.

    An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64, Teredo) is judged by that too,
    since the packets may end up there."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_kind(ip.ipv4_mapped)
        inner = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None and (kind := address_kind(inner)):
            return kind
    for attribute, kind in (("is_loopback", "loopback"), ("is_link_local", "link-local"),
                            ("is_multicast", "multicast"), ("is_unspecified", "unspecified"),
                            ("is_reserved", "reserved"), ("is_private", "private")):
        if getattr(ip, attribute):
            return kind
    return None if ip.is_global else "non-public"


async def resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses to connect to; FetchProblem when the name is unknown or ANY address is refused."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchProblem(f"{host} could not be found ({getattr(exc, 'strerror', None) or exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchProblem(f"{host} could not be found")
    if not allow_private:
        for address in addresses:
            kind = address_kind(ipaddress.ip_address(address))
            if kind is None:
                continue
            if address.split("%")[0] == host:
                raise FetchProblem(f"refused: {host} is a {kind} address")
            raise FetchProblem(f"refused: {host} resolves to {address}, a {kind} address")
    return addresses


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # the system trust store, certificate and host name checked


async def connect(addresses: list[str], port: int, *, host: str, tls: bool) -> ByteStream:
    """A connection to the first of the checked addresses that answers (never a fresh lookup)."""
    reason = "no address"
    for address in addresses:
        try:
            if not tls:
                return await anyio.connect_tcp(address, port)
            return await anyio.connect_tcp(address, port, tls=True, ssl_context=_tls_context(),
                                           tls_hostname=host, tls_standard_compatible=False)
        except ssl.SSLCertVerificationError as exc:
            raise FetchProblem(f"{host}'s certificate was refused ({exc.verify_message})") from None
        except ssl.SSLError as exc:
            raise FetchProblem(f"{host}: TLS failed ({exc.reason or exc})") from None
        except (OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
            reason = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    raise FetchProblem(f"could not connect to {host} ({reason})")


async def get(url: URL, *, user_agent: str, max_bytes: int, allow_private: bool) -> Answer:
    """GET one URL (no redirects followed); the body is read only for a 2xx HTML answer, at most
    max_bytes of it, and reading stops early once the head has ended."""
    host, port = url.raw_host or "", url.port or 80
    addresses = await resolve(host, port, allow_private=allow_private)
    stream = await connect(addresses, port, host=host, tls=url.scheme == "https")
    async with stream:
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_HEADER_MAX)
        request = h11.Request(method="GET", target=url.raw_path_qs or "/", headers=[
            ("Host", url.host_port_subcomponent or host), ("User-Agent", user_agent),
            ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"),
            ("Accept-Encoding", "gzip"), ("Connection", "close")])
        await stream.send(conn.send(request) + (conn.send(h11.EndOfMessage()) or b""))
        answer = await _read_head(stream, conn)
        if 200 <= answer.status < 300 and media_type(answer.headers) in HTML_TYPES:
            answer.body = await _read_body(stream, conn, answer, max_bytes=max_bytes)
        return answer


async def _next_event(stream: ByteStream, conn: h11.Connection) -> object:
    while (event := conn.next_event()) is h11.NEED_DATA:
        try:
            data = await stream.receive(_RECEIVE)
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            data = b""
        conn.receive_data(data)
    return event


async def _read_head(stream: ByteStream, conn: h11.Connection) -> Answer:
    while True:
        try:
            event = await _next_event(stream, conn)
        except h11.RemoteProtocolError:
            if conn.trailing_data == (b"", True):  # not a byte before the connection closed
                raise FetchProblem("the server closed the connection without answering") from None
            raise
        if isinstance(event, h11.Response):
            headers: dict[str, str] = {}
            for name, value in event.headers:
                headers.setdefault(name.decode("ascii").lower(), value.decode("latin-1"))
            return Answer(status=event.status_code, headers=headers)
        if not isinstance(event, h11.InformationalResponse):  # 1xx (103 Early Hints): the answer follows
            raise FetchProblem("the server closed the connection without answering")


async def _read_body(stream: ByteStream, conn: h11.Connection, answer: Answer, *, max_bytes: int) -> bytes:
    """At most max_bytes of the page (decompressed, and on the wire), ending early after the head."""
    encoding = answer.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise FetchProblem(f"the page came in an encoding Kura does not read ({encoding})")
    # wbits 47: gzip or zlib framing, whichever the data has; its output is capped like the input
    decoder = zlib.decompressobj(wbits=47) if encoding not in ("identity", "") else None
    parts: list[bytes] = []
    size = received = 0
    tail = b""
    while size < max_bytes and received < max_bytes:
        event = await _next_event(stream, conn)
        if not isinstance(event, h11.Data):
            break  # EndOfMessage or ConnectionClosed: the whole page is here
        received += len(event.data)
        chunk = decoder.decompress(event.data, max_bytes - size) if decoder else event.data[:max_bytes - size]
        parts.append(chunk)
        size += len(chunk)
        if b"</head" in (tail + chunk).lower():
            break  # the title and meta tags are all in the head
        tail = chunk[-6:]
    return b"".join(parts)
