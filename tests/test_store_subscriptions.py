"""Query subscriptions: schedules, requests, signatures, and webhook delivery to a real HTTP receiver.

Delivery runs :class:`SubscriptionDispatcher` against both store backends and a small HTTP server in
a thread that records every POST and answers with a scripted status. Retries wait 0 s here
(``RetryPolicy(base_delay=0)``), so no test sleeps.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from packtrail.store import (
    NoSuchNameError,
    NoSuchSubscriptionError,
    Store,
    SubscriptionControlsError,
    Viewer,
    open_store,
)
from packtrail.store.subscriptions import (
    RetryPolicy,
    Schedule,
    SubscriptionDispatcher,
    SubscriptionRequest,
    create_subscription,
    dead_letters,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    sign_body,
    verify_signature,
)
from test_api_support import PARTY_A, PARTY_B, document, object_event, sgtin

pytestmark = pytest.mark.anyio

ADMIN = Viewer.admin()
A = Viewer(PARTY_A)
B = Viewer(PARTY_B)
TOKEN = "13df38d8275b13f05704629e5f1cf3d45d6132d5"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- a webhook receiver ------------------------------------------------------------------------------------


class Receiver:
    """An HTTP server on a free loopback port recording each POST; ``statuses`` scripts the answers
    (first in, first used; 200 once empty)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        self.statuses: list[int] = []
        self.always: int | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.always or (receiver.statuses.pop(0) if receiver.statuses else 200)
                    receiver.answers.append(status)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def documents(self, *, acknowledged_only: bool = True) -> list[dict[str, Any]]:
        """The query documents received (those answered 2xx, in order, when ``acknowledged_only``)."""
        return [
            orjson.loads(body)
            for (_, body), status in zip(self.requests, self.answers, strict=True)
            if status < 300 or not acknowledged_only
        ]

    def event_ids(self) -> list[str]:
        return [
            e["eventID"]
            for doc in self.documents()
            for e in doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        opened.add_party(PARTY_A, "Alpha Pharma")
        opened.add_party(PARTY_B, "Beta Wholesale")
        yield opened


def capture(store: Store, events: list[dict[str, Any]], party: str | None = None) -> list[str]:
    result = store.capture(document(events), party=party)
    assert result.success, result.errors
    return [e["eventID"] for e in events]


def events(start: int, count: int, biz_step: str = "shipping", **extra: Any) -> list[dict[str, Any]]:
    return [
        object_event(
            sgtin("4012345", "011111", start + i),
            biz_step=biz_step,
            event_id=f"urn:uuid:00000000-0000-4000-8000-{start + i:012d}",
            **extra,
        )
        for i in range(count)
    ]


def dispatcher(store: Store, **options: Any) -> SubscriptionDispatcher:
    options.setdefault("retry", RetryPolicy(max_attempts=3, base_delay=0.0))
    return SubscriptionDispatcher(store, **options)


# -- schedules ---------------------------------------------------------------------------------------------

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ({"hour": "1", "minute": "5"}, T0, datetime(2024, 3, 2, 1, 5, tzinfo=UTC)),
        ({"minute": "5"}, T0, datetime(2024, 3, 1, 12, 5, tzinfo=UTC)),
        ({"second": "0/30"}, T0, datetime(2024, 3, 1, 12, 0, 30, tzinfo=UTC)),
        ({"second": "[10-12]", "minute": "0"}, T0 + timedelta(seconds=11), T0 + timedelta(seconds=12)),
        ({"dayOfWeek": "1"}, T0, datetime(2024, 3, 4, tzinfo=UTC)),
        ({"dayOfMonth": "29", "month": "2"}, T0, datetime(2028, 2, 29, tzinfo=UTC)),
        ({"dayOfMonth": "31", "hour": "23,1"}, T0, datetime(2024, 3, 31, 1, tzinfo=UTC)),
        ({"month": "1"}, T0, datetime(2025, 1, 1, tzinfo=UTC)),
        ({"hour": 7}, T0, datetime(2024, 3, 2, 7, tzinfo=UTC)),
    ],
)
def test_schedule_next_time(spec: dict[str, Any], after: datetime, expected: datetime) -> None:
    schedule = Schedule.parse(spec)
    assert schedule.next_after(after) == expected
    assert schedule.matches(expected)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({}, "at least one"),
        ({"hour": "24"}, "outside 0..23"),
        ({"minute": "[30-10]"}, "backwards"),
        ({"second": "x"}, "not a number"),
        ({"hours": "1"}, "unknown field"),
        ({"dayOfMonth": "31", "month": "2"}, "never matches"),
        ({"dayOfWeek": "0"}, "outside 1..7"),
        ({"minute": ""}, "must be a string"),
        ("1 5 * * *", "JSON object"),
    ],
)
def test_schedule_errors_name_the_field(spec: Any, words: str) -> None:
    with pytest.raises(SubscriptionControlsError, match=words):
        Schedule.parse(spec)


