"""Query subscriptions over REST: webhooks (``/queries/{queryName}/subscriptions``) and WebSockets.

A trading partner subscribes to one of its named queries with a webhook:

    POST /epcis/queries/shippedToday/subscriptions
    {"dest": "https://partner.example/epcis-callback", "signatureToken": "s3cret", "stream": true}

answers ``201`` with ``Location: /epcis/queries/shippedToday/subscriptions/{subscriptionID}``. From
then on every newly captured event the query matches (and the partner may see) is POSTed to ``dest``
as an ``EPCISQueryDocument``, signed in ``GS1-Signature`` (see :mod:`packtrail.store.subscriptions`),
by the :class:`~packtrail.store.subscriptions.SubscriptionDispatcher` running beside the app. A
``schedule`` (``{"hour": "1", "minute": "5"}``) instead of ``stream`` sends at those times.
``GET`` lists or shows the caller's subscriptions (never the secret), ``DELETE`` unsubscribes.

The same subscription over a WebSocket needs no callback URL: open
``GET /epcis/queries/shippedToday/events?stream=true`` with ``Upgrade: websocket`` (or the schedule
fields as URL parameters) and read one query document per text message. Refusals (unknown query,
bad controls, no credentials) are answered before the upgrade, as problem documents.

Subscriptions are private: a party sees, changes and receives only its own, and only the events it
may see; another party's subscription is answered ``404`` like one that does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Final
from urllib.parse import quote

import anyio
import orjson
from fastapi import APIRouter, FastAPI, Request, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.websockets import WebSocketDisconnect, WebSocketState

from packtrail.api.answers import json_answer, store_of
from packtrail.api.auth import CurrentViewer, unauthorised
from packtrail.api.headers import add_options_route
from packtrail.api.negotiation import negotiate
from packtrail.api.problems import Problem, from_store_error, problem_response
from packtrail.store import StoreError, Viewer
from packtrail.store.subscriptions import (
    SCHEDULE_FIELDS,
    SubscriptionDispatcher,
    SubscriptionRequest,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    subscription_start,
    websocket_documents,
)

__all__ = ["DEFAULT_WEBSOCKET_POLL_INTERVAL", "router", "subscription_delivery"]

router = APIRouter(tags=["Subscriptions"])

log = logging.getLogger("packtrail.api")

DEFAULT_WEBSOCKET_POLL_INTERVAL: Final = 1.0
"""Seconds between looks for new events on a streaming WebSocket (``app.state.subscription_poll_interval``
overrides it)."""

MAX_BODY_BYTES: Final = 64 * 1024
WEBSOCKET_PARAMETERS: Final = frozenset(
    {"stream", "reportIfEmpty", "initialRecordTime", *SCHEDULE_FIELDS, "perPage", "nextPageToken"}
)
"""URL parameters a WebSocket subscription understands (paging ones are ignored)."""

_CREATE_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["dest"],
                    "properties": {
                        "dest": {
                            "type": "string",
                            "format": "uri",
                            "description": "The webhook (http/https).",
                        },
                        "signatureToken": {"type": "string", "description": "Key of the GS1-Signature HMAC."},
                        "stream": {"type": "boolean", "enum": [True]},
                        "schedule": {
                            "type": "object",
                            "properties": {name: {"type": "string"} for name in SCHEDULE_FIELDS},
                        },
                        "reportIfEmpty": {"type": "boolean"},
                        "initialRecordTime": {"type": "string", "format": "date-time"},
                    },
                }
            }
        },
    },
    "responses": {
        "201": {"description": "Subscribed; Location names the subscription."},
        "400": {"description": "SubscriptionControlsException: invalid dest, schedule or options."},
        "404": {"description": "NoSuchNameException: no such named query."},
    },
}

_SUBSCRIPTIONS: Final = "/queries/{queryName}/subscriptions"
_SUBSCRIPTION: Final = "/queries/{queryName}/subscriptions/{subscriptionID}"

add_options_route(router, _SUBSCRIPTIONS, ("GET", "POST"))
add_options_route(router, _SUBSCRIPTION, ("GET", "DELETE"))


def _location(query_name: str, subscription_id: str) -> str:
    return f"/epcis/queries/{quote(query_name, safe='')}/subscriptions/{quote(subscription_id, safe='')}"


@contextlib.asynccontextmanager
async def subscription_delivery(
    app: FastAPI, *, poll_interval: float = 1.0, dispatcher: SubscriptionDispatcher | None = None
) -> AsyncIterator[SubscriptionDispatcher]:
    """Deliver webhook subscriptions for as long as the app runs: a
    :class:`~packtrail.store.subscriptions.SubscriptionDispatcher` on the app's event loop, published
    as ``app.state.dispatcher`` (so a new subscription, or a capture, can :meth:`wake` it). Enter it
    in the app's lifespan::

        async with subscription_delivery(app):
            yield
    """
    dispatcher = dispatcher or SubscriptionDispatcher(app.state.store)
    app.state.dispatcher = dispatcher
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run_forever(poll_interval, stop=stop))
    try:
        yield dispatcher
    finally:
        stop.set()
        await task
        app.state.dispatcher = None


def _wake_dispatcher(request: Request) -> None:
    """Let a dispatcher running in this process start delivering the new subscription now."""
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


@router.get(
    _SUBSCRIPTIONS, summary="Returns the caller's active subscriptions to the query.", response_class=Response
)
async def list_query_subscriptions(
    queryName: str,
    request: Request,
    viewer: CurrentViewer,
) -> Response:
    """The caller's subscriptions to the named query, oldest first (the administrator sees all)."""
    negotiate(request.headers, xml=False)
    subscriptions = await run_in_threadpool(list_subscriptions, store_of(request), queryName, viewer)
    return json_answer([subscription.to_json() for subscription in subscriptions])


