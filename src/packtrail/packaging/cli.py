"""``packtrail line``: run a packaging line, allocate SSCCs, print labels, from the command line.

::

    packtrail line run --gtin 04012345111118 --lot B42 --expiry 280229 --packs 100000 --db sqlite:///node.db
    packtrail line run --gtin 04012345111118 --lot B42 --expiry 280229 --packs 5000 --to http://mah:8080 --key K
    packtrail line sscc 4012345 --count 20 --to 4012345000009 --json
    packtrail line labels pack --gtin 04012345111118 --serial 1234 --lot B42 --expiry 280229 --png pack.png
    packtrail line labels sscc 040123450000000016 --content 04012345111118 --count 10 --png case.png

``run`` makes N packs (serials from the serial register, SSCCs from the SSCC register), packs them
into cases and pallets and captures the events: into the store ``--db``, or (``--to URL --key KEY``)
into a node over HTTP, whose serial register then issues the serials; the SSCC register stays local
(``--db``, default ``sqlite:///packtrail.db``): the SSCCs belong to whoever builds the logistic units.
It prints the counts, the SSCC ranges and the serial range (``--json``: one JSON object). Invalid
input exits with status 2 and one line saying which option is wrong; a document the repository
refuses exits with status 1. Runs standalone as ``python -m packtrail.packaging.cli``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from packtrail.cli_options import DbOption, JsonOption
from packtrail.packaging.errors import LineCaptureError, PackagingError

__all__ = ["line_app", "parse_start"]

line_app = typer.Typer(
    help="Packaging lines: runs of N packs into cases and pallets (events captured), SSCCs, labels.",
    no_args_is_help=True,
    add_completion=False,
)
labels_app = typer.Typer(help="Label data and barcodes of a pack or a logistic unit.", no_args_is_help=True)
line_app.add_typer(labels_app, name="labels")

_out = Console(highlight=False, soft_wrap=True)


def _fail(message: object, json_output: bool = False, code: int = 2) -> NoReturn:
    if json_output:
        typer.echo(json.dumps({"error": str(message)}))
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def parse_start(text: str) -> datetime:
    """The ``--start`` time: ISO 8601 with a time-zone offset (``2026-03-02T06:00:00+01:00`` or ``…Z``).

    >>> parse_start("2026-03-02T06:00:00Z").isoformat()
    '2026-03-02T06:00:00+00:00'
    >>> parse_start("2026-03-02 06:00")
    Traceback (most recent call last):
    ...
    packtrail.packaging.errors.PackagingError: start: expected an ISO 8601 time with a time-zone offset \
