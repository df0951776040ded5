"""The outbox relay: captured events reach NATS JetStream once each, even across a crash.

Real NATS (``nats_url``) and both store backends (``store_url``). Each test works in its own
stream and subject prefix, deleted afterwards, so tests (and other users of the server) do not mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nats
import orjson
import pytest
import sqlalchemy as sa
from nats.js.client import JetStreamContext

from packtrail.store import Store, open_store, schema
from packtrail.store.relay import OutboxRelay, event_subject, subject_token

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_event(
    serial: int, biz_step: str | None = "shipping", event_type: str = "ObjectEvent"
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": event_type,
        "eventID": f"urn:uuid:{uuid.uuid4()}",
        "eventTime": "2024-03-01T10:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{serial}"],
        "action": "OBSERVE",
    }
    if biz_step is not None:
        event["bizStep"] = biz_step
    return event


def make_document(events: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(
        {
            "@context": [CONTEXT],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2024-03-01T10:00:00Z",
            "epcisBody": {"eventList": events},
        }
    )


def capture(store: Store, events: list[dict[str, Any]]) -> None:
    result = store.capture(make_document(events))
    assert result.success and result.captured == len(events), result.errors


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def stream_names() -> tuple[str, str]:
    """A fresh (stream, subject prefix) pair for one test."""
    tag = uuid.uuid4().hex[:12]
    return f"T_RELAY_{tag}", f"t{tag}.epcis.events"


@pytest.fixture
async def jetstream(nats_url: str, stream_names: tuple[str, str]) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await nc.jetstream().delete_stream(stream_names[0])
        await nc.close()


async def read_stream(js: JetStreamContext, stream: str, prefix: str) -> list[Any]:
    """Every message of the stream, through a consumer, in stream order; checks nothing is left."""
    info = await js.stream_info(stream)
    count = info.state.messages
    sub = await js.pull_subscribe(f"{prefix}.>", stream=stream)
    messages: list[Any] = []
    while len(messages) < count:
        messages.extend(await sub.fetch(count - len(messages), timeout=10))
    for message in messages:
        await message.ack()
    assert (await sub.consumer_info()).num_pending == 0
    await sub.unsubscribe()
    return messages


def outbox_rows(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(schema.outbox).order_by(schema.outbox.c.outbox_pk)))


def test_subjects_are_safe_tokens() -> None:
    assert event_subject("p", "ObjectEvent", "receiving") == "p.ObjectEvent.receiving"
    assert event_subject("p", "ObjectEvent", "urn:epcglobal:cbv:bizstep:receiving") == "p.ObjectEvent.other"
    assert event_subject("p", "Object Event", None) == "p.Object_Event.none"
    assert subject_token("") == "_"


async def test_relay_publishes_committed_events_in_order(
    store: Store, nats_url: str, stream_names: tuple[str, str], jetstream: JetStreamContext
) -> None:
    stream, prefix = stream_names
    first = [make_event(1), make_event(2, "receiving"), make_event(3, None, "AggregationEvent")]
    first[2].update(
        parentID="urn:epc:id:sscc:4012345.0000000001", childEPCs=first[2].pop("epcList"), action="ADD"
    )
    second = [make_event(4, "https://ns.example.com/bizstep/pick"), make_event(5)]
    capture(store, first)
    capture(store, second)

    async with OutboxRelay(store, nats_url, stream=stream, subject_prefix=prefix, batch_size=2) as relay:
        assert await relay.run_once() == 5
        assert await relay.run_once() == 0  # nothing pending any more
        assert relay.duplicates == 0

    assert [row.done for row in outbox_rows(store)] == [True, True]
    messages = await read_stream(jetstream, stream, prefix)
    expected = first + second
    assert [m.headers["Nats-Msg-Id"] for m in messages] == [e["eventID"] for e in expected]
    assert [m.subject for m in messages] == [
        f"{prefix}.ObjectEvent.shipping",
        f"{prefix}.ObjectEvent.receiving",
        f"{prefix}.AggregationEvent.none",
        f"{prefix}.ObjectEvent.other",
        f"{prefix}.ObjectEvent.shipping",
    ]
    bodies = [orjson.loads(m.data) for m in messages]
    assert [b["eventID"] for b in bodies] == [e["eventID"] for e in expected]
    assert all("recordTime" in b for b in bodies)  # the stored document, as the repository recorded it
    assert len({m.headers["GS1-Capture-ID"] for m in messages}) == 2


async def test_relay_resumes_after_capture_while_running(
    store: Store, nats_url: str, stream_names: tuple[str, str], jetstream: JetStreamContext
) -> None:
    stream, prefix = stream_names
    async with OutboxRelay(store, nats_url, stream=stream, subject_prefix=prefix) as relay:
        assert await relay.run_once() == 0
        capture(store, [make_event(10)])
        assert await relay.run_once() == 1
        capture(store, [make_event(11), make_event(12)])
        assert await relay.run_once() == 2
    assert len(await read_stream(jetstream, stream, prefix)) == 3


async def test_relay_runs_until_stopped(
    store: Store, nats_url: str, stream_names: tuple[str, str], jetstream: JetStreamContext
) -> None:
    stream, prefix = stream_names
    relay = OutboxRelay(store, nats_url, stream=stream, subject_prefix=prefix)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run_forever(0.01, stop=stop))
    capture(store, [make_event(40), make_event(41)])
    for _ in range(3000):  # bounded wait for the relay's own loop
        if relay.published == 2:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await running
    await relay.close()
    assert relay.published == 2 and all(row.done for row in outbox_rows(store))


async def test_failed_publish_records_no_progress(
    store: Store, nats_url: str, stream_names: tuple[str, str], jetstream: JetStreamContext
) -> None:
    """JetStream refuses (here: the stream is gone): the outbox row stays pending; a new relay
    recreates the stream and publishes."""
    stream, prefix = stream_names
    async with OutboxRelay(store, nats_url, stream=stream, subject_prefix=prefix) as relay:
        assert await relay.run_once() == 0  # creates the stream
        await jetstream.delete_stream(stream)
        wanted = [make_event(50)]
        capture(store, wanted)
        with pytest.raises(nats.errors.Error):
            await relay.run_once()
    (row,) = outbox_rows(store)
    assert (row.published_through, row.done) == (None, False)
    async with OutboxRelay(store, nats_url, stream=stream, subject_prefix=prefix) as again:
        assert await again.run_once() == 1
    assert [m.headers["Nats-Msg-Id"] for m in await read_stream(jetstream, stream, prefix)] == [
        wanted[0]["eventID"]
    ]


RELAY_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, signal, sys
    from packtrail.store import open_store
    from packtrail.store.relay import OutboxRelay

    url, nats_url, stream, prefix, die_after = sys.argv[1:6]
    die_after = int(die_after)

    def on_published(event_pk, ack):
        on_published.count += 1
        if on_published.count == die_after:  # acknowledged by JetStream, progress not yet recorded
            os.kill(os.getpid(), signal.SIGKILL)
    on_published.count = 0

    async def main():
        store = open_store(url)
        relay = OutboxRelay(store, nats_url, stream=stream, subject_prefix=prefix, batch_size=50,
                            on_published=on_published)
        async with relay:
            published = await relay.run_once()
        print(json.dumps({"published": published, "duplicates": relay.duplicates}))

    asyncio.run(main())
    """
)