elements = st.one_of(
    st.integers(0, 70).map(str),
    st.tuples(st.integers(0, 60), st.integers(0, 60)).map(lambda r: f"[{r[0]}-{r[1]}]"),
    st.text(max_size=6),
)
field_values = st.lists(elements, min_size=1, max_size=3).map(",".join)


@given(
    st.dictionaries(
        st.sampled_from(["second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek", "year"]),
        field_values | st.integers() | st.none(),
    )
)
def test_schedule_parser_raises_only_its_error(spec: dict[str, Any]) -> None:
    try:
        schedule = Schedule.parse(spec)
    except SubscriptionControlsError:
        return
    following = schedule.next_after(T0)
    assert following is not None and following > T0 and schedule.matches(following)


@given(
    st.sets(st.integers(0, 59), min_size=1, max_size=5),
    st.sets(st.integers(0, 59), min_size=1, max_size=5),
    st.integers(0, 7200),
)
def test_schedule_next_time_is_the_first_match(seconds: set[int], minutes: set[int], offset: int) -> None:
    """Against a second-by-second walk: nothing matches between ``after`` and the answer."""
    schedule = Schedule.parse({"second": ",".join(map(str, seconds)), "minute": ",".join(map(str, minutes))})
    after = T0 + timedelta(seconds=offset)
    following = schedule.next_after(after)
    assert following is not None and schedule.matches(following)
    moment = after + timedelta(seconds=1)
    while moment < following:
        assert not schedule.matches(moment)
        moment += timedelta(seconds=1)


# -- requests and signatures -------------------------------------------------------------------------------