(2026-03-02T06:00:00+01:00), got '2026-03-02 06:00'
    """
    expected = "expected an ISO 8601 time with a time-zone offset (2026-03-02T06:00:00+01:00)"
    try:
        moment = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise PackagingError("start", f"{expected}, got {text!r}") from None
    if moment.utcoffset() is None:
        raise PackagingError("start", f"{expected}, got {text!r}")
    return moment


def _range(first: str, last: str) -> str:
    return first if first == last else f"{first} … {last}"


@line_app.command("run")
def run(
    gtin: Annotated[str, typer.Option("--gtin", help="The GTIN of the packs (8, 12, 13 or 14 digits).")],
    lot: Annotated[str, typer.Option("--lot", help="The batch/lot number (AI 10).")],
    expiry: Annotated[
        str, typer.Option("--expiry", help="The expiry date, YYMMDD (AI 17; DD 00: month end).")
    ],
    packs: Annotated[int, typer.Option("--packs", help="How many packs to make.")],
    case_size: Annotated[int, typer.Option("--case-size", help="Packs per case.")] = 10,
    cases_per_pallet: Annotated[int, typer.Option("--cases-per-pallet", help="Cases per pallet.")] = 20,
    db: DbOption = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Capture into this node (http://host:8080); its serial register issues the serials."
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key", envvar="PACKTRAIL_API_KEY", help="API key of the node (or $PACKTRAIL_API_KEY)."
        ),
    ] = None,
    images: Annotated[
        Path | None, typer.Option("--images", help="Write each pack's DataMatrix PNG into this directory.")
    ] = None,
    line: Annotated[
        str | None,
        typer.Option(
            "--line", help="GLN of the site, or SGLN URI of the line (default: the brand owner's GLN)."
        ),
    ] = None,
    line_name: Annotated[
        str | None, typer.Option("--line-name", help="The line, as GLN extension of the readPoint (e.g. L1).")
    ] = None,
    sscc_prefix: Annotated[
        str | None,
        typer.Option("--sscc-prefix", help="GS1 Company Prefix of the SSCCs (default: the GTIN's)."),
    ] = None,
    extension_digit: Annotated[str, typer.Option("--extension-digit", help="SSCC extension digit.")] = "0",
    company_prefix_length: Annotated[
        int | None,
        typer.Option(
            "--company-prefix-length", help="Length of the GTIN's company prefix, if GS1's list lacks it."
        ),
    ] = None,
    commission_batch: Annotated[
        int | None,
        typer.Option(
            "--commission-batch", help="Packs per commissioning event (default: one case; 1: per pack)."
        ),
    ] = None,
    packs_per_minute: Annotated[int, typer.Option("--packs-per-minute", help="Line speed.")] = 300,
    start: Annotated[
        str | None,
        typer.Option(
            "--start", help="Time of the first pack, ISO 8601 with offset (default: the run ends now)."
        ),
    ] = None,
    party: Annotated[
        str | None,
        typer.Option("--party", help="With --db: capture as this party (GLN) instead of the administrator."),
    ] = None,
    serial_alphabet: Annotated[
        str | None,
        typer.Option("--serial-alphabet", help="numeric, alphanumeric, cset32, cset82 or the characters."),
    ] = None,
    serial_length: Annotated[
        int | None, typer.Option("--serial-length", help="Characters per serial.")
    ] = None,
    with_serials: Annotated[
        bool, typer.Option("--with-serials", help="With --json: list every serial.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Make PACKS packs of GTIN, lot LOT: commission them, pack them into cases and pallets, capture the events."""
    from packtrail.lifecycle import attach
    from packtrail.packaging.line import PackagingLine
    from packtrail.packaging.node import NodeClient, NodeError
    from packtrail.serials.errors import SerialError
    from packtrail.store import Store, StoreError, open_store

    node = None
    store: Store | None = None
    try:
        moment = parse_start(start) if start is not None else None
        if to is not None:
            if party is not None:
                raise PackagingError("party", "--party is for --db; over HTTP the API key names the party")
            node = NodeClient(to, key=key, alphabet=serial_alphabet, length=serial_length)
        store = open_store(db)
        attach(store)  # the captures keep each pack's lifecycle projection (packtrail trace / recall)
        with PackagingLine(
            store,
            gtin,
            lot,
            expiry,
            line,
            case_size,
            cases_per_pallet,
            line_name=line_name,
            company_prefix_length=company_prefix_length,
            sscc_prefix=sscc_prefix,
            extension_digit=extension_digit,
            party=party,
            node=node,
            serial_alphabet=serial_alphabet,
            serial_length=serial_length,
            packs_per_minute=packs_per_minute,
            start=moment,
            commission_batch=commission_batch,
        ) as packaging_line:
            result = packaging_line.run(packs, images=images)
    except LineCaptureError as error:
        _fail(error, json_output, code=1)
    except (PackagingError, SerialError, StoreError, NodeError, SQLAlchemyError, OSError) as error:
        _fail(error, json_output)
    finally:
        if node is not None:
            node.close()
        if store is not None:
            store.close()
    if json_output:
        typer.echo(json.dumps(result.as_json(with_serials=with_serials)))
        return
    cases, pallets = result.case_ssccs(), result.pallet_ssccs()
    allocations = ", ".join(str(i) for i in result.serial_allocation_ids)
    _out.print(
        f"{result.packs:,} packs of GTIN {result.gtin}, lot {result.lot}, expiry {result.expiry} "
        f"on {result.read_point}"
    )
    _out.print(
        f"  serials  {result.packs:,} from allocation {allocations}: "
        f"{_range(result.serials[0], result.serials[-1])} (random order)"
    )
    _out.print(f"  cases    {result.cases:,} of up to {result.case_size}: {_range(cases[0], cases[-1])}")
    _out.print(
        f"  pallets  {result.pallets:,} of up to {result.cases_per_pallet} cases: {_range(pallets[0], pallets[-1])}"
    )
    _out.print(
        f"  events   {result.events:,} ({result.commissioning_events:,} commissioning, {result.cases:,} cases, "
        f"{result.pallets:,} pallets): {result.captured:,} captured, {result.duplicates:,} duplicates, "
        f"{len(result.capture_ids)} captures"
    )
    _out.print(f"  times    {result.first_event_time} … {result.last_event_time}")
    if result.images:
        _out.print(f"  images   {result.images:,} DataMatrix PNGs in {images}")
    _out.print(
        f"  took     {result.seconds:.2f} s (capture {result.capture_seconds:.2f} s), "
        f"{result.packs / max(result.seconds, 1e-9):,.0f} packs/s"
    )


