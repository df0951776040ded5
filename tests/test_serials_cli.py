"""``packtrail serials``: allocate, return, report; refusals exit 2 with the computed probability."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from packtrail.serials.cli import serials_app

runner = CliRunner()
GTIN = "04012345111118"
LINE = "4012345000016"


def test_allocate_return_report(store_url: str, tmp_path: Path) -> None:
    result = runner.invoke(serials_app, ["allocate", GTIN, "--count", "50", "--to", LINE, "--db", store_url])
    assert result.exit_code == 0, result.output
    issued = result.stdout.split()
    assert len(issued) == len(set(issued)) == 50
    assert all(len(serial) == 12 and serial.isdigit() for serial in issued)
    assert "allocation 1: 50 serials of GTIN 04012345111118 (numeric x 12) to 4012345000016" in result.stderr

    arguments = [
        "allocate",
        "4012345111118",
        "--count",
        "5",
        "--alphabet",
        "cset32",
        "--length",
        "10",
        "--json",
        "--db",
    ]
    result = runner.invoke(serials_app, [*arguments, store_url])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["id"], body["gtin"], body["count"], body["to"], body["length"]) == (2, GTIN, 5, None, 10)
    assert len(body["serials"]) == 5 and body["guessProbability"] > 0

    unused = tmp_path / "unused.txt"
    unused.write_text("\n".join(issued[:20]) + "\r\n\n")
    result = runner.invoke(serials_app, ["return", "1", "--file", str(unused), "--db", store_url])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "allocation 1: 20 serials returned"
    result = runner.invoke(serials_app, ["return", "1", "--file", str(unused), "--db", store_url, "--json"])
    assert json.loads(result.stdout) == {"allocation": 1, "returned": 0, "alreadyReturned": 20}

    result = runner.invoke(serials_app, ["report", GTIN, "--db", store_url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["issued"] == 55 and report["byStatus"] == {"allocated": 35, "returned": 20}
    assert [(r["to"], r["issued"]) for r in report["byRecipient"]] == [(LINE, 50), (None, 5)]
    result = runner.invoke(serials_app, ["report", GTIN, "--db", store_url])
    assert result.exit_code == 0, result.output
    assert "GTIN 04012345111118: 55 issued in 2 allocations, 35 allocated, 20 returned" in result.stdout


def test_refusals_exit_2_with_the_probability(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'serials.db'}"
    ok = runner.invoke(serials_app, ["allocate", GTIN, "--count", "9", "--length", "5", "--db", db])
    assert ok.exit_code == 0, ok.output
    refused = runner.invoke(
        serials_app, ["allocate", GTIN, "--count", "1", "--length", "5", "--db", db, "--json"]
    )
    assert refused.exit_code == 2
    body = json.loads(refused.stdout)
    assert body["probability"] == "1/10000" and body["guessProbability"] == 1e-4
    assert (body["issued"], body["requested"], body["numberSpace"]) == (9, 1, "100000")
    assert "error: GTIN 04012345111118: 9 issued + 1 requested = 10 serials" in refused.stderr

    for arguments, message in [
        (
            ["--count", "5", "--alphabet", "AB#"],
            "error: alphabet: '#' at character 3 is not in GS1 character set 82",
        ),
        (["--count", "5", "--length", "21"], "error: length: expected an integer from 1 to 20, found 21"),
        (["--count", "0"], "error: count: expected an integer from 1 to 10,000,000, got 0"),
        (["--count", "5", "--to", "4012345000017"], "error: to: AI (414): GLN check digit should be 6"),
    ]:
        result = runner.invoke(serials_app, ["allocate", GTIN, *arguments, "--db", db])
        assert result.exit_code == 2, arguments
        assert result.stderr.startswith(message), result.stderr
    unknown = runner.invoke(
        serials_app, ["return", "77", "--file", str(tmp_path / "missing.txt"), "--db", db]
    )
    assert unknown.exit_code == 2 and "--file: cannot read" in unknown.stderr
    (tmp_path / "some.txt").write_text("123\n")
    unknown = runner.invoke(serials_app, ["return", "77", "--file", str(tmp_path / "some.txt"), "--db", db])
    assert unknown.exit_code == 2 and "allocation: no allocation 77" in unknown.stderr


def test_module_entry_point_refuses_with_exit_2(tmp_path: Path) -> None:
    """``python -m packtrail.serials.cli``: the process exit status and the probability on standard error."""
    db = str(tmp_path / "serials.db")
    command = [sys.executable, "-m", "packtrail.serials.cli", "allocate", GTIN, "--length", "5", "--db", db]
    done = subprocess.run([*command, "--count", "9"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split()) == 9
    refused = subprocess.run([*command, "--count", "2"], capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert "11/100,000 = 1.100e-04; it must stay below 1/10,000" in refused.stderr
    assert refused.stdout == ""
