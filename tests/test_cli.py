"""The ``packtrail`` command end to end: the JSON names other tools script against, exit codes, conversions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from packtrail.cli import app

runner = CliRunner()

PACK = "]d201095060001343521727013110ABC123\x1d21SERIAL0001\x1d710PZN1234"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_parse_json_has_the_documented_names() -> None:
    code, out, _ = run("barcode", "parse", PACK, "--json")
    assert code == 0
    info = json.loads(out)
    for key in (
        "elements",
        "gtin",
        "serial",
        "lot",
        "expiry",
        "nhrn",
        "sscc",
        "sgtin",
        "digital_link",
        "warnings",
    ):
        assert key in info
    assert info["gtin"] == "09506000134352"
    assert info["serial"] == "SERIAL0001"
    assert info["lot"] == "ABC123"
    assert info["expiry"] == "2027-01-31"
    assert info["nhrn"] == {"710": "PZN1234"}
    assert info["sscc"] is None
    assert info["sgtin"].startswith("urn:epc:id:sgtin:")
    assert info["digital_link"] == (
        "https://id.gs1.org/01/09506000134352/10/ABC123/21/SERIAL0001?17=270131&710=PZN1234"
    )
    assert info["elements"][1] == {
        "ai": "17",
        "title": "USE BY or EXPIRY",
        "raw": "270131",
        "value": "2027-01-31",
    }
    assert info["warnings"] == []


def test_parse_accepts_written_gs_bracketed_and_digital_link() -> None:
    forms = [
        PACK.replace("\x1d", "<GS>"),
        "(01)09506000134352(17)270131(10)ABC123(21)SERIAL0001(710)PZN1234",
        "https://example.org/x/01/09506000134352/10/ABC123/21/SERIAL0001?17=270131&710=PZN1234",
    ]
    for form in forms:
        code, out, _ = run("barcode", "parse", form, "--json")
        assert code == 0, form
        assert json.loads(out)["serial"] == "SERIAL0001"


def test_parse_with_a_wedge_scanner_substitute() -> None:
    code, out, _ = run("barcode", "parse", PACK.replace("\x1d", "^]"), "--gs", "^]", "--json")
    assert code == 0
    assert json.loads(out)["lot"] == "ABC123"


def test_missing_separator_is_not_guessed() -> None:
    code, out, _ = run("barcode", "parse", "]d2010950600013435210ABC12321SERIAL0001", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["lot"] == "ABC12321SERIAL0001"
    assert info["serial"] is None
    assert any("no serial" in w for w in info["warnings"])


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("]d20109506000134353", "check digit should be 2, found 3"),
        ("]d201095060001343521799999910L1", "(17)"),
        ("(21)ABC", "must be used together with (01)"),
        ("https://id.gs1.org/01/9506000134352/21/S1", "14 digits"),
        ("]d299", "data too short"),
    ],
)
def test_invalid_input_exits_2_with_one_line(data: str, words: str) -> None:
    code, out, err = run("barcode", "parse", data)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert words in err


def test_console_script_exit_status() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "packtrail.cli", "barcode", "parse", "]d20109506000134353"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: AI (01)")


@pytest.mark.parametrize(
    ("value", "to", "expected"),
    [
        ("(01)09506000134352(21)SERIAL0001", "element", "(01)09506000134352(21)SERIAL0001"),
        ("urn:epc:id:sgtin:0614141.812345.6789", "dl", "https://id.gs1.org/01/80614141123458/21/6789"),
        ("https://id.gs1.org/01/80614141123458/21/6789", "sgtin", "urn:epc:id:sgtin:0614141.812345.6789"),
        ("urn:epc:id:sscc:0614141.1234567890", "element", "(00)106141412345678908"),
        ("9506000134352", "gtin14", "09506000134352"),
        ("0777-3105-02", "gtin14", "00307773105025"),
        ("(01)00307773105025(21)X", "gtin14", "00307773105025"),
    ],
)
def test_id_convert(value: str, to: str, expected: str) -> None:
    code, out, _ = run("id", "convert", value, "--to", to)
    assert code == 0, out
    assert out.strip() == expected


def test_id_convert_ndc_says_when_hyphenation_is_unknown() -> None:
    code, out, err = run("id", "convert", "00307773105025", "--to", "ndc")
    assert code == 0
    assert out.strip() == "0777310502"
    assert "cannot be known" in err
    code, out, _ = run("id", "convert", "00307773105025", "--to", "ndc", "--ndc-format", "4-4-2", "--json")
    assert json.loads(out)["result"] == "0777-3105-02"


def test_id_convert_explicit_company_prefix_length() -> None:
    code, out, _ = run(
        "id", "convert", "(01)80614141123458(21)6789", "--to", "sgtin", "--company-prefix-length", "9"
    )
    assert code == 0
    assert out.strip() == "urn:epc:id:sgtin:061414112.8345.6789"


def test_id_convert_refuses_sgtin_without_serial() -> None:
    code, _, err = run("id", "convert", "09506000134352", "--to", "sgtin")
    assert code == 2
    assert "serial" in err


def test_render_decode_round_trip_png_and_svg(tmp_path: Path) -> None:
    png = tmp_path / "pack.png"
    code, _, _ = run("barcode", "render", PACK, "-o", str(png))
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = run("barcode", "decode", str(png), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["symbology_identifier"] == "]d2"
    assert info["serial"] == "SERIAL0001"
    assert info["nhrn"] == {"710": "PZN1234"}
    svg = tmp_path / "pack.svg"
    code, _, _ = run("barcode", "render", PACK, "-o", str(svg))
    assert code == 0
    assert "<svg" in svg.read_text()


def test_render_refuses_invalid_data_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "bad.png"
    code, _, err = run("barcode", "render", "(01)09506000134353(21)X", "-o", str(target))
    assert code == 2
    assert "check digit" in err
    assert not target.exists()


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    code, out, _ = run("demo", "--directory", str(tmp_path))
    assert code == 0, out
    assert "Identical to the input: yes" in out
    assert (tmp_path / "pack.png").exists()
    # the second half: a lot from the line to a pharmacy, traced and recalled from the store it wrote
    assert "now: dispensed, owner 0950000000015" in out
    assert "GTIN 04012345111118 lot DEMO42: 100 packs" in out
    pack = out.split("Try: packtrail trace ")[1].split()[0]
    code, again, _ = run("trace", pack, "--db", f"sqlite:///{tmp_path / 'demo.db'}", "--json")
    assert code == 0
    history = json.loads(again)
    assert [e["bizStep"] for e in history["events"]][-3:] == ["shipping", "receiving", "dispensing"]
    assert [o["party"] for o in history["owners"]] == ["4012345000009", "0614141000005", "0950000000015"]