@line_app.command("sscc")
def allocate_ssccs(
    company_prefix: Annotated[str, typer.Argument(help="The GS1 Company Prefix of the SSCCs (6-12 digits).")],
    count: Annotated[int, typer.Option("--count", help="How many SSCCs.")],
    extension_digit: Annotated[str, typer.Option("--extension-digit", help="SSCC extension digit.")] = "0",
    to: Annotated[str | None, typer.Option("--to", help="GLN of the line or packer they are for.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Issue COUNT new SSCCs (never one issued before) and print them, one per line."""
    from packtrail.packaging.sscc import SSCCService, check_company_prefix
    from packtrail.store import StoreError, open_store

    try:
        check_company_prefix(company_prefix)
        with open_store(db) as store:
            allocation = SSCCService(store).allocate(
                company_prefix, count, extension_digit=extension_digit, to_gln=to
            )
    except (PackagingError, StoreError, SQLAlchemyError) as error:
        _fail(error, json_output)
    if json_output:
        typer.echo(json.dumps({**allocation.as_json(), "ssccs": allocation.ssccs()}))
        return
    typer.echo("\n".join(allocation.ssccs()))
    typer.echo(
        f"allocation {allocation.id}: {allocation.count:,} SSCCs {_range(allocation.first_sscc, allocation.last_sscc)}",
        err=True,
    )


def _write_outputs(label: Any, png: Path | None, svg: Path | None, json_output: bool) -> None:
    try:
        if png is not None:
            png.write_bytes(label.png())
        if svg is not None:
            svg.write_text(label.svg(), encoding="utf-8")
    except OSError as error:
        _fail(f"cannot write the image: {error}", json_output)
    if json_output:
        typer.echo(json.dumps(label.as_json()))
    else:
        typer.echo("\n".join(label.lines))


PngOption = Annotated[Path | None, typer.Option("--png", help="Write the barcode as PNG to this file.")]
SvgOption = Annotated[Path | None, typer.Option("--svg", help="Write the barcode as SVG to this file.")]


@labels_app.command("pack")
def pack_label(
    gtin: Annotated[str, typer.Option("--gtin", help="The GTIN.")],
    serial: Annotated[str, typer.Option("--serial", help="The serial number (AI 21).")],
    lot: Annotated[str | None, typer.Option("--lot", help="The batch/lot (AI 10).")] = None,
    expiry: Annotated[str | None, typer.Option("--expiry", help="The expiry, YYMMDD (AI 17).")] = None,
    png: PngOption = None,
    svg: SvgOption = None,
    json_output: JsonOption = False,
) -> None:
    """A pack's label: human-readable lines (PC, SN, LOT, EXP) and its GS1 DataMatrix."""
    from packtrail.packaging.labels import PackLabel

    try:
        label = PackLabel.create(gtin, serial, lot=lot, expiry=expiry)
    except PackagingError as error:
        _fail(error, json_output)
    _write_outputs(label, png, svg, json_output)


@labels_app.command("sscc")
def sscc_label(
    sscc: Annotated[str, typer.Argument(help="The SSCC (18 digits).")],
    content: Annotated[
        str | None, typer.Option("--content", help="GTIN of the contained items (AI 02).")
    ] = None,
    count: Annotated[int | None, typer.Option("--count", help="How many items (AI 37).")] = None,
    lot: Annotated[str | None, typer.Option("--lot", help="The batch/lot (AI 10).")] = None,
    expiry: Annotated[str | None, typer.Option("--expiry", help="The expiry, YYMMDD (AI 17).")] = None,
    png: PngOption = None,
    svg: SvgOption = None,
    json_output: JsonOption = False,
) -> None:
    """A case's or pallet's label: human-readable lines and the SSCC in GS1-128."""
    from packtrail.packaging.labels import SSCCLabel

    try:
        label = SSCCLabel.create(sscc, content=content, count=count, lot=lot, expiry=expiry)
    except PackagingError as error:
        _fail(error, json_output)
    _write_outputs(label, png, svg, json_output)


if __name__ == "__main__":
    line_app(prog_name="packtrail line")
