"""Node-to-node HTTP: national systems and the hub call each other with short timeouts.

The repositories system behaves as one (DR Art. 35(1)(c)) only while its nodes
answer each other. A call that gets no answer — connection refused, a timeout,
a 5xx — raises :class:`Unavailable` quickly, and the caller answers its client
``NMVS_TI_RT_02`` ("communication error with central components") with HTTP 503
and changes nothing, so the client may safely retry with the same
``clientTrxId``.

Node-to-node calls carry the federation key (``Authorization: Bearer …``) that
every node of one deployment is started with; a node started without one
accepts unauthenticated node calls (a development setup on loopback).

>>> str(Unavailable("FR", "connection refused"))
'the national system of FR did not answer: connection refused'
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Final

import httpx
import orjson

from packtrail.fmd.http11 import H11Pool, TransportFailure

__all__ = [
    "FEDERATION_TIMEOUT",
    "Conflict",
    "Link",
    "Unavailable",
    "federation_key_ok",
]

FEDERATION_TIMEOUT: Final = httpx.Timeout(2.5, connect=0.5)
"""A node call gets half a second to connect and 2.5 s to answer."""


class Unavailable(Exception):
    """Another node did not answer (down, unreachable, overloaded, or failing)."""

    def __init__(self, node: str, reason: str) -> None:
        self.node = node
        self.reason = reason
        who = "the hub" if node == "hub" else f"the national system of {node}"
        super().__init__(f"{who} did not answer: {reason}")


class Conflict(Exception):
    """Another node refused the call on its merits (HTTP 4xx); ``status`` and ``body`` say why."""

    def __init__(self, node: str, status: int, body: Mapping[str, Any]) -> None:
        self.node = node
        self.status = status
        self.body = dict(body)
        super().__init__(f"{node} answered {status}: {self.body.get('detail', self.body)}")


def federation_key_ok(configured: str | None, authorization: str | None) -> bool:
    """True when a node call may proceed: no key configured, or the right ``Bearer`` key sent."""
    if configured is None:
        return True
    if authorization is None or not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization[7:].strip().encode(), configured.encode())


class Link:
    """Calls to other nodes from one node: pooled keep-alive connections, the federation key, short
    timeouts. Plain ``http://`` goes through :class:`~packtrail.fmd.http11.H11Pool`, anything else
    (an ``https`` webhook) through httpx."""

    def __init__(self, key: str | None, timeout: httpx.Timeout = FEDERATION_TIMEOUT) -> None:
        self.key = key
        self.timeout = timeout
        self._headers = {"content-type": "application/json"}
        if key is not None:
            self._headers["authorization"] = f"Bearer {key}"
        self._client: httpx.AsyncClient | None = None
        self._pool: H11Pool | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """The httpx client (created in the running event loop on first use)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout,
                headers=self._headers,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )
        return self._client

    @property
    def pool(self) -> H11Pool:
        """The keep-alive pool for plain ``http://`` nodes."""
        if self._pool is None:
            self._pool = H11Pool(
                self._headers,
                connect_timeout=self.timeout.connect or 0.5,
                timeout=self.timeout.read or 2.5,
            )
        return self._pool

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _send(self, node: str, method: str, url: str, content: bytes | None) -> tuple[int, bytes]:
        if url.startswith("http://"):
            try:
                return await self.pool.request(method, url, content)
            except TransportFailure as exc:
                raise Unavailable(node, str(exc)) from None
        try:
            response = await self.client.request(method, url, content=content)
        except httpx.TimeoutException:
            raise Unavailable(node, f"no answer within {self.timeout.read} s") from None
        except httpx.TransportError as exc:
            raise Unavailable(node, f"{type(exc).__name__}: {exc or 'connection failed'}") from None
        return response.status_code, response.content

    async def call(
        self, node: str, method: str, url: str, body: Mapping[str, Any] | None = None
    ) -> tuple[int, Any]:
        """Send one request to ``node`` and return ``(status, JSON body)``.

        Raises :class:`Unavailable` when the node cannot be reached, does not answer in time, or
        answers 5xx; :class:`Conflict` when it answers 4xx other than 404.
        """
        status, content = await self._send(node, method, url, None if body is None else orjson.dumps(body))
        try:
            data = orjson.loads(content) if content else None
        except orjson.JSONDecodeError:
            data = {"detail": content[:200].decode("utf-8", "replace")}
        if status >= 500:
            detail = data.get("detail") if isinstance(data, dict) else None
            raise Unavailable(node, f"HTTP {status}{': ' + str(detail) if detail else ''}")
        if 400 <= status < 500 and status != 404:
            raise Conflict(node, status, data if isinstance(data, dict) else {"detail": data})
        return status, data
