"""Smoke tests for the external services: PostgreSQL and NATS JetStream answer and behave.

They use only the server features packtrail relies on: a committed row is visible from
another connection, and JetStream suppresses a duplicate publish that carries the same
``Nats-Msg-Id`` (the basis of exactly-once event publishing), then delivers the message to a
pull consumer that acknowledges it.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest


def test_postgres_row_survives_a_new_connection(postgres_url: str) -> None:
    import psycopg  # imported here so the file collects where the dev extras are missing
    from psycopg import sql

    table = f"packtrail_smoke_{uuid.uuid4().hex}"
    serial = "0123456789ABCDEF"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL(
                "CREATE TABLE {} (id serial PRIMARY KEY, gtin char(14) NOT NULL, serial text NOT NULL)"
            ).format(sql.Identifier(table))
        )
        try:
            with psycopg.connect(postgres_url) as writer:  # commits when the block ends
                writer.execute(
                    sql.SQL("INSERT INTO {} (gtin, serial) VALUES (%s, %s)").format(sql.Identifier(table)),
                    ("09506000134352", serial),
                )
            with psycopg.connect(postgres_url) as reader:
                rows = reader.execute(
                    sql.SQL("SELECT gtin, serial FROM {}").format(sql.Identifier(table))
                ).fetchall()
            assert rows == [("09506000134352", serial)]
        finally:
            admin.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


async def _jetstream_round_trip(nats_url: str) -> None:
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

    suffix = uuid.uuid4().hex
    stream = f"PACKTRAIL_SMOKE_{suffix}"
    subject = f"packtrail.smoke.{suffix}"
    nc = await nats.connect(nats_url, connect_timeout=3, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=5)
        await js.add_stream(
            StreamConfig(name=stream, subjects=[subject], storage=StorageType.MEMORY, duplicate_window=60.0)
        )
        try:
            msg_id = f"event-{suffix}"
            first = await js.publish(subject, b"commissioned", headers={"Nats-Msg-Id": msg_id})
            second = await js.publish(subject, b"commissioned", headers={"Nats-Msg-Id": msg_id})
            assert first.stream == stream
            assert not first.duplicate
            assert second.duplicate, "JetStream should suppress a second publish with the same Nats-Msg-Id"
            assert second.seq == first.seq
            assert (await js.stream_info(stream)).state.messages == 1

            sub = await js.pull_subscribe(
                subject,
                durable=f"smoke_{suffix}",
                stream=stream,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT),
            )
            [msg] = await sub.fetch(1, timeout=5)
            assert msg.data == b"commissioned"
            assert msg.headers is not None and msg.headers.get("Nats-Msg-Id") == msg_id
            await msg.ack_sync(timeout=5)
            consumer = await sub.consumer_info()
            assert consumer.num_ack_pending == 0
            assert consumer.num_pending == 0
            await sub.unsubscribe()
        finally:
            await js.delete_stream(stream)
    finally:
        await nc.close()


def test_jetstream_suppresses_duplicate_and_delivers_once(nats_url: str) -> None:
    asyncio.run(_jetstream_round_trip(nats_url))


def test_service_fixtures_mark_their_tests(request: pytest.FixtureRequest) -> None:
    """The conftest hook adds the ``postgres`` / ``nats`` markers to tests using the fixtures."""
    items = {item.name: item for item in request.session.items}
    postgres_item = items.get("test_postgres_row_survives_a_new_connection")
    nats_item = items.get("test_jetstream_suppresses_duplicate_and_delivers_once")
    if postgres_item is not None:
        assert postgres_item.get_closest_marker("postgres") is not None
    if nats_item is not None:
        assert nats_item.get_closest_marker("nats") is not None
    assert request.node.get_closest_marker("postgres") is None
