"""The ``packtrail`` command.

Verbs mirror the library: ``packtrail barcode parse`` is
:func:`packtrail.gs1.parse_barcode`, ``packtrail id convert`` the conversions
of :mod:`packtrail.gs1`. Every command prints ``--json`` for scripts; invalid
input ends with exit status 2 and one line saying what is wrong and where.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn, cast

import typer
from rich.console import Console
from rich.table import Table

from packtrail.cli_options import DbOption, JsonOption, KeyOption
from packtrail.gs1 import (
    NDC,
    DigitalLink,
    ElementString,
    GS1Error,
    PackIdentifier,
    SGTINPattern,
    epc_from_ai_pairs,
    normalize_gtin,
    parse_barcode,
    parse_epc_uri,
)
from packtrail.gs1.ifa import IFA_DATA_IDENTIFIERS, IFAMessage, is_ifa_message

app = typer.Typer(
    help="packtrail: serialization and track-and-trace for medicines on the GS1 standards.",
    no_args_is_help=True,
    add_completion=False,
)
barcode_app = typer.Typer(help="Read, render and decode GS1 barcodes.", no_args_is_help=True)
id_app = typer.Typer(help="Convert identifiers between GS1 forms.", no_args_is_help=True)
epcis_app = typer.Typer(help="Validate, convert and hash EPCIS 2.0 / 1.2 documents.", no_args_is_help=True)
app.add_typer(barcode_app, name="barcode")
app.add_typer(id_app, name="id")
app.add_typer(epcis_app, name="epcis")


def _register_capabilities() -> None:
    """Sub-commands that live beside their capability package (serials, the packaging line, EU FMD nodes,
    a pack's trace and a lot's recall reach)."""
    from packtrail.fmd.cli import fmd_app
    from packtrail.lifecycle.cli import recall_command, trace_command
    from packtrail.packaging.cli import line_app
    from packtrail.serials.cli import serials_app

    app.add_typer(serials_app, name="serials")
    app.add_typer(line_app, name="line")
    app.add_typer(fmd_app, name="fmd")
    app.command("trace")(trace_command)
    app.command("recall")(recall_command)


_register_capabilities()

_out = Console(highlight=False, soft_wrap=True)

GSOption = Annotated[
    list[str] | None,
    typer.Option(
        "--gs",
        help="A character sequence a keyboard-wedge scanner sends instead of GS (repeatable), e.g. '^]' or '|'. "
        "'<GS>' is always understood.",
    ),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _substitutes(gs: list[str] | None) -> tuple[str, ...]:
    return ("<GS>", *(gs or ()))


def describe(elements: ElementString) -> dict[str, Any]:
    """The ``barcode parse --json`` object: every element, then the pack's fields under stable names."""
    pack = PackIdentifier.from_element_string(elements)
    try:
        digital_link: str | None = DigitalLink.from_element_string(elements).uri
    except GS1Error:
        digital_link = None
    return {
        "elements": [
            {"ai": e.ai, "title": e.title, "raw": e.raw, "value": _jsonable(e.value)}
            for e in elements.elements
        ],
        "symbology": None
        if elements.symbology is None
        else {
            "identifier": elements.symbology.identifier,
            "name": elements.symbology.name,
            "is_gs1": elements.symbology.is_gs1,
        },
        "gtin": pack.gtin,
        "serial": pack.serial,
        "lot": pack.lot,
        "expiry": _jsonable(pack.expiry),
        "nhrn": dict(pack.nhrn) if pack.nhrn else None,
        "sscc": pack.sscc,
        "sgtin": pack.sgtin,
        "digital_link": digital_link,
        "element_string": elements.bracketed(),
        "warnings": list(elements.warnings),
    }


def describe_ifa(message: IFAMessage) -> dict[str, Any]:
    """The ``barcode parse --json`` object for an IFA-coded pack (Data Identifiers instead of AIs)."""
    pack = PackIdentifier.from_ifa(message)
    return {
        "elements": [
            {"di": di, "title": IFA_DATA_IDENTIFIERS[di], "raw": raw, "value": raw}
            for di, raw in message.elements
        ],
        "symbology": None,
        "gtin": pack.gtin,
        "ppn": pack.ppn,
        "serial": pack.serial,
        "lot": pack.lot,
        "expiry": _jsonable(pack.expiry),
        "nhrn": None,
        "sscc": None,
        "sgtin": pack.sgtin,
        "digital_link": None,
        "element_string": None,
        "warnings": list(message.warnings),
    }


