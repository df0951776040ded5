"""Compiled twins of the modules capture spends its CPU in, and the guard that keeps them honest.

Capture checks every event of a document in worker processes: the Event Hash ID
(:mod:`packtrail.epcis.hashing`), the schema and the CBV rules (:mod:`packtrail.epcis.fast_validator`,
:mod:`packtrail.epcis.rules`), the index rows (:mod:`packtrail.store.index_rows`,
:mod:`packtrail.store.identifiers`); the capturing process projects each event onto the packs' lifecycle
(:mod:`packtrail.lifecycle.facts`, :mod:`packtrail.lifecycle.rules`, :mod:`packtrail.lifecycle.replay`).
These modules are fully annotated, so mypyc (the compiler that ships with mypy) turns them, unchanged,
into C extensions: the same source, the same behaviour, less CPU per event (``bench/RESULTS.md``).

``make install`` builds them (``python -m packtrail.native_build build``, :mod:`packtrail.native_build`).
Where no C compiler or no mypy is at hand, the build says so and the Python sources run as they are:
the compiled twins are an accelerator, never a requirement.

A compiled module lies next to its source (``hashing.cpython-311-x86_64-linux-gnu.so`` beside
``hashing.py``), and Python's import prefers it. So that an edited source is never shadowed by an old
build, the build writes :data:`MANIFEST` (each source's SHA-256 at compile time) and :func:`guard`, run
when :mod:`packtrail` is imported, compares: when any listed source differs, or
``PACKTRAIL_PURE_PYTHON=1`` is set, **every** listed module is imported from its source. All or none,
because compiled modules call one another directly: a mix would run old code behind new.

>>> "packtrail.epcis.hashing" in COMPILED
True
>>> source_of("packtrail.epcis.hashing").name
'hashing.py'
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Final, NamedTuple

__all__ = [
    "COMPILED",
    "MANIFEST",
    "PURE_PYTHON_ENV",
    "NativeStatus",
    "binaries",
    "digest",
    "guard",
    "source_of",
    "status",
]

COMPILED: Final = (
    "packtrail.epcis.hashing",
    "packtrail.epcis.fast_validator",
    "packtrail.epcis.rules",
    "packtrail.store.identifiers",
    "packtrail.store.index_rows",
    "packtrail.lifecycle.facts",
    "packtrail.lifecycle.rules",
    "packtrail.lifecycle.replay",
)
"""The modules compiled: what a capture worker runs for each event (pure functions of JSON values), and
the lifecycle projection's state machine (what the capturing process runs for each event)."""

ROOT: Final = Path(__file__).resolve().parent.parent
"""The folder that holds the ``packtrail`` package (``src`` in a checkout)."""
MANIFEST: Final = Path(__file__).resolve().with_name("native.json")
"""Written by :func:`packtrail.native_build.build`: ``{"sources": {module: sha256 of its source}, "binaries": [paths]}``."""
PURE_PYTHON_ENV: Final = "PACKTRAIL_PURE_PYTHON"
"""Set to ``1`` to run the Python sources even where compiled twins are built and current."""


def source_of(module: str) -> Path:
    """The ``.py`` file of one of :data:`COMPILED`."""
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def digest(path: Path) -> str:
    """SHA-256 of a file, hex: what the manifest keeps of each source."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def binaries(*, loadable: bool = False) -> list[Path]:
    """Compiled files present: the listed modules' extensions and mypyc's shared ``*__mypyc`` library;
    ``loadable``: only those this interpreter would import (its ABI's suffix), else any build's."""
    suffixes = importlib.machinery.EXTENSION_SUFFIXES if loadable else [".*.so", ".*.pyd"]
    found: list[Path] = []
    for module in COMPILED:
        source = source_of(module)
        for suffix in suffixes:
            found.extend(sorted(source.parent.glob(source.stem + suffix)))
    for suffix in suffixes:
        found.extend(sorted(ROOT.glob("*__mypyc" + suffix)))
    return found


class NativeStatus(NamedTuple):
    """Whether the compiled twins run, and why (or why not)."""

    native: bool
    """True: importing a listed module loads its compiled twin."""
    reason: str
    """What a person reads: built and current, not built, stale (which source changed), or turned off."""
    binaries: bool
    """Compiled files lie beside the sources (whether or not they are used)."""


def status(environ: dict[str, str] | None = None) -> NativeStatus:
    """Whether the compiled twins are built, current and allowed (:data:`PURE_PYTHON_ENV`)."""
    env = os.environ if environ is None else environ
    present = bool(binaries(loadable=True))
    if env.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        return NativeStatus(False, f"turned off by {PURE_PYTHON_ENV}={env[PURE_PYTHON_ENV]}", present)
    if not present:
        return NativeStatus(False, "not built: the Python sources run (`make install` builds them)", False)
    try:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
        built: dict[str, str] = manifest["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return NativeStatus(
            False, f"compiled files without a readable {MANIFEST.name}: `make install` rebuilds them", True
        )
    for module in COMPILED:
        try:
            now = digest(source_of(module))
        except OSError:
            return NativeStatus(False, f"{module}: its source is missing", True)
        if built.get(module) != now:
            return NativeStatus(
                False, f"{module} changed since it was compiled: `make install` rebuilds it", True
            )
    return NativeStatus(True, f"compiled with mypyc: {', '.join(COMPILED)}", True)


class _SourceFinder:
    """Finds each listed module's ``.py`` source, ahead of the compiled file beside it (a meta path
    finder by protocol: ``importlib.abc`` would pull ``importlib.resources`` into every start-up)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED:
            return None
        return importlib.util.spec_from_file_location(fullname, source_of(fullname))


_GUARDED: list[_SourceFinder] = []


def guard() -> NativeStatus:
    """Import the listed modules from their sources unless their compiled twins are current and allowed
    (called by ``import packtrail``, before any of them can be imported). Warns when stale twins are
    set aside, so that a forgotten rebuild is seen."""
    state = status()
    if state.native or not state.binaries or _GUARDED:
        return state
    loaded = [name for name in COMPILED if name in sys.modules]
    if loaded:  # too late to choose: say so rather than run a mix
        warnings.warn(f"packtrail: {loaded[0]} was imported before the native guard ran", stacklevel=2)
    finder = _SourceFinder()
    sys.meta_path.insert(0, finder)
    _GUARDED.append(finder)
    if os.environ.get(PURE_PYTHON_ENV, "") in ("", "0"):
        warnings.warn(f"packtrail: the Python sources run: {state.reason}", RuntimeWarning, stacklevel=2)
    return state
