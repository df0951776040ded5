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

_out = Console(highlight=False, soft_wrap=True)

GSOption = Annotated[
    list[str] | None,
    typer.Option(
        "--gs",
        help="A character sequence a keyboard-wedge scanner sends instead of GS (repeatable), e.g. '^]' or '|'. "
        "'<GS>' is always understood.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


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
    """Parse a sample pack barcode, render it as a GS1 DataMatrix, decode the image and show what it found."""
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


def main() -> None:
    """Entry point of the ``packtrail`` console script."""
    app(prog_name="packtrail")


if __name__ == "__main__":  # pragma: no cover
    main()