def _print_description(info: dict[str, Any]) -> None:
    ifa = bool(info["elements"]) and "di" in info["elements"][0]
    table = Table(
        "DI" if ifa else "AI", "title", "raw", "value", title="IFA elements" if ifa else "GS1 elements"
    )
    for element in info["elements"]:
        table.add_row(element["di" if ifa else "ai"], element["title"], element["raw"], str(element["value"]))
    _out.print(table)
    for key in ("gtin", "ppn", "serial", "lot", "expiry", "sscc", "sgtin", "digital_link"):
        if info.get(key) is not None:
            _out.print(f"[bold]{key:>12}[/bold]  {info[key]}")
    if info["nhrn"]:
        for ai, value in info["nhrn"].items():
            _out.print(f"[bold]{'nhrn ' + ai:>12}[/bold]  {value}")
    if info["symbology"] is not None:
        _out.print(
            f"[bold]{'symbology':>12}[/bold]  {info['symbology']['identifier']} {info['symbology']['name']}"
        )
    for warning in info["warnings"]:
        _out.print(f"[yellow]warning:[/yellow] {warning}")


@barcode_app.command("parse")
def barcode_parse(
    string: Annotated[
        str,
        typer.Argument(
            help="Element string (GS as 0x1D or <GS>), bracketed form, Digital Link, or IFA-coded (ISO/IEC 15434)."
        ),
    ],
    json_output: JsonOption = False,
    gs: GSOption = None,
    lenient: Annotated[
        bool, typer.Option(help="Repair a non-conforming Digital Link instead of refusing it.")
    ] = False,
) -> None:
    """Parse GS1 barcode data (or an IFA-coded pack) and show every element and the pack identifier."""
    try:
        if is_ifa_message(string):
            info = describe_ifa(IFAMessage.parse(string))
        else:
            info = describe(parse_barcode(string, gs_substitutes=_substitutes(gs), strict=not lenient))
    except GS1Error as error:
        _fail(str(error))
    if json_output:
        typer.echo(json.dumps(info, ensure_ascii=False))
    else:
        _print_description(info)


@barcode_app.command("render")
def barcode_render(
    string: Annotated[str, typer.Argument(help="The data, in any form 'barcode parse' accepts.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.png or FILE.svg")],
    scale: Annotated[int, typer.Option(help="Pixels per module.")] = 6,
    gs: GSOption = None,
) -> None:
    """Render a GS1 DataMatrix (PNG or SVG). Invalid data is refused, never encoded."""
    from packtrail.gs1.datamatrix import render_png, render_svg

    suffix = output.suffix.lower()
    if suffix not in (".png", ".svg"):
        _fail(f"output file {output} must end in .png or .svg")
    try:
        elements = parse_barcode(string, gs_substitutes=_substitutes(gs))
        if suffix == ".png":
            render_png(elements, output, scale=scale)
        else:
            render_svg(elements, output, scale=scale)
    except GS1Error as error:
        _fail(str(error))
    typer.echo(f"wrote {output}: {elements.bracketed()}")


@barcode_app.command("decode")
def barcode_decode(
    image: Annotated[
        Path, typer.Argument(help="A PNG or JPEG image with one or more GS1 DataMatrix symbols.")
    ],
    json_output: JsonOption = False,
) -> None:
    """Decode DataMatrix symbols from an image, from their raw bytes and symbology identifier."""
    from packtrail.gs1.datamatrix import decode

    if not image.exists():
        _fail(f"image {image} does not exist")
    try:
        symbols = decode(image)
    except GS1Error as error:
        _fail(str(error))
    if not symbols:
        _fail(f"no DataMatrix symbol found in {image}")
    results = []
    for symbol in symbols:
        entry: dict[str, Any] = {
            "symbology_identifier": symbol.symbology_identifier,
            "scan_data": symbol.scan_data,
            "error": symbol.error,
        }
        if symbol.element_string is not None:
            entry.update(describe(symbol.element_string))
        elif is_ifa_message(symbol.scan_data):
            try:
                entry.update(describe_ifa(IFAMessage.parse(symbol.scan_data)))
                entry["error"] = None
            except GS1Error as error:
                entry["error"] = str(error)
        results.append(entry)
    if json_output:
        typer.echo(json.dumps(results if len(results) > 1 else results[0], ensure_ascii=False))
        return
    for entry in results:
        _out.print(f"[bold]scan data[/bold]  {entry['scan_data']!r}")
        if entry["error"]:
            _out.print(f"[red]not valid GS1 data:[/red] {entry['error']}")
        if "elements" in entry:
            _print_description(entry)


_TARGETS = ("element", "dl", "sgtin", "epc", "gtin14", "ndc")


