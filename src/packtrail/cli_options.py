"""Command-line options every ``packtrail`` command group spells the same way.

The lead command (:mod:`packtrail.cli`) and the groups that live beside their capability
(``serials``, ``line``, ``trace``/``recall``) take a store with ``--db``, a node's API key with ``--key``
and print JSON with ``--json``; declaring each option once keeps their names, defaults and help texts
identical everywhere.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["DbOption", "JsonOption", "KeyOption"]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="The store: sqlite:///file.db, a file path, or postgresql://… (default: sqlite:///packtrail.db).",
    ),
]
"""``--db URL``: the local store (None: the default ``sqlite:///packtrail.db``)."""

KeyOption = Annotated[
    str | None,
    typer.Option("--key", envvar="PACKTRAIL_API_KEY", help="API key of the node (or $PACKTRAIL_API_KEY)."),
]
"""``--key KEY``: the API key sent to a node as ``Authorization: Bearer KEY``."""

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
"""``--json``: machine-readable output."""
