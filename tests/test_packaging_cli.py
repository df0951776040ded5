"""``packtrail line``: run a line, allocate SSCCs and print labels from the command line; bad input exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from packtrail.gs1 import SSCC
from packtrail.gs1.datamatrix import decode
from packtrail.packaging import PackagingError
from packtrail.packaging.cli import line_app, parse_start
from packtrail.store import Viewer, open_store

GTIN = "04012345111118"
runner = CliRunner()


def test_run_as_a_module_prints_one_json_object(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/line.db"
    command = [sys.executable, "-m", "packtrail.packaging.cli", "run", "--gtin", GTIN, "--lot", "B42"]
    command += ["--expiry", "280229", "--packs", "45", "--case-size", "10", "--cases-per-pallet", "2"]
    command += ["--db", db, "--json", "--with-serials", "--start", "2026-03-02T06:00:00+01:00"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["packs"], body["cases"], body["pallets"], body["events"], body["captured"]) == (
        45,
        5,
        3,
        13,
        13,
    )
    assert len(set(body["serials"])) == 45 and body["firstSerial"] == body["serials"][0]
    assert body["firstEventTime"] == "2026-03-02T06:00:02.000+01:00"
    ssccs = body["caseSSCCs"] + body["palletSSCCs"]
    assert len(set(ssccs)) == 8 and all(SSCC.parse(s) for s in ssccs)
    assert body["ssccAllocation"]["first"] == ssccs[0] and body["ssccAllocation"]["last"] == ssccs[-1]
    with open_store(db) as store:
        assert store.distinct_values("bizSteps", Viewer.admin())[0] == [
            "commissioning",
            "packing",
        ]


def test_run_prints_counts_and_ranges(tmp_path: Path) -> None:
    result = runner.invoke(
        line_app,
        [
            "run",
            "--gtin",
            GTIN,
            "--lot",
            "B42",
            "--expiry",
            "280229",
            "--packs",
            "25",
            "--db",
            f"{tmp_path}/l.db",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "25 packs of GTIN 04012345111118, lot B42, expiry 280229" in result.output
    assert "cases    3 of up to 10: 040123450000000016 … 040123450000000030" in result.output
    assert "pallets  1 of up to 20 cases: 040123450000000047" in result.output
    assert "events   7 (3 commissioning, 3 cases, 1 pallets): 7 captured" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--gtin", "04012345111117"], "gtin: AI (01): GTIN check digit should be 8"),
        (["--expiry", "281301"], "expiry:"),
        (["--lot", "B 42"], "lot:"),
        (["--packs", "0"], "packs: expected a whole number from 1"),
        (["--case-size", "0"], "case_size:"),
        (["--start", "yesterday"], "start: expected an ISO 8601 time"),
        (["--to", "ftp://node"], "--to: expected an http"),
        (["--to", "http://node", "--party", "4012345000009"], "party: --party is for --db"),
        (["--line", "4012345000008"], "line:"),
        (["--commission-batch", "20"], "commission_batch:"),
    ],
)
def test_bad_input_exits_2_naming_the_option(tmp_path: Path, arguments: list[str], message: str) -> None:
    base = {"--gtin": GTIN, "--lot": "B42", "--expiry": "280229", "--packs": "5", "--db": f"{tmp_path}/l.db"}
    for name, value in zip(arguments[::2], arguments[1::2], strict=True):
        base[name] = value
    flat = [item for pair in base.items() for item in pair]
    result = runner.invoke(line_app, ["run", *flat])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_json_errors_are_json(tmp_path: Path) -> None:
    result = runner.invoke(
        line_app,
        [
            "run",
            "--gtin",
            "1",
            "--lot",
            "B",
            "--expiry",
            "280229",
            "--packs",
            "5",
            "--db",
            f"{tmp_path}/l.db",
            "--json",
        ],
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout.splitlines()[0])["error"].startswith("gtin:")


def test_sscc_command(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.db"
    result = runner.invoke(line_app, ["sscc", "4012345", "--count", "3", "--db", db, "--to", "4012345000009"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        "040123450000000016",
        "040123450000000023",
        "040123450000000030",
    ]
    again = runner.invoke(line_app, ["sscc", "4012345", "--count", "2", "--db", db, "--json"])
    body = json.loads(again.stdout)
    assert body["ssccs"] == ["040123450000000047", "040123450000000054"] and body["count"] == 2
    bad = runner.invoke(line_app, ["sscc", "4012", "--count", "2", "--db", db])
    assert bad.exit_code == 2 and "company_prefix" in bad.output


def test_label_commands_write_barcodes_that_decode(tmp_path: Path) -> None:
    pack = runner.invoke(
        line_app,
        [
            "labels",
            "pack",
            "--gtin",
            GTIN,
            "--serial",
            "S1",
            "--lot",
            "B42",
            "--expiry",
            "280229",
            "--png",
            str(tmp_path / "pack.png"),
            "--svg",
            str(tmp_path / "pack.svg"),
        ],
    )
    assert pack.exit_code == 0, pack.output
    assert pack.stdout.splitlines() == ["PC: 04012345111118", "SN: S1", "LOT: B42", "EXP: 2028-02-29"]
    [symbol] = decode(tmp_path / "pack.png", pure=True)
    assert symbol.element_string is not None and symbol.element_string.raw("21") == "S1"
    assert (tmp_path / "pack.svg").read_text().startswith("<?xml")

    unit = runner.invoke(
        line_app,
        [
            "labels",
            "sscc",
            "040123450000000016",
            "--content",
            GTIN,
            "--count",
            "10",
            "--json",
            "--png",
            str(tmp_path / "case.png"),
        ],
    )
    assert unit.exit_code == 0, unit.output
    assert json.loads(unit.stdout)["lines"][:3] == [
        "SSCC: 040123450000000016",
        f"CONTENT: {GTIN}",
        "COUNT: 10",
    ]
    [symbol] = decode(tmp_path / "case.png", formats=("Code128",))
    assert symbol.element_string is not None and symbol.element_string.raw("00") == "040123450000000016"

    bad = runner.invoke(line_app, ["labels", "sscc", "040123450000000017"])
    assert bad.exit_code == 2 and "sscc:" in bad.output
    bad_pack = runner.invoke(line_app, ["labels", "pack", "--gtin", GTIN, "--serial", "a b", "--json"])
    assert bad_pack.exit_code == 2 and json.loads(bad_pack.stdout.splitlines()[0])["error"].startswith(
        "serial:"
    )


@given(st.text(max_size=40))
def test_parse_start_raises_only_packaging_errors(text: str) -> None:
    try:
        moment = parse_start(text)
    except PackagingError as error:
        assert error.field == "start"
        return
    assert moment.utcoffset() is not None


_texts = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=16)


VALID_RUN = {"--gtin": GTIN, "--lot": "B42", "--expiry": "280229", "--packs": "7", "--case-size": "3"}


@settings(max_examples=40)
@given(
    mutated=st.dictionaries(st.sampled_from(sorted(VALID_RUN)), _texts, max_size=2),
    packs=st.integers(min_value=-3, max_value=12),
)
def test_random_arguments_run_or_exit_2(
    tmp_path_factory: pytest.TempPathFactory, mutated: dict[str, str], packs: int
) -> None:
    """Valid arguments with up to two replaced by random text: a run, or exit 2 with one line."""
    options = {**VALID_RUN, "--packs": str(packs), **mutated}
    db = f"sqlite:///{tmp_path_factory.getbasetemp()}/fuzz-cli.db"
    flat = [item for pair in options.items() for item in pair]
    result = runner.invoke(line_app, ["run", *flat, "--db", db, "--json"])
    assert result.exit_code in (0, 2), (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 0:
        assert json.loads(result.stdout)["packs"] == int(options["--packs"])
    else:
        assert "rror" in result.output


def test_line_run_keeps_the_lifecycle_projection_in_its_captures(tmp_path: Path) -> None:
    """`line run --db` captures with the lifecycle projector attached: right after the run the
    projection has applied every event (nothing left for a catch-up) and the packs are packed."""
    from packtrail.cli import app
    from packtrail.lifecycle.db import Db

    db = f"sqlite:///{tmp_path}/line.db"
    made = runner.invoke(
        line_app,
        ["run", "--gtin", "04012345111118", "--lot", "L1", "--expiry", "281231", "--packs", "30", "--db", db],
    )
    assert made.exit_code == 0, made.output
    with open_store(db) as store, store.engine.connect() as connection:
        db_view = Db(connection)
        assert db_view.last_event_pk() > 0
        assert db_view.projected_through() == db_view.last_event_pk()
    reach = CliRunner().invoke(app, ["recall", "04012345111118", "L1", "--db", db, "--json"])
    assert reach.exit_code == 0, reach.output
    assert json.loads(reach.output)["byState"] == [{"state": "packed", "packs": 30}]
