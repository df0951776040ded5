"""``packtrail trace`` and ``packtrail recall``: a pack's chain of custody and a lot's recall reach from
the command line, from a local store (``--db``) or a node over HTTP (``--url`` and ``--key``).

The lead command registers the two functions at the top level::

    app.command("trace")(trace_command)
    app.command("recall")(recall_command)

Examples::

    packtrail trace "(01)04012345111118(21)1001" --db sqlite:///line.db
    packtrail trace urn:epc:id:sscc:4012345.0000000001 --url http://127.0.0.1:8080 --key $KEY --json
    packtrail recall 04012345111118 B42 --db postgresql://…/packtrail --csv > reach.csv

Exit status: 0 found, 1 nothing found (no event names the identifier), 2 invalid input or an
unreachable store or node. A local store is read as its administrator (every event); a node answers
with what the key's party may see.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Annotated, Any, NoReturn
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Table

from packtrail.cli_options import DbOption, JsonOption, KeyOption
from packtrail.lifecycle.errors import IdentifierError, LifecycleError, NotFoundError
from packtrail.lifecycle.recall import PACK_COLUMNS

__all__ = ["print_recall", "print_trace", "recall_command", "trace_command"]

_out = Console(highlight=False, soft_wrap=True)

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Base URL of a packtrail node (http://host:8080) instead of --db.")
]

_SHOWN_PACKS = 20
"""Packs listed by ``recall`` without ``--json``/``--csv``."""


def _fail(message: str, status: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(status)


def _node_base(url: str) -> str:
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        _fail(f"--url: expected an http:// or https:// URL, got {url!r}")
    return base.removesuffix("/epcis")


def _get(url: str, key: str | None, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(_node_base(url) + path, headers=headers, params=params, timeout=600.0)
    except httpx.HTTPError as error:
        _fail(f"cannot reach {url}: {error}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 404:
        _fail(str(body.get("detail") or "not found"), 1)
    if response.status_code >= 400:
        _fail(f"the node answered {response.status_code}: {body.get('detail') or body.get('title') or ''}")
    if not isinstance(body, dict):
        _fail(f"the node answered with something other than a JSON object: {str(body)[:200]}")
    return body


def _local(db: str | None, url: str | None) -> bool:
    if db is not None and url is not None:
        _fail("give --db URL (a local store) or --url URL (a node), not both")
    return url is None


def _with_store(db: str | None, work: Any) -> Any:
    from sqlalchemy.exc import SQLAlchemyError

    from packtrail.lifecycle.projector import attach
    from packtrail.store import StoreError, open_store

    try:
        with open_store(db) as store:
            attach(store)
            return work(store)
    except NotFoundError as error:
        _fail(str(error), 1)
    except (LifecycleError, StoreError, SQLAlchemyError) as error:
        _fail(str(error))


def trace_command(
    identifier: Annotated[
        str,
        typer.Argument(
            help="The pack, case or pallet: EPC URN, Digital Link, scanned DataMatrix text, "
            "(01)…(21)…, an SSCC, or 'GTIN serial'."
        ),
    ],
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    json_output: JsonOption = False,
) -> None:
    """The chain of custody of IDENTIFIER: every event, owners with dates, containers, state, exceptions."""
    if _local(db, url):
        from packtrail.lifecycle.trace import trace
        from packtrail.store import Viewer

        body = _with_store(db, lambda store: trace(store, identifier, Viewer.admin()).as_json())
    else:
        assert url is not None
        try:
            from packtrail.lifecycle.identifiers import parse_identifier

            canonical = parse_identifier(identifier)
        except IdentifierError as error:
            _fail(str(error))
        body = _get(url, key, f"/lifecycle/v1/trace/{quote(canonical, safe='')}")
    if json_output:
        typer.echo(json.dumps(body, indent=2))
        return
    print_trace(body)


def print_trace(body: dict[str, Any]) -> None:
    """Print a trace (its JSON form, local or from a node) for a person: state, events, owners."""
    current = body.get("current") or {}
    lot = f", lot {body['lot']}" if body.get("lot") else ""
    expiry = f", expiry {body['expiry']}" if body.get("expiry") else ""
    _out.print(f"[bold]{body.get('identifier')}[/bold]{lot}{expiry}")
    reason = f" ({current['reason']})" if current.get("reason") else ""
    _out.print(
        f"now: {current.get('state') or '-'}{reason}, owner {current.get('owner') or '-'}, "
        f"custodian {current.get('custodian') or '-'}, at {current.get('location') or '-'}"
        + (f", inside {' in '.join(current['containers'])}" if current.get("containers") else "")
    )
    if current.get("contents"):
        _out.print(f"holds {len(current['contents'])}: {', '.join(current['contents'])}", markup=False)
    _out.print("events:")
    for e in body.get("events") or []:
        kind = f"{e.get('type', '')} {e.get('action') or ''}".strip()
        via = f" via {e['via']}" if e.get("via") else ""
        where = f" at {e['bizLocation']}" if e.get("bizLocation") else ""
        disposition = f" ({e['disposition']})" if e.get("disposition") else ""
        _out.print(
            f"  {e.get('eventTime')}  {e.get('bizStep') or '-'}{disposition}  {kind}{via}{where}"
            f"  eventID {e.get('eventID')}",
            markup=False,
        )
    if body.get("owners"):
        owners = Table("owner", "from", "to")
        for o in body["owners"]:
            owners.add_row(o.get("party") or "", o.get("from") or "", o.get("to") or "(now)")
        _out.print(owners)
    if body.get("containers"):
        containers = Table("container", "level", "from", "to")
        for c in body["containers"]:
            containers.add_row(
                c.get("container") or "", str(c.get("level")), c.get("from") or "", c.get("to") or "(now)"
            )
        _out.print(containers)
    if body.get("exceptions"):
        _out.print("exceptions:")
        for x in body["exceptions"]:
            other = f", conflicts with {x['conflictingEventID']}" if x.get("conflictingEventID") else ""
            _out.print(
                f"  {x.get('eventTime')}  {x.get('reason')}: {x.get('description')}"
                f"  eventID {x.get('eventID')}{other}",
                markup=False,
            )


def recall_command(
    gtin: Annotated[str, typer.Argument(help="The GTIN (8, 12, 13 or 14 digits).")],
    lot: Annotated[str, typer.Argument(help="The lot (batch) number.")],
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    json_output: JsonOption = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print the packs as CSV (one per line).")] = False,
) -> None:
    """Recall reach of GTIN + LOT: where every pack is now, counts by state, owner and location."""
    if json_output and csv_output:
        _fail("give --json or --csv, not both")
    if _local(db, url):
        from packtrail.lifecycle.recall import recall
        from packtrail.store import Viewer

        body = _with_store(db, lambda store: recall(store, gtin, lot, Viewer.admin()).as_json())
    else:
        assert url is not None
        body = _get(url, key, f"/lifecycle/v1/recall/{quote(gtin, safe='')}/{quote(lot, safe='')}")
    if json_output:
        typer.echo(json.dumps(body, indent=2))
    elif csv_output:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(PACK_COLUMNS)
        for pack in body.get("list") or []:
            writer.writerow(["" if pack.get(c) is None else pack.get(c) for c in PACK_COLUMNS])
        sys.stdout.write(buffer.getvalue())
    else:
        print_recall(body)


def print_recall(body: dict[str, Any]) -> None:
    """Print a recall reach (its JSON form) for a person: counts by state, owner, location; some packs."""
    _out.print(f"GTIN {body.get('gtin')} lot {body.get('lot')}: {body.get('packs', 0):,} packs")
    for key, title in (("byState", "state"), ("byOwner", "owner"), ("byLocation", "location")):
        table = Table(title, "packs")
        for row in body.get(key) or []:
            table.add_row(str(row.get(title) or "-"), f"{row.get('packs', 0):,}")
        _out.print(table)
    packs = body.get("list") or []
    for pack in packs[:_SHOWN_PACKS]:
        inside = f" in {pack['container']}" if pack.get("container") else ""
        _out.print(
            f"  {pack.get('identifier')}  {pack.get('state') or '-'}  owner {pack.get('owner') or '-'}"
            f"  at {pack.get('location') or '-'}{inside}",
            markup=False,
        )
    if len(packs) > _SHOWN_PACKS:
        _out.print(f"  … and {len(packs) - _SHOWN_PACKS:,} more (--csv lists them all)")
