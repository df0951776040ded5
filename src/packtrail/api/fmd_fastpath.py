"""The hot route of a national system, ``POST /fmd/v1/packs/{code}``, served without the framework stack.

A pharmacy's verify (G110) is the request a national system answers most — about 1,000 a second at
peak in the issue's figures. Through FastAPI it crossed seven ASGI layers (proxy headers, error and
exception middleware, the body limit, routing, the endpoint wrapper, the response class) that cost
about as much CPU as the transaction itself. :class:`PackFastPath` sits in front of the FastAPI app
and answers exactly that route itself — the same authentication
(:func:`~packtrail.api.fmd_http.client_for_header`), the same body rules
(:func:`~packtrail.api.fmd_http.parse_json_object`), the same service call
(:meth:`~packtrail.fmd.national.NationalSystem.transact`) and the same JSON answers — and hands
every other request (and the lifespan) to the app unchanged. The route stays in the OpenAPI
document, where the app declares it.

>>> PackFastPath.matches({"type": "http", "method": "POST", "path": "/fmd/v1/packs/G110"})
True
>>> PackFastPath.matches({"type": "http", "method": "POST", "path": "/fmd/v1/packs/G110/x"})
False
>>> PackFastPath.matches({"type": "http", "method": "GET", "path": "/fmd/v1/packs/G110"})
False
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import orjson

from packtrail.api.fmd_http import BadRequest, client_for_header, parse_json_object
from packtrail.fmd.answers import Answer
from packtrail.fmd.codes import ReturnCode
from packtrail.fmd.national import NationalSystem
from packtrail.fmd.wire import error_body

__all__ = ["MAX_BODY", "PackFastPath"]

log = logging.getLogger("packtrail.api.fmd_fastpath")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX: Final = "/fmd/v1/packs/"
MAX_BODY: Final = 16 * 1024 * 1024
"""The largest body taken (a 1,000-pack bulk request is well under 1 MiB); larger ones get 413."""

_JSON: Final = (b"content-type", b"application/json")


class _TooLarge(Exception):
    pass


class PackFastPath:
    """ASGI app: ``POST /fmd/v1/packs/{code}`` answered directly, everything else passed to ``app``."""

    def __init__(self, app: ASGIApp, system: NationalSystem) -> None:
        self.app = app
        self.system = system

    @staticmethod
    def matches(scope: Scope) -> bool:
        """Whether ``scope`` is a request for the hot route."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        path: str = scope["path"]
        return path.startswith(PREFIX) and len(path) > len(PREFIX) and "/" not in path[len(PREFIX) :]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.matches(scope):
            await self.app(scope, receive, send)
            return
        try:
            answer = await self._answer(scope, receive)
        except BadRequest as exc:
            answer = exc.answer
        except _TooLarge:
            answer = Answer(
                413, error_body(ReturnCode.NMVS_TE_JS_01, f"the body is larger than {MAX_BODY} bytes")
            )
        except Exception:
            log.exception("POST %s failed", scope["path"])
            answer = Answer(500, error_body(ReturnCode.NMVS_ERROR, "internal error"))
        payload = orjson.dumps(answer.body)
        headers = [_JSON, (b"content-length", str(len(payload)).encode())]
        headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items())
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _answer(self, scope: Scope, receive: Receive) -> Answer:
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        client = client_for_header(header, self.system.storage)
        body = parse_json_object(await _read_body(receive))
        code = scope["path"][len(PREFIX) :]
        return await self.system.transact(code, body, client)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            raise BadRequest(Answer(400, error_body(ReturnCode.NMVS_TE_JS_01, "the request was cut off")))
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