def run_relay_process(
    store_url: str, nats_url: str, stream: str, prefix: str, die_after: int
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-c", RELAY_SCRIPT, store_url, nats_url, stream, prefix, str(die_after)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_relay_killed_between_publish_and_progress_loses_and_repeats_nothing(
    store: Store, store_url: str, nats_url: str, stream_names: tuple[str, str], jetstream: JetStreamContext
) -> None:
    """The relay process is SIGKILLed after JetStream acknowledged events whose progress it had not
    written yet. The restarted relay publishes them again; the stream (Nats-Msg-Id dedup) keeps one copy
    of each, so a consumer sees every captured event exactly once, in capture order."""
    stream, prefix = stream_names
    first = [make_event(100 + i) for i in range(120)]
    second = [make_event(300 + i, "receiving") for i in range(30)]
    capture(store, first)
    capture(store, second)

    crashed = await asyncio.to_thread(run_relay_process, store_url, nats_url, stream, prefix, 75)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    # batch 1 (50 events) recorded; batch 2 published and acknowledged, but not recorded
    rows = outbox_rows(store)
    assert [(row.done, row.published_through - row.first_event_pk + 1) for row in rows[:1]] == [(False, 50)]
    assert rows[1].published_through is None
    assert (await jetstream.stream_info(stream)).state.messages == 100

    restarted = await asyncio.to_thread(run_relay_process, store_url, nats_url, stream, prefix, 0)
    assert restarted.returncode == 0, restarted.stderr
    assert json.loads(restarted.stdout) == {"published": 100, "duplicates": 50}
    assert all(row.done for row in outbox_rows(store))

    messages = await read_stream(jetstream, stream, prefix)
    seen = [m.headers["Nats-Msg-Id"] for m in messages]
    assert seen == [e["eventID"] for e in first + second]  # all there, once each, in capture order
    assert len(set(seen)) == len(seen) == 150
