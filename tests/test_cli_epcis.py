"""``packtrail epcis validate | hash | convert`` end to end on real documents."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from packtrail.cli import app
from packtrail.epcis import read_jsonld, read_xml

runner = CliRunner()
HASH_VECTORS = Path(__file__).parent / "data" / "epcis-event-hash" / "examples"
VALID = HASH_VECTORS / "epcisDocWithVariousEventTypes.jsonld"
VALID_XML = HASH_VECTORS / "epcisDocWithVariousEventTypes.xml"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_validate_valid_files_exit_0() -> None:
    code, out, _ = run("epcis", "validate", str(VALID), str(VALID_XML), "--json")
    assert code == 0, out
    results = json.loads(out)
    assert [r["valid"] for r in results] == [True, True]
    assert results[0]["events"] > 1


def test_validate_invalid_file_exit_1_lists_issues(tmp_path: Path) -> None:
    document = json.loads(VALID.read_text())
    event = document["epcisBody"]["eventList"][0]
    event["eventTimeZoneOffset"] = "+25:00"
    event["action"] = "SOMETIMES"
    bad = tmp_path / "bad.jsonld"
    bad.write_text(json.dumps(document))
    code, out, _ = run("epcis", "validate", str(bad), "--json")
    assert code == 1
    result = json.loads(out)
    assert result["valid"] is False
    pointers = {issue["pointer"] for issue in result["issues"]}
    assert "/epcisBody/eventList/0/action" in pointers
    assert "/epcisBody/eventList/0/eventTimeZoneOffset" in pointers
    code, out, _ = run("epcis", "validate", str(bad))
    assert code == 1
    assert "invalid" in out and "/epcisBody/eventList/0/action" in out


def test_validate_unreadable_file_is_invalid(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonld"
    broken.write_text("{not json")
    code, out, _ = run("epcis", "validate", str(broken), "--json")
    assert code == 1
    assert json.loads(out)["valid"] is False


def test_validate_missing_file_exit_2() -> None:
    code, _, err = run("epcis", "validate", "no-such-file.jsonld")
    assert code == 2
    assert "does not exist" in err


def test_hash_matches_the_reference_vectors() -> None:
    for name in ("epcisDocWithVariousEventTypes.jsonld", "epcisDocWithVariousEventTypes.xml"):
        code, out, _ = run("epcis", "hash", str(HASH_VECTORS / name), "--json")
        assert code == 0
        expected = (HASH_VECTORS / "epcisDocWithVariousEventTypes.hashes").read_text().split()
        rows = json.loads(out)
        assert [row["hash"] for row in rows] == expected
        assert [row["position"] for row in rows] == list(range(len(expected)))


def test_convert_jsonld_to_xml_and_1_2_and_back(tmp_path: Path) -> None:
    xml = tmp_path / "out.xml"
    code, _, err = run("epcis", "convert", str(VALID), "--to", "xml", "-o", str(xml))
    assert code == 0, err
    assert read_xml(xml).events.__len__() == len(read_jsonld(VALID).events)
    xml12 = tmp_path / "out12.xml"
    code, _, err = run("epcis", "convert", str(xml), "--to", "xml12", "-o", str(xml12))
    assert code == 0, err
    assert read_xml(xml12).schema_version == "1.2"
    back = tmp_path / "back.jsonld"
    code, _, err = run("epcis", "convert", str(xml12), "--to", "jsonld", "-o", str(back))
    assert code == 0, err
    code, out, _ = run("epcis", "hash", str(back), "--json")
    expected = (HASH_VECTORS / "epcisDocWithVariousEventTypes.hashes").read_text().split()
    assert [row["hash"] for row in json.loads(out)] == expected


def test_convert_refuses_unknown_target() -> None:
    code, _, err = run("epcis", "convert", str(VALID), "--to", "csv")
    assert code == 2
    assert "--to" in err


def test_streaming_validation_agrees_with_whole_document(tmp_path: Path) -> None:
    document = json.loads(VALID.read_text())
    document["epcisBody"]["eventList"][1]["action"] = "SOMETIMES"
    bad = tmp_path / "bad.jsonld"
    bad.write_text(json.dumps(document))
    for path, valid in ((VALID, True), (bad, False)):
        _, whole, _ = run("epcis", "validate", str(path), "--whole", "--json")
        code, streamed, _ = run("epcis", "validate", str(path), "--streaming", "--json")
        assert code == (0 if valid else 1)
        whole_result, streamed_result = json.loads(whole), json.loads(streamed)
        assert streamed_result["valid"] is whole_result["valid"] is valid
        assert streamed_result["events"] == whole_result["events"]
        assert streamed_result["notes"]
    code, out, _ = run("epcis", "validate", str(VALID_XML), "--streaming", "--json")
    assert code == 0
    assert "XSD" in json.loads(out)["notes"][0]


def test_convert_honours_cbv_and_epc_format_preferences(tmp_path: Path) -> None:
    web = tmp_path / "web.xml"
    code, _, err = run("epcis", "convert", str(VALID), "--to", "xml", "--cbv-format", "web", "-o", str(web))
    assert code == 0, err
    text = web.read_text()
    assert "https://ref.gs1.org/cbv/BizStep-" in text
    assert "urn:epcglobal:cbv:bizstep:" not in text
    urn = tmp_path / "urn.xml"
    code, _, err = run("epcis", "convert", str(VALID), "--to", "xml", "--cbv-format", "urn", "-o", str(urn))
    assert code == 0, err
    assert "urn:epcglobal:cbv:bizstep:" in urn.read_text()
    code, _, err = run("epcis", "convert", str(VALID), "--to", "xml", "--cbv-format", "rdf")
    assert code == 2
    assert "--cbv-format" in err
