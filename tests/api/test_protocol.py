"""The connection's transport (api/protocol.py's CoalescingTransport) over a real socket pair and the
real asyncio transport: an answer's head and body leave in one send, and nothing is held past the
event-loop turn that wrote it."""

from __future__ import annotations

import asyncio
import socket
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from api.protocol import CoalescingTransport


@asynccontextmanager
async def connected() -> AsyncIterator[tuple[CoalescingTransport, socket.socket, list[bytes]]]:
    """The server's end as the protocol sees it, the client's raw socket, and every send the real
    transport was asked to make."""
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    sends: list[bytes] = []
    real_write: Callable[[bytes], None] = transport.write

    def write(data: bytes) -> None:
        sends.append(bytes(data))
        real_write(data)

    transport.write = write  # type: ignore[method-assign]
    try:
        yield CoalescingTransport(transport, loop), theirs, sends  # type: ignore[arg-type]
    finally:
        transport.abort()
        theirs.close()


async def received(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 65536), timeout=10)
        if not chunk:
            break
        data += chunk
    return data


def in_a_loop(test: Callable[[], Awaitable[Any]]) -> Callable[[], None]:
    """An async test body, run on a fresh event loop of its own."""
    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())  # type: ignore[arg-type]
    return run


@in_a_loop
async def test_a_head_and_its_body_written_in_one_turn_leave_in_one_send() -> None:
    async with connected() as (transport, client, sends):
        head, body = b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n", b"x" * 5000
        transport.write(head)
        transport.write(body)
        assert sends == []  # held to the end of the turn
        assert await received(client, len(head) + len(body)) == head + body
        assert sends == [head + body]


@in_a_loop
async def test_a_lone_write_leaves_at_the_end_of_its_turn() -> None:
    async with connected() as (transport, client, sends):
        transport.write(b"first chunk of a stream")
        await asyncio.sleep(0)
        assert sends == [b"first chunk of a stream"]
        transport.write(b", the next")
        assert await received(client, 33) == b"first chunk of a stream, the next"


@in_a_loop
async def test_closing_sends_what_is_held_before_the_end_of_the_connection() -> None:
    async with connected() as (transport, client, _):
        transport.write(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        transport.close()
        assert await received(client, 1 << 20) == b"HTTP/1.1 408 Request Timeout\r\n\r\n"


@in_a_loop
async def test_an_aborted_connection_drops_what_is_held() -> None:
    async with connected() as (transport, client, sends):
        transport.write(b"never sent")
        transport.abort()
        await asyncio.sleep(0)
        assert sends == [] and transport.is_closing()