def convert(
    value: str,
    to: str,
    *,
    company_prefix_length: int | None = None,
    ndc_format: str | None = None,
    base: str = "https://id.gs1.org",
) -> dict[str, Any]:
    """Convert ``value`` (any GS1 form, an EPC URI, a GTIN or an NDC) to form ``to``; the ``id convert`` result."""
    if to not in _TARGETS:
        raise GS1Error(f"unknown target {to!r}: expected one of {', '.join(_TARGETS)}")
    text = value.strip()
    pairs: tuple[tuple[str, str], ...]
    if text.startswith("urn:epc:"):
        epc = parse_epc_uri(text)
        if isinstance(epc, SGTINPattern):
            raise GS1Error("an EPC pattern (idpat) selects many identifiers: it has no single conversion")
        pairs = epc.to_ai_pairs()
    elif text.replace("-", "").isdigit() and ("-" in text or len(text) in (10, 11)):
        ndc = NDC.parse(text, format=ndc_format)
        pairs = (("01", ndc.to_gtin14()),)
    elif text.isdigit() and len(text) in (8, 12, 13, 14):
        pairs = (("01", normalize_gtin(text)),)
    else:
        pairs = parse_barcode(text).pairs
    elements = ElementString.from_pairs(pairs, check_associations=False)
    values = dict(pairs)
    result: str
    if to == "element":
        result = elements.bracketed()
    elif to == "dl":
        result = DigitalLink.from_element_string(elements, base=base).uri
    elif to in ("sgtin", "epc"):
        if to == "sgtin" and ("01" not in values or "21" not in values):
            raise GS1Error("an SGTIN needs a GTIN (01) and a serial number (21)")
        result = epc_from_ai_pairs(pairs, company_prefix_length=company_prefix_length).uri
    elif to == "gtin14":
        if "01" not in values:
            raise GS1Error("no GTIN (01) in the input")
        result = normalize_gtin(values["01"])
    else:
        if "01" not in values:
            raise GS1Error("no GTIN (01) in the input")
        ndc = NDC.from_gtin(values["01"], format=ndc_format)
        result = ndc.hyphenated() if ndc.format is not None else ndc.digits
        return {"input": value, "to": to, "result": result, "ndc_format": ndc.format, "element_string": None}
    return {"input": value, "to": to, "result": result, "element_string": elements.bracketed()}


@id_app.command("convert")
def id_convert(
    value: Annotated[str, typer.Argument(help="Element string, Digital Link, EPC URI, GTIN or NDC.")],
    to: Annotated[str, typer.Option("--to", help="element | dl | sgtin | epc | gtin14 | ndc")],
    json_output: JsonOption = False,
    company_prefix_length: Annotated[
        int | None, typer.Option(help="GS1 Company Prefix length, when GS1's list does not know it.")
    ] = None,
    ndc_format: Annotated[
        str | None, typer.Option(help="NDC hyphenation 4-4-2, 5-3-2 or 5-4-1 (not derivable from digits).")
    ] = None,
    base: Annotated[str, typer.Option(help="Resolver base for Digital Link output.")] = "https://id.gs1.org",
) -> None:
    """Convert an identifier between element string, Digital Link, EPC URI, GTIN-14 and NDC."""
    try:
        result = convert(
            value, to, company_prefix_length=company_prefix_length, ndc_format=ndc_format, base=base
        )
    except GS1Error as error:
        _fail(str(error))
    if json_output:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        typer.echo(result["result"])
        if to == "ndc" and result.get("ndc_format") is None:
            typer.echo(
                "note: the NDC's hyphenation (4-4-2, 5-3-2 or 5-4-1) cannot be known from the GTIN; "
                "pass --ndc-format",
                err=True,
            )