@router.post(
    _SUBSCRIPTIONS,
    status_code=201,
    summary="Creates a query subscription (webhook).",
    response_class=Response,
    openapi_extra=_CREATE_BODY,
)
async def subscribe(
    queryName: str,
    request: Request,
    viewer: CurrentViewer,
) -> Response:
    """Subscribe a webhook; ``201`` with ``Location`` and the subscription (without its secret)."""
    negotiate(request.headers, xml=False)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in ("application/json", "application/ld+json"):
        raise Problem(
            415, "UnsupportedMediaTypeException", f"Content-Type: expected application/json, got {media!r}"
        )
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise Problem(
            413, "QueryTooComplexException", f"a subscription request is at most {MAX_BODY_BYTES} bytes"
        )
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Problem(400, "SubscriptionControlsException", f"the body is not JSON: {error}") from None
    subscription_request = SubscriptionRequest.parse(body)
    subscription = await run_in_threadpool(
        create_subscription, store_of(request), queryName, subscription_request, viewer
    )
    _wake_dispatcher(request)
    location = _location(queryName, subscription.subscription_id)
    return json_answer(subscription.to_json(), 201, {"Location": location})


@router.get(_SUBSCRIPTION, summary="Returns the details of a subscription.", response_class=Response)
async def show_subscription(
    queryName: str,
    subscriptionID: str,
    request: Request,
    viewer: CurrentViewer,
) -> Response:
    """One of the caller's subscriptions (``404`` when it is not one of them)."""
    negotiate(request.headers, xml=False)
    subscription = await run_in_threadpool(
        get_subscription, store_of(request), queryName, subscriptionID, viewer
    )
    return json_answer(subscription.to_json())


