"""Building the compiled twins of :mod:`packtrail.native`: ``python -m packtrail.native_build build``.

``make install`` runs ``build --if-stale``: a no-op while every listed source is as it was compiled;
otherwise mypyc compiles :data:`~packtrail.native.COMPILED` (about a minute on two cores) and the
manifest is written last, so an interrupted build leaves the Python sources running. ``status`` says
which run and why; ``clean`` removes the compiled files.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packtrail.native import COMPILED, MANIFEST, ROOT, binaries, digest, source_of, status

__all__ = ["build", "clean", "main"]


def _compiler() -> str | None:
    """The C compiler extensions are built with, if one is installed."""
    configured = str(sysconfig.get_config_var("CC") or "cc").split()
    for name in (configured[0] if configured else "cc", "cc", "gcc", "clang"):
        if shutil.which(name):
            return name
    return None


def build(*, if_stale: bool = False, quiet: bool = False) -> bool:
    """Compile :data:`COMPILED` with mypyc in place and write :data:`MANIFEST`; True when the twins are
    current afterwards. Without a C compiler, mypy or the Python headers, says why and returns False
    (the Python sources run). ``if_stale``: do nothing when the twins are already current."""

    def say(text: str) -> None:
        if not quiet:
            print(f"packtrail native: {text}", file=sys.stderr)

    current = status({})
    if if_stale and current.native:
        say("compiled modules are current")
        return True
    if _compiler() is None:
        say("no C compiler found: the Python sources run (install gcc or clang to compile them)")
        return False
    if importlib.util.find_spec("mypyc") is None:
        say("mypyc (part of mypy) is not installed: the Python sources run")
        return False
    if not Path(sysconfig.get_paths()["include"], "Python.h").exists():
        say("Python's C headers are missing: the Python sources run")
        return False
    for stale in binaries():
        stale.unlink()
    MANIFEST.unlink(missing_ok=True)
    sources = {module: digest(source_of(module)) for module in COMPILED}
    say(f"compiling {len(COMPILED)} modules with mypyc (about a minute)")
    with tempfile.TemporaryDirectory(prefix="packtrail-native-") as scratch:
        work = Path(scratch)
        # mypyc builds under ./build of the folder it runs in and puts each extension next to its source
        # (paths relative to that folder): it runs in a scratch copy of the package, and the extensions
        # are copied back, so no build folder is left in the checkout.
        shutil.copytree(ROOT / "packtrail", work / "packtrail", ignore=shutil.ignore_patterns("__pycache__"))
        paths = [str(source_of(module).relative_to(ROOT)) for module in COMPILED]
        done = subprocess.run(
            [sys.executable, "-m", "mypyc", *paths],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            say("mypyc failed; the Python sources run. Its output:\n" + (done.stdout + done.stderr)[-4000:])
            return False
        made: list[str] = []
        for built in sorted(work.rglob("*.so")) + sorted(work.rglob("*.pyd")):
            relative = built.relative_to(work)
            if relative.parts[0] == "build":
                continue
            target = ROOT / relative
            shutil.copy2(built, target)
            made.append(str(relative))
    if {module: digest(source_of(module)) for module in COMPILED} != sources:
        say("a source changed while it compiled: run the build again")
        return False
    MANIFEST.write_text(json.dumps({"sources": sources, "binaries": made}, indent=1) + "\n", encoding="utf-8")
    say(f"built {len(made)} files: {', '.join(made)}")
    return True


def clean() -> None:
    """Remove the compiled twins and the manifest (the Python sources run)."""
    for binary in binaries():
        binary.unlink()
    MANIFEST.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m packtrail.native_build {build [--if-stale] | status | clean}``."""
    parser = argparse.ArgumentParser(
        prog="python -m packtrail.native_build", description=(__doc__ or "").splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="compile the listed modules with mypyc")
    make.add_argument("--if-stale", action="store_true", help="only when a source changed or none are built")
    commands.add_parser("status", help="say whether the compiled modules run")
    commands.add_parser("clean", help="remove the compiled modules")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(if_stale=args.if_stale)
        return 0  # the Python sources are a working fallback: a failed build fails nothing
    if args.command == "clean":
        clean()
        return 0
    state = status()
    print(("native: " if state.native else "python: ") + state.reason)
    return 0


if __name__ == "__main__":
    sys.exit(main())
