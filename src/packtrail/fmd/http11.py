"""A small keep-alive HTTP/1.1 client for the JSON calls between FMD nodes on plain ``http://``.

An intermarket verify crosses three nodes; on the benchmark machine a call through httpx's
async client cost about 1 ms more than the same request written on a socket, twice per
intermarket transaction. Node-to-node calls are simple — a POST with a JSON body, an answer
with ``Content-Length`` (or chunked) — so they go through this client; anything else (``https``
webhooks) uses httpx.

Connections to one host are kept open and reused. A reused connection that the server closed
while idle fails before any answer arrives; the request is then sent once more on a new
connection. A failure after part of the answer arrived is not retried.

>>> split_url("http://127.0.0.1:8701/fmd/v1/internal/sync?prepare=1")
('127.0.0.1', 8701, '/fmd/v1/internal/sync?prepare=1')
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["H11Pool", "TransportFailure", "split_url"]


class TransportFailure(Exception):
    """The request could not be completed: no connection, a timeout, or a broken answer."""


def split_url(url: str) -> tuple[str, int, str]:
    """``(host, port, path with query)`` of an ``http://`` URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"url: expected http://host[:port]/path, found {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or 80, path


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _Stale(Exception):
    """A pooled connection was found closed before the answer began."""


class H11Pool:
    """Pooled keep-alive connections per ``host:port``; :meth:`request` sends one request."""

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        connect_timeout: float = 0.5,
        timeout: float = 2.5,
        max_idle: int = 32,
    ) -> None:
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.max_idle = max_idle
        self._idle: dict[tuple[str, int], list[_Conn]] = {}

    async def request(self, method: str, url: str, body: bytes | None) -> tuple[int, bytes]:
        """Send ``method url`` with ``body``; returns the status and the answer body."""
        host, port, path = split_url(url)
        payload = body or b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{self._headers}"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode("latin-1")
        for _ in range(2):
            conn, reused = await self._connection(host, port)
            try:
                async with asyncio.timeout(self.timeout):
                    status, answer, keep = await self._exchange(conn, head + payload, reused)
            except _Stale:
                self._discard(conn)
                continue
            except TimeoutError:
                self._discard(conn)
                raise TransportFailure(f"no answer within {self.timeout} s") from None
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                self._discard(conn)
                raise TransportFailure(f"{type(exc).__name__}: {exc}") from None
            if keep and len(self._idle.setdefault((host, port), [])) < self.max_idle:
                self._idle[(host, port)].append(conn)
            else:
                self._discard(conn)
            return status, answer
        raise TransportFailure("the connection was closed twice before an answer")

    async def _connection(self, host: str, port: int) -> tuple[_Conn, bool]:
        idle = self._idle.get((host, port))
        while idle:
            conn = idle.pop()
            if not conn[1].is_closing() and not conn[0].at_eof():
                return conn, True
            self._discard(conn)
        try:
            conn = await asyncio.wait_for(asyncio.open_connection(host, port), self.connect_timeout)
        except TimeoutError:
            raise TransportFailure(f"no connection within {self.connect_timeout} s") from None
        except OSError as exc:
            raise TransportFailure(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        return conn, False

    async def _exchange(self, conn: _Conn, data: bytes, reused: bool) -> tuple[int, bytes, bool]:
        reader, writer = conn
        try:
            writer.write(data)
            await writer.drain()
            status_line = await reader.readline()
        except (ConnectionError, asyncio.IncompleteReadError):
            if reused:
                raise _Stale() from None
            raise
        if not status_line:
            if reused:
                raise _Stale()
            raise ConnectionError("the server closed the connection without an answer")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ValueError(f"not an HTTP/1.1 status line: {status_line[:60]!r}")
        status = int(parts[1])
        length: int | None = None
        chunked = False
        keep = parts[0] == b"HTTP/1.1"
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = value.lower() != b"close"
        if chunked:
            body = bytearray()
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await reader.readline()
                    break
                body += await reader.readexactly(size)
                await reader.readline()
            return status, bytes(body), keep
        if length is None:
            return status, await reader.read(), False
        return status, await reader.readexactly(length), keep

    @staticmethod
    def _discard(conn: _Conn) -> None:
        conn[1].close()

    async def close(self) -> None:
        """Close every idle connection."""
        for conns in self._idle.values():
            for conn in conns:
                conn[1].close()
        self._idle.clear()