@router.delete(_SUBSCRIPTION, status_code=204, summary="Unsubscribes.", response_class=Response)
async def unsubscribe(
    queryName: str,
    subscriptionID: str,
    request: Request,
    viewer: CurrentViewer,
) -> Response:
    """Stop the subscription; ``204`` (``404`` when it is not one of the caller's)."""
    await run_in_threadpool(delete_subscription, store_of(request), queryName, subscriptionID, viewer)
    return Response(status_code=204)


# -- WebSocket --------------------------------------------------------------------------------------------


def _websocket_viewer(websocket: WebSocket) -> Viewer:
    """The caller of a WebSocket handshake, from its ``Authorization: Bearer`` header (blocking)."""
    authenticator = websocket.app.state.authenticator
    header = websocket.headers.get("authorization")
    if header is None:
        viewer: Viewer = authenticator.viewer_for(None)
        return viewer
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise unauthorised("the Authorization header must be 'Bearer <credential>'", error="invalid_request")
    viewer = authenticator.viewer_for(credential.strip())
    return viewer


def _websocket_request(websocket: WebSocket) -> SubscriptionRequest:
    params = websocket.query_params
    unknown = sorted(set(params) - WEBSOCKET_PARAMETERS)
    if unknown:
        raise Problem(
            400,
            "SubscriptionControlsException",
            f"unknown parameter(s) {', '.join(unknown)}: a WebSocket subscription takes stream or the "
            f"schedule fields ({', '.join(SCHEDULE_FIELDS)}), reportIfEmpty and initialRecordTime",
        )
    return SubscriptionRequest.parse(
        {name: params[name] for name in params if name not in ("perPage", "nextPageToken")}, websocket=True
    )


async def _refuse(websocket: WebSocket, problem: Problem) -> None:
    """Answer the handshake with the problem document (HTTP, no upgrade), or close with 1008 when the
    server cannot send an HTTP answer to a WebSocket handshake."""
    try:
        await websocket.send_denial_response(problem_response(problem))
    except RuntimeError:
        await websocket.close(code=1008, reason=(problem.detail or problem.title)[:120])


@router.websocket("/queries/{queryName}/events")
async def subscribe_websocket(websocket: WebSocket, queryName: str) -> None:
    """A WebSocket subscription: one ``EPCISQueryDocument`` per text message, as events arrive
    (``stream=true``) or at the scheduled times."""
    store = websocket.app.state.store
    try:
        viewer = await run_in_threadpool(_websocket_viewer, websocket)
        subscription_request = _websocket_request(websocket)
        if await run_in_threadpool(store.named_query, queryName, viewer) is None:
            raise Problem(404, "NoSuchNameException", f"no named query {queryName!r}")
    except Problem as problem:
        await _refuse(websocket, problem)
        return
    except StoreError as error:
        await _refuse(websocket, from_store_error(error))
        return
    poll_interval = float(
        getattr(websocket.app.state, "subscription_poll_interval", DEFAULT_WEBSOCKET_POLL_INTERVAL)
    )
    start = await run_in_threadpool(subscription_start, store, subscription_request.initial_record_time_us)
    await websocket.accept()

    outcome: dict[str, BaseException | None] = {}

    async def pump(scope: anyio.CancelScope) -> None:
        documents = websocket_documents(
            store, queryName, subscription_request, viewer, after_pk=start, poll_interval=poll_interval
        )
        try:
            async for document in documents:
                await websocket.send_text(document.decode("utf-8"))
        except (WebSocketDisconnect, OSError):
            pass  # the client went away
        except Exception as error:
            log.error("WebSocket subscription to %r failed", queryName, exc_info=error)
            outcome["failure"] = error
        else:
            outcome["finished"] = None  # the named query was deleted: the subscription is over
        scope.cancel()

    async def until_closed(scope: anyio.CancelScope) -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
        scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(pump, group.cancel_scope)
        group.start_soon(until_closed, group.cancel_scope)
    if outcome and websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            # 1000: the query was deleted, the subscription is over; 1011: the repository failed
            await websocket.close(code=1011 if "failure" in outcome else 1000)
