"""HTTP routes of the EU hub: ``/hub/v1/…`` (thin: the work is in :class:`packtrail.fmd.hub.Hub`).

Manufacturers (API key from the hub's store):

- ``POST /hub/v1/products`` ``{productCode, name, markets, nhrn}``
- ``POST /hub/v1/batches`` ``{productCode, batch, expiry, serials, markets?}``
- ``POST /hub/v1/products/{productCode}/batches/{batch}/recall``
- ``POST /hub/v1/products/{productCode}/withdraw``
- ``GET /hub/v1/alerts/feed?after=N`` — alerts on the caller's products (the authority: all)

An upload answers 201 when every market's national system took it, 202 when some are pending (they
get it when they are back), with the state per market.

National systems (federation key): ``POST /hub/v1/nodes`` ``{market, url}`` (registration),
``GET /hub/v1/nodes``, ``POST /hub/v1/intermarket/{code}``, ``POST /hub/v1/sync``,
``POST /hub/v1/alerts``. With ``--clock-control`` only: ``POST /admin/clock``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from packtrail.api.fmd_http import authenticate, json_body, node_call_allowed, query_int, respond
from packtrail.fmd.hub import Hub

__all__ = ["hub_router"]


def hub_router(hub: Hub, *, clock_control: bool = False) -> APIRouter:
    """The routes of ``hub``; ``POST /admin/clock`` exists only when ``clock_control``."""
    router = APIRouter()
    storage = hub.storage

    @router.post("/hub/v1/products", tags=["upload"], summary="Upload product master data")
    async def upload_product(request: Request) -> Response:
        client = authenticate(request, storage)
        return respond(await hub.upload_product(await json_body(request), client))

    @router.post("/hub/v1/batches", tags=["upload"], summary="Upload a batch and its serial numbers")
    async def upload_batch(request: Request) -> Response:
        client = authenticate(request, storage)
        return respond(await hub.upload_batch(await json_body(request), client))

    @router.post(
        "/hub/v1/products/{product_code}/batches/{batch}/recall", tags=["upload"], summary="Recall a batch"
    )
    async def recall(product_code: str, batch: str, request: Request) -> Response:
        return respond(await hub.recall(product_code, batch, authenticate(request, storage)))

    @router.post("/hub/v1/products/{product_code}/withdraw", tags=["upload"], summary="Withdraw a product")
    async def withdraw(product_code: str, request: Request) -> Response:
        return respond(await hub.withdraw(product_code, authenticate(request, storage)))

    @router.get("/hub/v1/alerts/feed", tags=["alerts"], summary="Alerts on the caller's products")
    async def alert_feed(request: Request) -> Response:
        client = authenticate(request, storage)
        after = query_int(request, "after", 0, high=2**62)
        return respond(hub.alert_feed(client, after=after, limit=query_int(request, "limit", 100, low=1)))

    @router.post("/hub/v1/nodes", tags=["federation"], summary="Register a national system")
    async def register(request: Request) -> Response:
        node_call_allowed(request, hub.federation_key)
        return respond(await hub.register(await json_body(request)))

    @router.get("/hub/v1/nodes", tags=["federation"], summary="The registered national systems")
    async def nodes() -> Response:
        return respond(hub.nodes())

    @router.post("/hub/v1/intermarket/{code}", tags=["federation"], include_in_schema=False)
    async def intermarket(code: str, request: Request) -> Response:
        node_call_allowed(request, hub.federation_key)
        return respond(await hub.intermarket(code, await json_body(request)))

    @router.post("/hub/v1/sync", tags=["federation"], include_in_schema=False)
    async def sync(request: Request) -> Response:
        node_call_allowed(request, hub.federation_key)
        return respond(await hub.sync(await json_body(request)))

    @router.post("/hub/v1/alerts", tags=["federation"], include_in_schema=False)
    async def alert_in(request: Request) -> Response:
        node_call_allowed(request, hub.federation_key)
        return respond(await hub.alert_in(await json_body(request)))

    if clock_control:

        @router.post("/admin/clock", tags=["test"], summary="Set the hub's clock (test deployments only)")
        async def set_clock(request: Request) -> Response:
            return respond(hub.set_clock(await json_body(request)))

    return router
