"""``packtrail fmd …``: run the hub and national systems, issue API keys, check and purge the audit trail.

::

    packtrail fmd hub --store hub.db --port 8700
    packtrail fmd national --market DE --store de.db --hub http://127.0.0.1:8700 --port 8701
    packtrail fmd clients add --store de.db --role pharmacy --name "Apotheke am Markt" --location LOC-1
    packtrail fmd audit verify --store de.db
    packtrail fmd audit purge --store de.db

Each node is its own process with its own store (SQLite file or ``postgresql://`` URL); a national
system registers with the hub on start and keeps serving its own market while the hub is away.
Node-to-node calls carry the federation key (``--federation-key`` or
``$PACKTRAIL_FMD_FEDERATION_KEY``) when one is set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

__all__ = ["fmd_app"]

fmd_app = typer.Typer(
    help="The EU repositories system: hub, national systems, clients, audit.", no_args_is_help=True
)
clients_app = typer.Typer(help="Clients of a node and their API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail of a node.", no_args_is_help=True)
fmd_app.add_typer(clients_app, name="clients")
fmd_app.add_typer(audit_app, name="audit")

StoreOption = Annotated[
    str, typer.Option("--store", help="The node's store: a file path, sqlite:///… or postgresql://…")
]
HostOption = Annotated[str, typer.Option("--host", help="Interface to listen on.")]
ClockOption = Annotated[
    bool,
    typer.Option("--clock-control", help="Accept POST /admin/clock to set the node's time (tests only)."),
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--federation-key", envvar="PACKTRAIL_FMD_FEDERATION_KEY", help="Shared key of node-to-node calls."
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _serve(app: object, host: str, port: int) -> None:
    import uvicorn

    # uvloop and httptools (installed with uvicorn[standard]) are picked by "auto"; no access log, and no
    # proxy-header rewriting (the nodes do not use the client address).
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )


@fmd_app.command("hub")
def hub_command(
    store: StoreOption,
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8700,
    clock_control: ClockOption = False,
    federation_key: KeyOption = None,
) -> None:
    """Run the EU hub."""
    from packtrail.api.fmd_app import create_hub_app
    from packtrail.fmd.hub import Hub
    from packtrail.fmd.storage import FmdStoreError, open_storage

    try:
        storage = open_storage(store, role="hub")
    except FmdStoreError as exc:
        raise _fail(str(exc)) from None
    hub = Hub(storage, federation_key=federation_key)
    try:
        _serve(create_hub_app(hub, clock_control=clock_control), host, port)
    finally:
        storage.close()


@fmd_app.command("national")
def national_command(
    market: Annotated[str, typer.Option("--market", help="The market served, e.g. DE.")],
    store: StoreOption,
    hub: Annotated[
        str | None, typer.Option("--hub", help="The hub's base URL, e.g. http://127.0.0.1:8700.")
    ] = None,
    host: HostOption = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8701,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="The URL the hub reaches this node at (default http://HOST:PORT)."),
    ] = None,
    clock_control: ClockOption = False,
    federation_key: KeyOption = None,
) -> None:
    """Run the national verification system of one market (registers with the hub on start)."""
    from packtrail.api.fmd_app import create_national_app
    from packtrail.api.fmd_fastpath import PackFastPath
    from packtrail.fmd.national import NationalSystem
    from packtrail.fmd.policy import POLICIES
    from packtrail.fmd.storage import FmdStoreError, open_storage

    if market not in POLICIES:
        raise _fail(f"--market: expected one of {', '.join(sorted(POLICIES))}, found {market!r}")
    try:
        storage = open_storage(store, role="national", market=market)
    except FmdStoreError as exc:
        raise _fail(str(exc)) from None
    system = NationalSystem(
        storage,
        hub_url=hub,
        public_url=public_url or f"http://{host}:{port}",
        federation_key=federation_key,
    )
    try:
        app = create_national_app(system, clock_control=clock_control)
        _serve(PackFastPath(app, system), host, port)
    finally:
        storage.close()


@clients_app.command("add")
def clients_add(
    store: StoreOption,
    role: Annotated[str, typer.Option("--role", help="pharmacy, wholesaler, manufacturer or authority.")],
    name: Annotated[str, typer.Option("--name", help="The client's name.")],
    location: Annotated[
        str | None, typer.Option("--location", help="Its premises (GLN or national id).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="The user its transactions are recorded under.")
    ] = None,
    client_id: Annotated[str | None, typer.Option("--id", help="Client id (default: from the name).")] = None,
    webhook: Annotated[
        str | None,
        typer.Option("--webhook", help="Where a manufacturer wants its alerts POSTed (hub store)."),
    ] = None,
) -> None:
    """Add a client to a node's store and print its API key (shown only this once)."""
    from packtrail.fmd.storage import FmdStoreError, open_storage

    try:
        storage = open_storage(store, role=None)
        try:
            client, key = storage.add_client(
                role=role, name=name, location=location, user=user, client_id=client_id, webhook=webhook
            )
        finally:
            storage.close()
    except FmdStoreError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"# client {client.client_id} ({client.role.value}) at {client.location}", err=True)
    typer.echo(key)


@audit_app.command("verify")
def audit_verify(store: StoreOption) -> None:
    """Check the audit trail's hash chain; exit 1 naming the first edited, removed or early-purged entry."""
    from packtrail.fmd import audit
    from packtrail.fmd.storage import FmdStoreError, open_storage

    try:
        storage = open_storage(store, role=None)
    except FmdStoreError as exc:
        raise _fail(str(exc)) from None
    try:
        with storage.read() as conn:
            result = audit.verify(conn)
    finally:
        storage.close()
    if not result.ok:
        typer.echo(f"audit trail BROKEN at entry {result.bad_seq}: {result.problem}")
        raise typer.Exit(1)
    typer.echo(
        f"audit trail intact: {result.checked} entries ({result.purged} purged), head {result.head_seq}"
    )


@audit_app.command("purge")
def audit_purge(
    store: StoreOption,
    now: Annotated[
        str | None, typer.Option("--now", help="Purge as of this time (ISO 8601; default: now).")
    ] = None,
) -> None:
    """Purge the content of entries past their retention (expiry + 1 year, upload + 5 years); the chain stays
    verifiable."""
    from packtrail.fmd import audit
    from packtrail.fmd.storage import FmdStoreError, open_storage

    try:
        moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    except ValueError:
        raise _fail(f"--now: expected an ISO 8601 time, found {now!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        storage = open_storage(store, role=None)
    except FmdStoreError as exc:
        raise _fail(str(exc)) from None
    try:
        with storage.write() as conn:
            purged = audit.purge(conn, moment)
    finally:
        storage.close()
    typer.echo(f"purged {purged} entries past their retention")


if __name__ == "__main__":
    fmd_app()
