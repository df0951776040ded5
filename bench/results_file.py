"""``bench/RESULTS.md``: each benchmark owns one marked section, replaced in place on every run."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path


def machine() -> str:
    """The facts a figure depends on: cores, Python, architecture, system."""
    return f"{os.cpu_count()} CPUs (nproc), Python {platform.python_version()}, {platform.machine()}, {platform.system()}"


def write_results(path: Path, sections: dict[str, tuple[str, str]], command: str) -> None:
    """Replace (or append) one marked section per benchmark, ``key -> (title, body)``, stamped with
    the command that made it, the date and the machine."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    stamp = f"`{command}` on {datetime.date.today().isoformat()}, {machine()}."
    for key, (title, body) in sections.items():
        start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
        block = f"{start}\n## {title}\n\n{stamp}\n\n{body}\n{end}"
        if start in text and end in text:
            head, _, rest = text.partition(start)
            _, _, tail = rest.partition(end)
            text = head + block + tail
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
