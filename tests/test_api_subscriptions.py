"""Subscriptions over REST: webhook CRUD (``/queries/{name}/subscriptions``) and WebSocket streams.

A real app over both store backends (``test_api_support.make_node``), parties A and B with API keys,
a real HTTP receiver for the webhooks (``test_store_subscriptions.Receiver``), Starlette's TestClient
for the WebSocket.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from packtrail.api.subscriptions import subscription_delivery
from packtrail.store.subscriptions import RetryPolicy, SubscriptionDispatcher, verify_signature
from test_api_support import PARTY_A, PARTY_B, Node, document, event_list, make_node, object_event, sgtin
from test_store_subscriptions import TOKEN, Receiver

SUBSCRIPTION_PROBLEM = "epcisException:SubscriptionControlsException"


@pytest.fixture
def node(store_url: str) -> Iterator[Node]:
    for made in make_node(store_url):
        made.client.app.state.subscription_poll_interval = 0.02  # type: ignore[attr-defined]
        yield made


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def events(start: int, count: int, **extra: Any) -> list[dict[str, Any]]:
    return [object_event(sgtin("4012345", "011111", start + i), **extra) for i in range(count)]


def make_query(node: Node, headers: dict[str, str], name: str, query: dict[str, Any] | None = None) -> None:
    response = node.client.post("/epcis/queries", json={"name": name, "query": query or {}}, headers=headers)
    assert response.status_code == 201, response.text


def subscribe(node: Node, headers: dict[str, str], name: str, body: dict[str, Any]) -> Any:
    return node.client.post(f"/epcis/queries/{name}/subscriptions", json=body, headers=headers)


def test_webhook_subscription_lifecycle(node: Node, receiver: Receiver) -> None:
    make_query(node, node.a, "shipped", {"EQ_bizStep": ["shipping"]})
    created = subscribe(
        node, node.a, "shipped", {"dest": receiver.url, "signatureToken": TOKEN, "stream": True}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    subscription_id = body["subscriptionID"]
    assert created.headers["location"] == f"/epcis/queries/shipped/subscriptions/{subscription_id}"
    assert body["dest"] == receiver.url and body["stream"] is True and "createdAt" in body
    assert TOKEN not in created.text and "signatureToken" not in body

    listed = node.client.get("/epcis/queries/shipped/subscriptions", headers=node.a)
    assert listed.status_code == 200 and [s["subscriptionID"] for s in listed.json()] == [subscription_id]
    shown = node.client.get(created.headers["location"], headers=node.a)
    assert shown.status_code == 200 and shown.json() == body

    job = node.capture(node.key_a, document(events(1, 2) + events(5, 1, biz_step="receiving")))
    assert job["captured"] == 3
    report = asyncio.run(SubscriptionDispatcher(node.store, retry=RetryPolicy(base_delay=0.0)).drain())
    assert report.deliveries == 1 and report.events == 2
    ((headers, raw),) = receiver.requests
    assert verify_signature(TOKEN, raw, headers["gs1-signature"])
    delivered = event_list(receiver.documents()[0])
    assert [e["epcList"][0] for e in delivered] == [sgtin("4012345", "011111", n) for n in (1, 2)]

    assert node.client.delete(created.headers["location"], headers=node.a).status_code == 204
    gone = node.client.get(created.headers["location"], headers=node.a)
    assert gone.status_code == 404 and gone.json()["type"] == "epcisException:NoSuchSubscriptionException"
    assert node.client.get("/epcis/queries/shipped/subscriptions", headers=node.a).json() == []


def test_scheduled_subscription_shows_its_schedule(node: Node, receiver: Receiver) -> None:
    make_query(node, node.a, "nightly")
    body = {
        "dest": receiver.url,
        "schedule": {"hour": "1", "minute": "5"},
        "reportIfEmpty": True,
        "initialRecordTime": "2024-03-01T00:00:00Z",
    }
    created = subscribe(node, node.a, "nightly", body)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert shown["schedule"] == {"hour": "1", "minute": "5"} and shown["reportIfEmpty"] is True
    assert shown["initialRecordTime"] == "2024-03-01T00:00:00.000Z" and "stream" not in shown


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        ({"dest": "https://p.example/cb"}, 400, SUBSCRIPTION_PROBLEM),
        ({"dest": "not a url", "stream": True}, 400, SUBSCRIPTION_PROBLEM),
        ({"dest": "https://p.example/cb", "schedule": {"hour": "25"}}, 400, SUBSCRIPTION_PROBLEM),
        (
            {"dest": "https://p.example/cb", "stream": True, "schedule": {"hour": "1"}},
            400,
            SUBSCRIPTION_PROBLEM,
        ),
        (["dest"], 400, SUBSCRIPTION_PROBLEM),
    ],
)
def test_bad_subscription_requests(node: Node, body: Any, status: int, problem: str) -> None:
    make_query(node, node.a, "q")
    response = subscribe(node, node.a, "q", body)
    assert response.status_code == status and response.json()["type"] == problem
    assert (
        "schedule" in response.json()["detail"]
        or "dest" in response.json()["detail"]
        or "object" in response.json()["detail"]
        or "stream" in response.json()["detail"]
    )


def test_subscription_requests_refused_before_any_store_change(node: Node) -> None:
    make_query(node, node.a, "q")
    missing = subscribe(node, node.a, "nope", {"dest": "https://p.example/cb", "stream": True})
    assert missing.status_code == 404 and missing.json()["type"] == "epcisException:NoSuchNameException"
    anonymous = node.client.post(
        "/epcis/queries/q/subscriptions", json={"dest": "https://p.example/cb", "stream": True}
    )
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    text = node.client.post(
        "/epcis/queries/q/subscriptions", content=b"dest=x", headers={**node.a, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    broken = node.client.post(
        "/epcis/queries/q/subscriptions", content=b"{", headers={**node.a, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["type"] == SUBSCRIPTION_PROBLEM
    options = node.client.options("/epcis/queries/q/subscriptions")
    assert options.status_code == 204 and "POST" in options.headers["allow"]
    assert node.client.get("/epcis/queries/q/subscriptions", headers=node.a).json() == []


def test_parties_cannot_reach_each_others_subscriptions(node: Node, receiver: Receiver) -> None:
    make_query(node, node.a, "a-only")
    make_query(node, node.a, "shared")
    for_a = subscribe(node, node.a, "shared", {"dest": receiver.url, "stream": True}).json()["subscriptionID"]
    # B may not subscribe to (nor list the subscriptions of) A's queries: they do not exist for B
    assert subscribe(node, node.b, "a-only", {"dest": receiver.url, "stream": True}).status_code == 404
    assert node.client.get("/epcis/queries/a-only/subscriptions", headers=node.b).status_code == 404
    assert node.client.get(f"/epcis/queries/shared/subscriptions/{for_a}", headers=node.b).status_code == 404
    assert (
        node.client.delete(f"/epcis/queries/shared/subscriptions/{for_a}", headers=node.b).status_code == 404
    )
    assert node.client.get(f"/epcis/queries/shared/subscriptions/{for_a}", headers=node.a).status_code == 200


def test_delivery_runs_beside_the_app(node: Node, receiver: Receiver) -> None:
    """``subscription_delivery`` in the lifespan: a new subscription and a capture wake it."""
    make_query(node, node.a, "live")
    app = node.client.app

    async def scenario() -> None:
        async with subscription_delivery(app, poll_interval=3600) as dispatcher:  # type: ignore[arg-type]
            assert app.state.dispatcher is dispatcher  # type: ignore[attr-defined]
            created = await asyncio.to_thread(
                subscribe, node, node.a, "live", {"dest": receiver.url, "stream": True}
            )
            assert created.status_code == 201
            await asyncio.to_thread(node.capture, node.key_a, document(events(1, 1)))
            dispatcher.wake()
            for _ in range(3000):  # the dispatcher's own task delivers; wait for it (bounded)
                if receiver.requests:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(scenario())
    assert [e["epcList"][0] for e in event_list(receiver.documents()[0])] == [sgtin("4012345", "011111", 1)]


# -- WebSocket ----------------------------------------------------------------------------------------------


def receive(ws: Any, seconds: float = 60.0) -> Any:
    """The next JSON message; fails (instead of hanging) when none comes."""
    box: queue.Queue[tuple[bool, Any]] = queue.Queue()

    def run() -> None:
        try:
            box.put((True, ws.receive_json()))
        except BaseException as error:  # the test thread re-raises it (a close is WebSocketDisconnect)
            box.put((False, error))

    threading.Thread(target=run, daemon=True).start()
    try:
        ok, value = box.get(timeout=seconds)
    except queue.Empty:
        pytest.fail(f"no WebSocket message within {seconds} s")
    if not ok:
        raise value
    return value


def test_websocket_streams_new_captures(node: Node) -> None:
    make_query(node, node.a, "shipped", {"EQ_bizStep": ["shipping"]})
    node.capture(node.key_a, document(events(1, 1)))  # before the socket opens: not sent
    with node.client.websocket_connect("/epcis/queries/shipped/events?stream=true", headers=node.a) as ws:
        node.store.capture(document(events(10, 2) + events(20, 1, biz_step="receiving")), party=PARTY_A)
        first = receive(ws)
        node.store.capture(document(events(30, 1)), party=PARTY_A)
        second = receive(ws)
    assert (
        first["type"] == "EPCISQueryDocument" and first["epcisBody"]["queryResults"]["queryName"] == "shipped"
    )
    assert [e["epcList"][0] for e in event_list(first)] == [sgtin("4012345", "011111", n) for n in (10, 11)]
    assert [e["epcList"][0] for e in event_list(second)] == [sgtin("4012345", "011111", 30)]


def test_websocket_sends_only_what_the_party_may_see(node: Node) -> None:
    make_query(node, node.a, "everything")
    with node.client.websocket_connect("/epcis/queries/everything/events?stream=true", headers=node.a) as ws:
        node.store.capture(document(events(1, 1)), party=PARTY_B)  # B's own: invisible to A
        node.store.capture(document(events(2, 1)), party=PARTY_A)
        got = receive(ws)
    assert [e["epcList"][0] for e in event_list(got)] == [sgtin("4012345", "011111", 2)]


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [
        ("/epcis/queries/mine/events?stream=true", None, 401),
        ("/epcis/queries/nope/events?stream=true", "a", 404),
        ("/epcis/queries/mine/events?stream=true", "b", 404),
        ("/epcis/queries/mine/events", "a", 400),
        ("/epcis/queries/mine/events?stream=true&minute=5", "a", 400),
        ("/epcis/queries/mine/events?EQ_bizStep=shipping&stream=true", "a", 400),
    ],
)
def test_websocket_refusals_come_before_the_upgrade(
    node: Node, path: str, who: str | None, status: int
) -> None:
    make_query(node, node.a, "mine")
    headers = {"a": node.a, "b": node.b}.get(who or "", {})
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        node.client.websocket_connect(path, headers=headers),
    ):
        pass
    assert refused.value.status_code == status
    assert refused.value.json()["type"].startswith("epcisException:")


def test_websocket_closes_when_its_query_is_deleted(node: Node) -> None:
    make_query(node, node.a, "short-lived")
    with node.client.websocket_connect("/epcis/queries/short-lived/events?stream=true", headers=node.a) as ws:
        assert node.client.delete("/epcis/queries/short-lived", headers=node.a).status_code == 204
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
    assert closed.value.code == 1000