def _is_xml(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _existing(files: list[Path]) -> None:
    for path in files:
        if not path.is_file():
            _fail(f"{path} does not exist or is not a file")


STREAMING_THRESHOLD = 64 * 1024 * 1024
"""Files larger than this are validated event by event, in bounded memory."""


def _counting(events: Iterable[Any], progress: Callable[[int], None] | None) -> Iterator[Any]:
    for count, event in enumerate(events, start=1):
        if progress is not None and count % 1000 == 0:
            progress(count)
        yield event


def validate_file(
    path: Path,
    *,
    max_issues: int = 1000,
    streaming: bool | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Validate one EPCIS file; the ``epcis validate`` result.

    JSON-LD is checked against GS1's JSON Schema and the rules; XML against GS1's XSD and the
    rules. A file above :data:`STREAMING_THRESHOLD` (or with ``streaming=True``) is read event
    by event in bounded memory: every event gets the schema layer (JSON-LD) and the rules; the
    XSD, which needs the whole tree, is then left out and the result says so.
    """
    from packtrail.epcis import (
        EPCISError,
        iter_jsonld_events,
        iter_xml_events,
        validate_events,
        validate_jsonld_bytes,
        validate_xml,
    )

    xml = _is_xml(path)
    if streaming is None:
        streaming = path.stat().st_size > STREAMING_THRESHOLD
    notes: list[str] = []
    try:
        if not streaming:
            if xml:
                report = validate_xml(path, max_issues=max_issues)
            else:
                report = validate_jsonld_bytes(path.read_bytes(), max_issues=max_issues)
        elif xml:
            stream = iter_xml_events(path)
            report = validate_events(
                _counting(stream, progress), layers=("rules",), binding="xml", max_issues=max_issues
            )
            notes.append("validated event by event: the XSD layer needs the whole document and was skipped")
        else:
            reader = iter_jsonld_events(path)
            report = validate_events(_counting(reader, progress), max_issues=max_issues)
            notes.append("validated event by event (schema and rules per event)")
    except EPCISError as error:
        return {
            "file": str(path),
            "valid": False,
            "events": 0,
            "errors": 1,
            "warnings": 0,
            "omitted": 0,
            "notes": notes,
            "issues": [
                {"layer": "read", "pointer": error.pointer, "reason": str(error), "severity": "error"}
            ],
        }
    return {
        "file": str(path),
        "valid": report.valid,
        "events": report.events,
        "errors": report.error_count,
        "warnings": report.warning_count,
        "omitted": report.omitted,
        "notes": notes,
        "issues": [issue.to_dict() for issue in report.issues],
    }


@epcis_app.command("validate")
def epcis_validate(
    files: Annotated[list[Path], typer.Argument(help="EPCIS documents: JSON-LD, 2.0 XML or 1.2 XML.")],
    json_output: JsonOption = False,
    max_issues: Annotated[int, typer.Option(help="Report at most this many issues per file.")] = 1000,
    streaming: Annotated[
        bool | None,
        typer.Option(
            "--streaming/--whole",
            help="Validate event by event in bounded memory (default: for files over 64 MB).",
        ),
    ] = None,
) -> None:
    """Validate documents in layers (schema or XSD, then the rules schemas cannot express).

    Exit status 0 when every file is valid, 1 when any is not (each issue listed with its
    JSON pointer or XPath, what was expected and what was found).
    """
    _existing(files)
    results = []
    for path in files:
        if sys.stderr.isatty() and not json_output:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task(f"validating {path.name}", total=None)

                def advance(done: int, task: Any = task, bar: Progress = bar) -> None:
                    bar.update(task, completed=done)

                results.append(
                    validate_file(path, max_issues=max_issues, streaming=streaming, progress=advance)
                )
        else:
            results.append(validate_file(path, max_issues=max_issues, streaming=streaming))
    if json_output:
        typer.echo(json.dumps(results if len(results) > 1 else results[0], ensure_ascii=False))
    else:
        for result in results:
            verdict = "[green]valid[/green]" if result["valid"] else "[red]invalid[/red]"
            _out.print(
                f"{result['file']}: {verdict} ({result['events']} events, {result['errors']} errors, "
                f"{result['warnings']} warnings)"
            )
            for issue in result["issues"]:
                where = issue.get("pointer") or "/"
                line = f"  {issue.get('severity', 'error')}: {where}: {issue['reason']}"
                if issue.get("expected") is not None:
                    line += f" (expected {issue['expected']}"
                    line += f", found {issue['found']})" if issue.get("found") is not None else ")"
                _out.print(line, markup=False)
            if result["omitted"]:
                _out.print(f"  … and {result['omitted']} more issues")
            for note in result["notes"]:
                _out.print(f"  note: {note}")
    raise typer.Exit(0 if all(r["valid"] for r in results) else 1)


@epcis_app.command("hash")
def epcis_hash(
    file: Annotated[Path, typer.Argument(help="An EPCIS document (JSON-LD or XML).")],
    json_output: JsonOption = False,
) -> None:
    """Print the canonical Event Hash ID (CBV 2.0) of every event: position, eventID, hash."""
    from packtrail.epcis import EPCISError, EventHasher, read_jsonld, read_xml
    from packtrail.epcis.hashing import ignore_fields_of

    _existing([file])
    try:
        doc = read_xml(file) if _is_xml(file) else read_jsonld(file)
        hasher = EventHasher(doc.namespaces, ignore=ignore_fields_of(doc))
        rows = [
            {"position": i, "eventID": event.get("eventID"), "hash": hasher.hash(event)}
            for i, event in enumerate(doc.events)
        ]
    except EPCISError as error:
        _fail(f"{file}: {error}")
    if json_output:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['position']}\t{row['eventID'] or '-'}\t{row['hash']}")


@epcis_app.command("convert")
def epcis_convert(
    file: Annotated[Path, typer.Argument(help="An EPCIS document (JSON-LD, 2.0 XML or 1.2 XML).")],
    to: Annotated[str, typer.Option("--to", help="jsonld | xml (EPCIS 2.0) | xml12 (EPCIS 1.2)")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output file (default: standard output).")
    ] = None,
    cbv_format: Annotated[
        str | None,
        typer.Option(
            help="XML output: CBV values as 'urn' or 'web' URIs (the GS1-CBV-XML-Format preference)."
        ),
    ] = None,
    epc_format: Annotated[
        str | None,
        typer.Option(
            help="XML output: identifiers as 'urn' (EPC URI) or 'dl' (Digital Link), per GS1-EPC-Format."
        ),
    ] = None,
) -> None:
    """Convert between EPCIS 2.0 JSON-LD, 2.0 XML and 1.2 XML, streaming: any size in bounded memory.

    The StandardBusinessDocumentHeader and header master data are kept across every conversion.
    """
    from rich.progress import Progress

    from packtrail.epcis import EPCISError
    from packtrail.epcis.convert import Format, convert

    if to not in ("jsonld", "xml", "xml12"):
        _fail(f"--to must be jsonld, xml or xml12, not {to!r}")
    fmt = cast(Format, to)
    if cbv_format not in (None, "urn", "web"):
        _fail(f"--cbv-format must be urn or web, not {cbv_format!r}")
    if epc_format not in (None, "urn", "dl"):
        _fail(f"--epc-format must be urn or dl, not {epc_format!r}")
    options: dict[str, Any] = {"cbv_format": cbv_format, "epc_format": epc_format}
    _existing([file])
    show_progress = output is not None and sys.stderr.isatty()
    target: Any = output if output is not None else sys.stdout.buffer
    try:
        if show_progress:
            with Progress(transient=True) as progress:
                task = progress.add_task(f"converting {file.name}", total=None)
                summary = convert(
                    file, target, to=fmt, progress=lambda n: progress.update(task, completed=n), **options
                )
        else:
            summary = convert(file, target, to=fmt, **options)
    except EPCISError as error:
        if output is not None and output.exists():
            output.unlink()
        _fail(f"{file}: {error}")
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if output is not None:
        typer.echo(f"wrote {output}: {summary.events} events", err=True)


SAMPLE_PACK = "]d201095060001343521727013110ABC123\x1d21SERIAL0001\x1d710PZN1234"
"""A sample pack as a scanner transmits it: GTIN, expiry, lot, serial and a German NHRN."""


@app.command("demo")
def demo(
    directory: Annotated[
        Path | None, typer.Option(help="Where to write the rendered barcode (default: a temporary folder).")
    ] = None,
) -> None:
    """Parse a sample pack barcode, render it as a GS1 DataMatrix, decode the image; then follow one lot from
    the packaging line to a pharmacy (trace of a pack, recall reach of the lot)."""
    from packtrail.gs1.datamatrix import decode, label_lines, render_png

    _out.rule("packtrail demo: one medicine pack")
    _out.print(f"Scanner output: {SAMPLE_PACK.replace(chr(29), '<GS>')!r}")
    elements = parse_barcode(SAMPLE_PACK)
    info = describe(elements)
    _print_description(info)
    target = directory or Path(tempfile.mkdtemp(prefix="packtrail-demo-"))
    target.mkdir(parents=True, exist_ok=True)
    png = target / "pack.png"
    render_png(elements, png, scale=6)
    _out.print(f"\nRendered the GS1 DataMatrix to {png}")
    symbols = decode(png)
    if not symbols or symbols[0].element_string is None:
        _fail("the rendered barcode could not be decoded")
    decoded = symbols[0].element_string
    _out.print(f"Decoded it back from the image: {symbols[0].symbology_identifier} {decoded.bracketed()}")
    _out.print("Identical to the input: " + ("yes" if decoded.pairs == elements.pairs else "NO"))
    _out.print("\nHuman-readable text for the pack:")
    for line in label_lines(decoded):
        _out.print(f"  {line}")
    _demo_pack_life(target)


def _demo_pack_life(folder: Path) -> None:
    """The second half of the demo (:mod:`packtrail.demo`): a lot from the line to a pharmacy."""
    from packtrail.demo import pack_life
    from packtrail.lifecycle.cli import print_recall, print_trace

    _out.print()
    _out.rule("packtrail demo: one lot from the packaging line to a pharmacy")
    story = pack_life(folder)
    try:
        run = story.run
        _out.print(
            f"Packaging line: {run.packs} packs of GTIN {run.gtin} lot {run.lot} into {run.cases} cases and "
            f"{run.pallets} pallets, {run.captured} events captured into {folder / 'demo.db'}"
        )
        _out.print(
            "Then: the manufacturer ships pallet 1 to a wholesaler, who receives and unpacks it and ships "
            "case 1 to a pharmacy, which receives it and dispenses one pack.\n"
        )
        _out.print("[bold]packtrail trace[/bold] of the dispensed pack (its chain of custody):")
        print_trace(story.trace.as_json())
        _out.print("\n[bold]packtrail recall[/bold] of the lot (where every pack is now):")
        print_recall(story.reach.as_json(limit=5))
        _out.print(f"\nTry: packtrail trace {story.pack} --db sqlite:///{folder / 'demo.db'}")
    finally:
        story.store.close()


# --- the EPCIS repository: serve, capture, query, parties -------------------------------------------

parties_app = typer.Typer(help="Trading parties (by GLN) and their API keys.", no_args_is_help=True)
app.add_typer(parties_app, name="parties")


@app.command("serve")
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each opens the store).")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the EPCIS 2.0 REST interface under /epcis (OpenAPI at /docs).

    Settings come from PACKTRAIL_* variables (PACKTRAIL_CAPTURE_MAX_EVENTS, PACKTRAIL_JWT_PUBLIC_KEY…).
    """
    import os

    import uvicorn

    from packtrail.api.app import DB_ENVIRONMENT_VARIABLE
    from packtrail.api.settings import APISettings
    from packtrail.store import capture_workers, open_store

    db = db or os.environ.get(DB_ENVIRONMENT_VARIABLE) or None
    try:
        APISettings.from_env()
        open_store(db).close()  # migrate once, before the workers start, and fail here if the URL is wrong
        if workers == 1:  # the capture checking processes, started before the first capture needs them
            capture_workers.prepare()
    except Exception as error:  # a wrong URL, an unreachable server, a bad PACKTRAIL_* value
        _fail(f"cannot serve {db or 'sqlite:///packtrail.db'}: {error}")
    if db:
        os.environ[DB_ENVIRONMENT_VARIABLE] = db
    uvicorn.run(
        "packtrail.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


def _capture_summary(job: dict[str, Any]) -> None:
    state = "rejected" if job.get("captureErrorBehaviour") != "proceed" else "partly captured"
    _out.print(
        f"capture {job.get('captureID')}: {job.get('captured', '?')} of {job.get('eventCount', '?')} events "
        f"stored, {job.get('duplicates', 0)} duplicates, {len(job.get('errors') or [])} errors"
        + ("" if job.get("success") else f" ({state})")
    )
    for error in (job.get("errors") or [])[:20]:
        where = f" at {error['pointer']}" if error.get("pointer") else ""
        _out.print(f"  {error.get('title')}{where}: {error.get('detail', '')}")


@app.command("capture")
def capture(
    file: Annotated[Path, typer.Argument(help="An EPCIS document: JSON-LD, 2.0 XML or 1.2 XML.")],
    to: Annotated[str | None, typer.Option("--to", help="Base URL of the node (http://host:8080).")] = None,
    key: KeyOption = None,
    db: DbOption = None,
    party: Annotated[
        str | None, typer.Option(help="With --db: capture as this party (GLN) instead of the administrator.")
    ] = None,
    behaviour: Annotated[
        str,
        typer.Option(help="On invalid events: rollback (store nothing) or proceed (store the valid ones)."),
    ] = "rollback",
    json_output: JsonOption = False,
) -> None:
    """Capture a document over HTTP (--to URL) or into a local store (--db URL).

    Exit status 0 when every event was stored (or known already), 1 when events were rejected, 2 on error.
    """
    _existing([file])
    if behaviour not in ("rollback", "proceed"):
        _fail(f"--behaviour: expected rollback or proceed, got {behaviour!r}")
    if (to is None) == (db is None):
        _fail("give --to URL (a node) or --db URL (a local store), one of them")
    if to is not None:
        from packtrail.api.client import ClientError, EPCISClient

        try:
            with EPCISClient(to, key=key) as client:
                job = client.capture(file, behaviour=behaviour)
        except ClientError as error:
            _fail(str(error))
    else:
        from packtrail.api.answers import capture_job_body
        from packtrail.store import StoreError, Viewer, open_store

        try:
            with open_store(db) as store:
                from packtrail.lifecycle import attach

                attach(store)  # the capture keeps each pack's lifecycle projection, like a node's
                result = store.capture(file, party=party, behaviour=behaviour)  # type: ignore[arg-type]
                record = store.capture_job(result.capture_id, Viewer.admin())
                job = capture_job_body(record)
        except StoreError as error:
            _fail(str(error))
    if json_output:
        typer.echo(json.dumps(job, indent=2))
    else:
        _capture_summary(job)
    if not job.get("success", False):
        raise typer.Exit(1)


def _query_params(
    epc: list[str] | None, biz_step: list[str] | None, param: list[str] | None
) -> list[tuple[str, str]]:
    params = [("MATCH_anyEPC", value) for value in epc or []]
    params += [("EQ_bizStep", value) for value in biz_step or []]
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            _fail(f"--param: expected NAME=VALUE, got {item!r}")
        params.append((name, value))
    return params


def _print_events(events: list[dict[str, Any]]) -> None:
    table = Table("eventTime", "type", "action", "bizStep", "disposition", "EPCs", "eventID")
    for event in events:
        epcs = [*event.get("epcList", []), *event.get("childEPCs", []), *event.get("inputEPCList", [])]
        if "parentID" in event:
            epcs.insert(0, event["parentID"])
        shown = (epcs[0] + (f" (+{len(epcs) - 1})" if len(epcs) > 1 else "")) if epcs else ""
        table.add_row(
            str(event.get("eventTime", "")),
            str(event.get("type", "")),
            str(event.get("action", "")),
            str(event.get("bizStep", "")),
            str(event.get("disposition", "")),
            shown,
            str(event.get("eventID", "")),
        )
    _out.print(table)
    _out.print(f"{len(events)} events")


@app.command("query")
def query(
    epc: Annotated[
        list[str] | None, typer.Option("--epc", help="Events naming this EPC (repeatable: OR).")
    ] = None,
    biz_step: Annotated[
        list[str] | None,
        typer.Option("--bizStep", "--biz-step", help="Events with this bizStep (repeatable)."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Any SimpleEventQuery parameter as NAME=VALUE (repeatable)."),
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="Base URL of the node (http://host:8080).")] = None,
    key: KeyOption = None,
    db: DbOption = None,
    party: Annotated[str | None, typer.Option(help="With --db: see what this party (GLN) sees.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many events.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the EPCISQueryDocument (JSON-LD).")
    ] = False,
) -> None:
    """Query events of a node (--url) or of a local store (--db; the default store when neither)."""
    params = _query_params(epc, biz_step, param)
    if url is not None and db is not None:
        _fail("give either --url URL (a node) or --db URL (a local store), not both")
    from packtrail.api.negotiation import query_document
    from packtrail.epcis import write_jsonld

    if url is not None:
        from packtrail.api.client import ClientError, EPCISClient

        try:
            with EPCISClient(url, key=key) as client:
                events, first = client.query(params, limit=limit)
        except ClientError as error:
            _fail(str(error))
        namespaces: dict[str, str] = {}
        for entry in first.get("@context", []) if isinstance(first.get("@context"), list) else []:
            if isinstance(entry, dict):
                namespaces.update({k: v for k, v in entry.items() if isinstance(v, str)})
    else:
        from packtrail.store import StoreError, Viewer, open_store, parse_query_params

        events, namespaces = [], {}
        try:
            with open_store(db) as store:
                parsed = parse_query_params(params, namespaces=store.namespaces())
                viewer = Viewer(party) if party else Viewer.admin()
                token: str | None = None
                while limit is None or len(events) < limit:
                    size = min(1000, limit - len(events)) if limit else 1000
                    page = store.query_events(parsed, viewer, per_page=size, page_token=token)
                    events.extend(page.events)
                    namespaces.update(page.namespaces)
                    token = page.next_page_token
                    if not token:
                        break
        except StoreError as error:
            _fail(str(error))
    if json_output:
        typer.echo(write_jsonld(query_document(events, namespaces), indent=True).decode())
    else:
        _print_events(events)


@parties_app.command("add")
def parties_add(
    gln: Annotated[str, typer.Argument(help="The party's 13-digit GLN.")],
    name: Annotated[str, typer.Option("--name", help="The party's name.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Register a trading party and print its new API key (shown once: the store keeps only a hash)."""
    from packtrail.store import StoreError, open_store

    try:
        with open_store(db) as store:
            key = store.add_party(gln, name)
    except StoreError as error:
        _fail(str(error))
    if json_output:
        typer.echo(json.dumps({"gln": gln, "name": name, "api_key": key}))
    else:
        typer.echo(key)
        typer.echo(
            f"API key for {name} ({gln}); send it as 'Authorization: Bearer <key>'. It is not shown again.",
            err=True,
        )


@parties_app.command("revoke")
def parties_revoke(
    key: Annotated[
        str,
        typer.Argument(
            help="The API key to revoke (as 'parties add' printed it; after '--' if it starts with '-')."
        ),
    ],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Revoke an API key: a running server refuses it within a second (it reads keys at most once a second)."""
    from packtrail.store import StoreError, open_store

    try:
        with open_store(db) as store:
            revoked = store.revoke_api_key(key)
    except StoreError as error:
        _fail(str(error))
    if json_output:
        typer.echo(json.dumps({"revoked": revoked}))
    elif revoked:
        typer.echo("revoked")
    if not revoked:
        _fail("no such API key, or it is revoked already")


@parties_app.command("list")
def parties_list(db: DbOption = None, json_output: JsonOption = False) -> None:
    """The registered trading parties."""
    from packtrail.store import StoreError, open_store

    try:
        with open_store(db) as store:
            parties = store.list_parties()
    except StoreError as error:
        _fail(str(error))
    rows = [{"gln": p.gln, "name": p.name} for p in parties]
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("GLN", "name")
    for row in rows:
        table.add_row(row["gln"], row["name"])
    _out.print(table)


# --- the change feed: outbox relay to NATS JetStream, webhook subscriptions ----------------------------

subscriptions_app = typer.Typer(
    help="Deliver webhook subscriptions and inspect dead letters.", no_args_is_help=True
)
app.add_typer(subscriptions_app, name="subscriptions")


@app.command("relay")
def relay(
    db: DbOption = None,
    nats: Annotated[
        str, typer.Option("--nats", help="NATS server with JetStream.")
    ] = "nats://127.0.0.1:4222",
    stream: Annotated[
        str, typer.Option(help="JetStream stream (created when missing).")
    ] = "PACKTRAIL_EVENTS",
    subject_prefix: Annotated[str, typer.Option(help="Subjects are PREFIX.{eventType}.{bizStep}.")] = (
        "packtrail.epcis.events"
    ),
    once: Annotated[bool, typer.Option("--once", help="Publish what is pending, then exit.")] = False,
) -> None:
    """Publish committed events from the store's outbox to NATS JetStream (Nats-Msg-Id = eventID).

    At least once, in capture order; JetStream's duplicate window drops what a restart republishes.
    """
    import asyncio

    from packtrail.store import StoreError, open_store
    from packtrail.store.relay import OutboxRelay

    async def run(store: Any) -> int:
        outbox = OutboxRelay(store, nats, stream=stream, subject_prefix=subject_prefix)
        try:
            if once:
                return await outbox.run_once()
            await outbox.run_forever()
            return 0
        finally:
            await outbox.close()

    try:
        with open_store(db) as store:
            published = asyncio.run(run(store))
    except (StoreError, OSError) as error:
        _fail(str(error))
    except KeyboardInterrupt:
        return
    if once:
        typer.echo(f"{published} events published to {stream}")


@subscriptions_app.command("deliver")
def subscriptions_deliver(
    db: DbOption = None,
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due, then exit.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Deliver webhook subscriptions (``packtrail serve`` does this itself while it runs)."""
    import asyncio
    import dataclasses

    from packtrail.store import StoreError, open_store
    from packtrail.store.subscriptions import SubscriptionDispatcher

    async def run(store: Any) -> Any:
        dispatcher = SubscriptionDispatcher(store)
        try:
            if once:
                return await dispatcher.drain()
            await dispatcher.run_forever()
            return None
        finally:
            await dispatcher.aclose()

    try:
        with open_store(db) as store:
            report = asyncio.run(run(store))
    except StoreError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        return
    if report is not None:
        info = dataclasses.asdict(report)
        typer.echo(json.dumps(info) if json_output else ", ".join(f"{k}: {v}" for k, v in info.items()))


@subscriptions_app.command("dead-letters")
def subscriptions_dead_letters(
    subscription_id: Annotated[str, typer.Argument(help="The subscription's id.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Deliveries given up after their retries, with the last error (the payload is kept in the store)."""
    from packtrail.store import StoreError, Viewer, open_store
    from packtrail.store.subscriptions import dead_letters

    try:
        with open_store(db) as store:
            letters = dead_letters(store, subscription_id, Viewer.admin())
    except StoreError as error:
        _fail(str(error))
    rows: list[dict[str, Any]] = [
        {
            "id": letter.id,
            "events": [letter.first_event_pk, letter.last_event_pk],
            "attempts": letter.attempts,
            "last_error": letter.last_error,
        }
        for letter in letters
    ]
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "events", "attempts", "last error")
    for row in rows:
        table.add_row(
            str(row["id"]), f"{row['events'][0]}-{row['events'][1]}", str(row["attempts"]), row["last_error"]
        )
    _out.print(table)


def main() -> None:
    """Entry point of the ``packtrail`` console script."""
    app(prog_name="packtrail")


if __name__ == "__main__":  # pragma: no cover
    main()