def test_request_forms() -> None:
    stream = SubscriptionRequest.parse(
        {"dest": "https://p.example/cb", "signatureToken": TOKEN, "stream": True}
    )
    assert (stream.stream, stream.schedule, stream.signature_token) == (True, None, TOKEN)
    scheduled = SubscriptionRequest.parse(
        {
            "dest": "http://p.example:8080/cb",
            "schedule": {"hour": "1", "minute": "5"},
            "reportIfEmpty": True,
            "initialRecordTime": "2024-03-01T10:00:00.5+01:00",
        }
    )
    assert scheduled.schedule is not None and scheduled.schedule.spec == {"hour": "1", "minute": "5"}
    assert scheduled.report_if_empty and scheduled.initial_record_time_us == 1_709_283_600_500_000
    socket = SubscriptionRequest.parse({"minute": "5", "reportIfEmpty": "true"}, websocket=True)
    assert socket.dest is None and socket.schedule is not None and socket.report_if_empty


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"stream": True}, "dest must be"),
        ({"dest": "ftp://p.example/x", "stream": True}, "http:// or https://"),
        ({"dest": "/relative", "stream": True}, "http:// or https://"),
        ({"dest": "https://p.example/cb", "stream": True, "schedule": {"hour": "1"}}, "mutually exclusive"),
        ({"dest": "https://p.example/cb", "stream": False}, 'needs "stream": true'),
        ({"dest": "https://p.example/cb", "stream": "yes"}, "stream must be true or false"),
        (
            {"dest": "https://p.example/cb", "stream": True, "initialRecordTime": "yesterday"},
            "initialRecordTime",
        ),
        ({"dest": "https://p.example/cb", "stream": True, "signatureToken": 5}, "signatureToken"),
        ({"dest": "https://p.example/cb", "hour": "1"}, 'inside "schedule"'),
        ([], "JSON object"),
    ],
)
def test_request_errors(body: Any, words: str) -> None:
    with pytest.raises(SubscriptionControlsError, match=words):
        SubscriptionRequest.parse(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
request_bodies = st.fixed_dictionaries(
    {},
    optional={
        "dest": st.sampled_from(["https://p.example/cb", "http://[::1", "mailto:x", ""]) | json_values,
        "stream": json_values,
        "schedule": st.dictionaries(
            st.sampled_from(["hour", "minute", "x"]), field_values | json_values, max_size=3
        ),
        "reportIfEmpty": json_values,
        "initialRecordTime": st.sampled_from(["2024-03-01T10:00:00Z", "2024-02-30T10:00:00Z"]) | json_values,
        "signatureToken": json_values,
    },
)


@given(request_bodies | json_values, st.booleans())
def test_request_parser_raises_only_its_error(body: Any, websocket: bool) -> None:
    try:
        request = SubscriptionRequest.parse(body, websocket=websocket)
    except SubscriptionControlsError:
        return
    assert request.stream != (request.schedule is not None)


def test_signature_round_trip() -> None:
    body = b'{"type":"EPCISQueryDocument"}'
    signature = sign_body(TOKEN, body)
    assert verify_signature(TOKEN, body, signature)
    assert not verify_signature(TOKEN, body + b" ", signature)
    assert not verify_signature("another", body, signature)


# -- records and who may see them --------------------------------------------------------------------------


def stream_request(receiver: Receiver, **extra: Any) -> SubscriptionRequest:
    return SubscriptionRequest.parse({"dest": receiver.url, "signatureToken": TOKEN, "stream": True, **extra})


def test_subscriptions_are_private(store: Store, receiver: Receiver) -> None:
    store.create_named_query("a-shipping", {"EQ_bizStep": ["shipping"]}, A)
    store.create_named_query("public", {"EQ_bizStep": ["receiving"]}, ADMIN)
    mine = create_subscription(store, "a-shipping", stream_request(receiver), A)
    assert mine.owner == PARTY_A and mine.signed
    assert "signatureToken" not in json.dumps(mine.to_json()) and TOKEN not in json.dumps(mine.to_json())

    with pytest.raises(NoSuchNameError):  # B cannot even see A's query
        create_subscription(store, "a-shipping", stream_request(receiver), B)
    with pytest.raises(NoSuchNameError):
        list_subscriptions(store, "a-shipping", B)

    theirs = create_subscription(store, "public", stream_request(receiver), B)
    also_mine = create_subscription(store, "public", stream_request(receiver), A)
    assert [s.subscription_id for s in list_subscriptions(store, "public", B)] == [theirs.subscription_id]
    assert [s.subscription_id for s in list_subscriptions(store, "public", A)] == [also_mine.subscription_id]
    assert len(list_subscriptions(store, "public", ADMIN)) == 2
    with pytest.raises(NoSuchSubscriptionError):
        get_subscription(store, "public", also_mine.subscription_id, B)
    with pytest.raises(NoSuchSubscriptionError):
        delete_subscription(store, "public", also_mine.subscription_id, B)
    with pytest.raises(NoSuchSubscriptionError):  # right id, wrong query
        get_subscription(store, "a-shipping", also_mine.subscription_id, A)
    assert get_subscription(store, "public", also_mine.subscription_id, A) == also_mine

    delete_subscription(store, "public", also_mine.subscription_id, A)
    assert list_subscriptions(store, "public", A) == []
    with pytest.raises(NoSuchSubscriptionError):
        delete_subscription(store, "public", also_mine.subscription_id, A)


# -- delivery ------------------------------------------------------------------------------------------------


async def test_stream_delivers_signed_documents_in_record_time_order(
    store: Store, receiver: Receiver
) -> None:
    store.create_named_query("shipping", {"EQ_bizStep": ["shipping"]}, ADMIN)
    capture(store, events(1, 2))  # before subscribing: not delivered (initialRecordTime defaults to now)
    subscription = create_subscription(store, "shipping", stream_request(receiver), ADMIN)
    wanted = capture(store, events(10, 3))
    capture(store, events(20, 2, biz_step="receiving"))
    wanted += capture(store, events(30, 2))

    report = await dispatcher(store, batch_size=2).drain()
    assert report.deliveries == 3 and report.events == 5 and report.failures == 0
    assert receiver.event_ids() == wanted
    for headers, body in receiver.requests:
        assert verify_signature(TOKEN, body, headers["gs1-signature"])
        assert headers["content-type"] == "application/json"
    record_times = [
        e["recordTime"]
        for doc in receiver.documents()
        for e in doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ]
    assert record_times == sorted(record_times)
    first = receiver.documents()[0]
    assert first["type"] == "EPCISQueryDocument"
    assert first["epcisBody"]["queryResults"]["queryName"] == "shipping"
    assert first["epcisBody"]["queryResults"]["subscriptionID"] == subscription.subscription_id

    assert (await dispatcher(store).drain()).deliveries == 0  # nothing new: nothing sent
    assert len(receiver.requests) == 3


async def test_failed_delivery_is_retried_and_acknowledged_once(store: Store, receiver: Receiver) -> None:
    store.create_named_query("all", {}, ADMIN)
    create_subscription(store, "all", stream_request(receiver), ADMIN)
    wanted = capture(store, events(1, 3))
    receiver.statuses = [500, 503]

    report = await dispatcher(store, retry=RetryPolicy(max_attempts=5, base_delay=0.0)).drain()
    assert (report.failures, report.deliveries, report.dead_letters) == (2, 1, 0)
    assert receiver.answers == [500, 503, 200]  # two refused attempts, then one acknowledged
    assert receiver.event_ids() == wanted
    refused = receiver.documents(acknowledged_only=False)[0]
    assert (
        refused["epcisBody"]["queryResults"]["resultsBody"]
        == receiver.documents()[0]["epcisBody"]["queryResults"]["resultsBody"]
    )

    more = capture(store, events(10, 1))
    await dispatcher(store).drain()
    assert receiver.event_ids() == wanted + more  # the acknowledged batch is not sent again


async def test_always_failing_webhook_goes_to_dead_letters_and_delivery_continues(
    store: Store, receiver: Receiver
) -> None:
    store.create_named_query("all", {}, ADMIN)
    subscription = create_subscription(store, "all", stream_request(receiver), ADMIN)
    lost = capture(store, events(1, 2))
    receiver.always = 500

    report = await dispatcher(store).drain()
    assert (report.failures, report.dead_letters, report.deliveries) == (3, 1, 0)
    letters = dead_letters(store, subscription.subscription_id, ADMIN)
    assert len(letters) == 1 and letters[0].attempts == 3 and letters[0].last_error.startswith("HTTP 500")
    payload = orjson.loads(letters[0].payload)
    assert [e["eventID"] for e in payload["epcisBody"]["queryResults"]["resultsBody"]["eventList"]] == lost
    assert dead_letters(store, subscription.subscription_id, B) == []  # not B's subscription

    receiver.always = None
    later = capture(store, events(10, 1))
    assert (await dispatcher(store).drain()).deliveries == 1
    assert receiver.event_ids() == later  # moved on past the dead letter


async def test_restarted_dispatcher_resumes_without_resending(store: Store, receiver: Receiver) -> None:
    store.create_named_query("all", {}, ADMIN)
    create_subscription(store, "all", stream_request(receiver), ADMIN)
    first = capture(store, events(1, 3))
    before_restart = dispatcher(store)
    await before_restart.drain()
    await before_restart.aclose()
    assert receiver.event_ids() == first

    second = capture(store, events(10, 2))
    with open_store(store.url) as reopened:  # a new process would do the same: state is in the database
        await dispatcher(reopened).drain()
    assert receiver.event_ids() == first + second


async def test_delivery_respects_the_subscribers_visibility(store: Store, receiver: Receiver) -> None:
    store.create_named_query("public", {}, ADMIN)
    create_subscription(store, "public", stream_request(receiver), B)
    capture(store, events(1, 2), party=PARTY_A)  # A's private events
    shared = capture(store, events(10, 1, owner=PARTY_B), party=PARTY_A)  # B is the owning party
    own = capture(store, events(20, 1), party=PARTY_B)
    await dispatcher(store).drain()
    assert receiver.event_ids() == shared + own


async def test_initial_record_time_reaches_back(store: Store, receiver: Receiver) -> None:
    store.create_named_query("all", {}, ADMIN)
    old = capture(store, events(1, 2))
    create_subscription(
        store, "all", stream_request(receiver, initialRecordTime="2000-01-01T00:00:00Z"), ADMIN
    )
    await dispatcher(store).drain()
    assert receiver.event_ids() == old


async def test_scheduled_subscription_reports_at_its_times(store: Store, receiver: Receiver) -> None:
    store.create_named_query("all", {}, ADMIN)
    request = SubscriptionRequest.parse(
        {"dest": receiver.url, "schedule": {"minute": "[0-59]"}, "reportIfEmpty": True}
    )
    create_subscription(store, "all", request, ADMIN)
    wanted = capture(store, events(1, 2))
    now = [T0 + timedelta(seconds=10)]
    scheduled = dispatcher(store, clock=lambda: now[0])

    assert (await scheduled.run_once()).deliveries == 0  # 12:00:10: the next time is 12:01:00
    assert receiver.requests == []
    now[0] = T0 + timedelta(minutes=1)
    assert (await scheduled.run_once()).deliveries == 1
    assert receiver.event_ids() == wanted
    assert (await scheduled.run_once()).deliveries == 0  # same minute: already reported
    now[0] = T0 + timedelta(minutes=2, seconds=3)
    assert (await scheduled.run_once()).deliveries == 1  # nothing new, but reportIfEmpty
    empty = receiver.documents()[-1]["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert empty == [] and "gs1-signature" not in receiver.requests[-1][0]  # no token given: unsigned


async def test_deleted_query_or_subscription_stops_delivery(store: Store, receiver: Receiver) -> None:
    store.create_named_query("q1", {}, A)
    store.create_named_query("q2", {}, A)
    create_subscription(store, "q1", stream_request(receiver), A)
    gone = create_subscription(store, "q2", stream_request(receiver), A)
    delete_subscription(store, "q2", gone.subscription_id, A)
    assert store.delete_named_query("q1", A)
    capture(store, events(1, 1), party=PARTY_A)
    assert (await dispatcher(store).drain()).deliveries == 0
    assert receiver.requests == []


async def test_unreachable_webhook_fails_like_a_refusal(store: Store) -> None:
    store.create_named_query("all", {}, ADMIN)
    request = SubscriptionRequest.parse({"dest": "http://127.0.0.1:1/nobody-listens", "stream": True})
    subscription = create_subscription(store, "all", request, ADMIN)
    capture(store, events(1, 1))
    report = await dispatcher(store).drain()
    assert (report.failures, report.dead_letters) == (3, 1)
    (letter,) = dead_letters(store, subscription.subscription_id, ADMIN)
    assert letter.last_error.startswith("ConnectError")
