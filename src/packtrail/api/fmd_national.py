"""HTTP routes of a national verification system: ``/fmd/v1/…`` (thin: the work is in
:class:`packtrail.fmd.national.NationalSystem`).

End users (API key):

- ``POST /fmd/v1/packs/{code}`` — G110 … G180 with ``{productCode, serialNumber, batch, expiry,
  clientTrxId}`` or ``{scan, clientTrxId}``; bulk codes (G115 … G185) with ``{clientTrxId, packs: […]}``
  answer 202 and a ``bulkId``; G188 with ``{bulkId}``; G195 with ``{clientTrxId, packs: [{code,
  productCode, serialNumber, batch, expiry} | {code, scan}]}`` (each pack names its own single-pack
  operation) answers 202 and a ``bulkId``; G196 with ``{bulkId}`` fetches a G195 result (G188 a
  G1x5/G1x7 one; asked crosswise, the answer is ``NMVS_FE_REQ_02``).
- ``GET /fmd/v1/bulk/{bulkId}`` — a bulk's results as a resource (G188 and G196 alike).
- ``GET /fmd/v1/alerts``, ``GET /fmd/v1/alerts/feed?after=N``, ``GET /fmd/v1/alerts/{id}``,
  ``POST /fmd/v1/alerts/{id}/status`` ``{status, reason}``.
- ``GET /fmd/v1/audit?productCode=&serialNumber=&after=`` — the caller's own entries (the authority: all).

Other nodes (federation key): ``POST /fmd/v1/internal/deliveries``, ``…/internal/intermarket/{code}``,
``…/internal/sync[?prepare=1]``. With ``--clock-control`` only: ``POST /admin/clock``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from packtrail.api.fmd_http import authenticate, json_body, node_call_allowed, query_int, respond
from packtrail.fmd.national import NationalSystem

__all__ = ["national_router"]


def national_router(system: NationalSystem, *, clock_control: bool = False) -> APIRouter:
    """The routes of ``system``; ``POST /admin/clock`` exists only when ``clock_control``."""
    router = APIRouter()
    storage = system.storage

    @router.post("/fmd/v1/packs/{code}", tags=["transactions"], summary="An NMVS transaction (G110 … G196)")
    async def pack_transaction(code: str, request: Request) -> Response:
        client = authenticate(request, storage)
        body = await json_body(request)
        return respond(await system.transact(code, body, client))

    @router.get(
        "/fmd/v1/bulk/{bulk_id}", tags=["transactions"], summary="G188/G196: a bulk transaction's results"
    )
    async def bulk_result(bulk_id: str, request: Request) -> Response:
        client = authenticate(request, storage)
        return respond(await system.bulk.fetch(bulk_id, client))

    @router.get("/fmd/v1/alerts", tags=["alerts"], summary="Alerts the caller may see, newest first")
    async def list_alerts(request: Request) -> Response:
        client = authenticate(request, storage)
        limit = query_int(request, "limit", 100, low=1, high=1000)
        return respond(system.list_alerts(client, status=request.query_params.get("status"), limit=limit))

    @router.get("/fmd/v1/alerts/feed", tags=["alerts"], summary="The alert change feed")
    async def alert_feed(request: Request) -> Response:
        client = authenticate(request, storage)
        after = query_int(request, "after", 0, high=2**62)
        return respond(system.alert_feed(client, after=after, limit=query_int(request, "limit", 100, low=1)))

    @router.get("/fmd/v1/alerts/{alert_id}", tags=["alerts"], summary="One alert with its context")
    async def get_alert(alert_id: str, request: Request) -> Response:
        return respond(system.get_alert(authenticate(request, storage), alert_id))

    @router.post(
        "/fmd/v1/alerts/{alert_id}/status", tags=["alerts"], summary="Move an alert along its lifecycle"
    )
    async def move_alert(alert_id: str, request: Request) -> Response:
        client = authenticate(request, storage)
        return respond(system.move_alert(client, alert_id, await json_body(request)))

    @router.get("/fmd/v1/audit", tags=["audit"], summary="Audit entries the caller may read")
    async def audit_entries(request: Request) -> Response:
        client = authenticate(request, storage)
        params = request.query_params
        return respond(
            system.audit_entries(
                client,
                product_code=params.get("productCode"),
                serial=params.get("serialNumber"),
                after=query_int(request, "after", 0, high=2**62),
                limit=query_int(request, "limit", 100, low=1, high=1000),
            )
        )

    @router.get("/fmd/v1/health", tags=["node"], summary="Market and hub registration")
    async def health() -> Response:
        from packtrail.fmd.answers import Answer

        body = {
            "market": system.market,
            "registered": system.registered.is_set(),
            "hub": system.hub_url,
            "commits": {"groups": system.group.groups, "requests": system.group.requests},
        }
        return respond(Answer(200, body))

    @router.post("/fmd/v1/internal/deliveries", tags=["federation"], include_in_schema=False)
    async def delivery(request: Request) -> Response:
        node_call_allowed(request, system.federation_key)
        return respond(system.deliver_in(await json_body(request)))

    @router.post("/fmd/v1/internal/intermarket/{code}", tags=["federation"], include_in_schema=False)
    async def intermarket(code: str, request: Request) -> Response:
        node_call_allowed(request, system.federation_key)
        return respond(await system.intermarket_in(code, await json_body(request)))

    @router.post("/fmd/v1/internal/sync", tags=["federation"], include_in_schema=False)
    async def sync(request: Request) -> Response:
        node_call_allowed(request, system.federation_key)
        prepare = request.query_params.get("prepare") == "1"
        return respond(system.sync_in(await json_body(request), prepare=prepare))

    if clock_control:

        @router.post("/admin/clock", tags=["test"], summary="Set the node's clock (test deployments only)")
        async def set_clock(request: Request) -> Response:
            return respond(system.set_clock(await json_body(request)))

    return router
