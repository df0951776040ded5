"""``packtrail serials``: allocate, return and report serial numbers from the command line.

The same verbs as :class:`~packtrail.serials.service.SerialService` and the HTTP API::

    packtrail serials allocate 04012345111118 --count 100000 --to 4012345000016 --alphabet alphanumeric --length 10
    packtrail serials return 17 --file unused.txt
    packtrail serials report 04012345111118 --json

``allocate`` prints the serials one per line (or ``--json``: the allocation as one JSON object with
its serials), and a summary on standard error. A request that would break the EU guess bound is
refused with exit status 2 and the computed probability, as is any invalid argument.
Runs standalone as ``python -m packtrail.serials.cli``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from packtrail.cli_options import DbOption, JsonOption
from packtrail.serials.errors import GuessProbabilityError, SerialError
from packtrail.serials.service import SerialService

__all__ = ["serials_app"]

serials_app = typer.Typer(
    help="Serial numbers: random per GTIN under the EU guess bound, allocated to lines and contract packagers.",
    no_args_is_help=True,
    add_completion=False,
)

_out = Console(highlight=False, soft_wrap=True)


def _fail(error: Exception | str, json_output: bool = False) -> NoReturn:
    message = str(error)
    if json_output:
        body: dict[str, Any] = {"error": message}
        if isinstance(error, GuessProbabilityError):
            body.update(
                guessProbability=float(error.probability),
                probability=str(error.probability),
                bound=str(error.bound),
                issued=error.issued,
                requested=error.requested,
                numberSpace=str(error.number_space),
            )
        typer.echo(json.dumps(body))
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@contextmanager
def _service(db: str | None, json_output: bool) -> Iterator[SerialService]:
    from packtrail.store import StoreError, open_store

    try:
        with open_store(db) as store:
            yield SerialService(store)
    except (SerialError, StoreError, SQLAlchemyError) as error:
        _fail(error, json_output)


@serials_app.command("allocate")
def allocate(
    gtin: Annotated[str, typer.Argument(help="The GTIN (8, 12, 13 or 14 digits).")],
    count: Annotated[int, typer.Option("--count", help="How many serials.")],
    to: Annotated[
        str | None, typer.Option("--to", help="GLN of the packaging line or contract packager.")
    ] = None,
    alphabet: Annotated[
        str | None,
        typer.Option(
            help="numeric, alphanumeric (0-9A-Z), cset32, cset82, or the characters themselves "
            "(GS1 character set 82). Default: the GTIN's newest pool, else numeric."
        ),
    ] = None,
    length: Annotated[
        int | None, typer.Option(help="Characters per serial, 1-20 (default: the newest pool's, else 12).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the serials to FILE instead of standard output."),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Issue COUNT new random serials of GTIN (atomically; never a serial issued before)."""
    with _service(db, json_output) as service:
        allocation = service.allocate(gtin, count, to, alphabet=alphabet, length=length)
    text = json.dumps(allocation.as_json()) if json_output else "\n".join(allocation.serials) + "\n"
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        output.write_text(text, encoding="ascii")
    recipient = f" to {allocation.to_gln}" if allocation.to_gln else ""
    typer.echo(
        f"allocation {allocation.id}: {allocation.count:,} serials of GTIN {allocation.gtin} "
        f"({allocation.policy}){recipient}; guess probability now {float(allocation.guess_probability):.3e}",
        err=True,
    )


@serials_app.command("return")
def return_unused(
    allocation_id: Annotated[int, typer.Argument(help="The allocation the serials came from.")],
    file: Annotated[
        Path, typer.Option("--file", help="The unused serials, one per line ('-': standard input).")
    ],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Return unused serials of an allocation. They are never issued again (a returned serial stays burned)."""
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"--file: cannot read {file}: {error}", json_output)
    serials = [line.strip() for line in text.splitlines() if line.strip()]
    with _service(db, json_output) as service:
        result = service.return_unused(allocation_id, serials)
    if json_output:
        typer.echo(json.dumps(result.as_json()))
        return
    typer.echo(
        f"allocation {result.allocation_id}: {result.returned:,} serials returned"
        + (f", {result.already_returned:,} had been returned before" if result.already_returned else "")
    )


@serials_app.command("report")
def report(
    gtin: Annotated[str, typer.Argument(help="The GTIN.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Serials of a GTIN: issued, allocated, returned, by recipient; pools and guess probability."""
    with _service(db, json_output) as service:
        result = service.report(gtin)
    if json_output:
        typer.echo(json.dumps(result.as_json()))
        return
    probability = "-" if result.guess_probability is None else f"{float(result.guess_probability):.3e}"
    _out.print(
        f"GTIN {result.gtin}: {result.issued:,} issued in {result.allocations:,} allocations, "
        f"{result.allocated:,} allocated, {result.returned:,} returned; guess probability {probability}"
    )
    if result.pools:
        pools = Table("pool", "alphabet", "length", "number space", "capacity")
        for pool in result.pools:
            pools.add_row(
                str(pool.id),
                pool.policy.alphabet_name or pool.policy.alphabet,
                str(pool.policy.length),
                f"{pool.policy.number_space:.3e}",
                f"{pool.policy.capacity():,}",
            )
        _out.print(pools)
    if result.recipients:
        table = Table("to", "allocations", "issued", "allocated", "returned")
        for row in result.recipients:
            table.add_row(
                row.to_gln or "-",
                f"{row.allocations:,}",
                f"{row.issued:,}",
                f"{row.allocated:,}",
                f"{row.returned:,}",
            )
        _out.print(table)


if __name__ == "__main__":
    serials_app(prog_name="packtrail serials")
