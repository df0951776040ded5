"""The compiled twins (packtrail.native): they run only while current, and they answer exactly as the
Python sources do.

Equivalence is shown two ways: each compiled module beside a fresh copy of its own source loaded under
another name in this process (hypothesis drives both with the same events), and the whole worker step
(:func:`~packtrail.store.capture_workers.check_slice`: hash, schema, rules, index rows) run here and in
a process that runs the Python sources only (``PACKTRAIL_PURE_PYTHON=1``), on every example event and
mutations of them.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packtrail import native, native_build
from packtrail.epcis import fast_validator, hashing, rules
from packtrail.epcis.issues import IssueCollector
from packtrail.store import capture_workers, index_rows

DATA = Path(__file__).parent / "data"
SRC = Path(native.__file__).resolve().parent.parent

needs_twins = pytest.mark.skipif(
    not native.status().native, reason=f"compiled twins not running: {native.status().reason}"
)


def _pure(module: ModuleType) -> ModuleType:
    """A fresh copy of ``module`` run from its ``.py`` source, under another name."""
    name = f"_pure_{module.__name__.replace('.', '_')}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, native.source_of(module.__name__))
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    sys.modules[name] = copy  # dataclasses look their module up while the class is made
    spec.loader.exec_module(copy)
    return copy


def _example_events() -> list[Any]:
    """Every event of the JSON-LD examples the tests carry."""
    events: list[Any] = []
    for path in sorted(DATA.rglob("*.json*")):
        try:
            doc = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            continue
        body = doc.get("epcisBody") if isinstance(doc, dict) else None
        if isinstance(body, dict):
            found = body.get("eventList") or ([body["event"]] if "event" in body else [])
            if isinstance(found, list):
                events.extend(found)
    return events


def _mutations(event: Any) -> Iterator[Any]:
    """``event``, then it with each member dropped, and each member's value swapped for the wrong kind."""
    yield event
    if not isinstance(event, dict):
        return
    for key in event:
        yield {k: v for k, v in event.items() if k != key}
        for wrong in (None, 7, "", [], {}, ["x"], {"id": 3}, "2024-13-45T99:00:00Z"):
            yield {**event, key: wrong}


# -- the guard -------------------------------------------------------------------------------------------


def test_pure_python_turns_the_twins_off() -> None:
    code = "import json, packtrail.native as n, importlib; print(json.dumps([importlib.import_module(m).__file__ for m in n.COMPILED]))"
    env = {**os.environ, native.PURE_PYTHON_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True, check=True
    )
    files = json.loads(done.stdout)
    assert [Path(f).suffix for f in files] == [".py"] * len(native.COMPILED)


@needs_twins
def test_current_twins_are_what_import_gives() -> None:
    for name in native.COMPILED:
        module = importlib.import_module(name)
        assert not str(module.__file__).endswith(".py"), name


def test_a_changed_source_sets_every_twin_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = tmp_path / "native.json"
    sources = {m: native.digest(native.source_of(m)) for m in native.COMPILED}
    monkeypatch.setattr(native, "MANIFEST", manifest)
    monkeypatch.setattr(native, "binaries", lambda **_: [tmp_path / "fake.so"])
    manifest.write_text(json.dumps({"sources": sources}))
    assert native.status({}).native
    assert not native.status({native.PURE_PYTHON_ENV: "1"}).native
    changed = native.COMPILED[-1]
    manifest.write_text(json.dumps({"sources": {**sources, changed: "0" * 64}}))
    state = native.status({})
    assert not state.native and state.binaries
    assert changed in state.reason and "make install" in state.reason
    manifest.write_text("{not json")
    assert "native.json" in native.status({}).reason


def test_without_twins_the_sources_run_and_say_how_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "binaries", lambda **_: [])
    state = native.status({})
    assert not state.native and not state.binaries and "make install" in state.reason


def test_the_finder_hands_out_the_source() -> None:
    finder = native._SourceFinder()
    spec = finder.find_spec("packtrail.epcis.hashing", None)
    assert spec is not None and str(spec.origin).endswith("hashing.py")
    assert finder.find_spec("packtrail.epcis.document", None) is None


# -- the same answers ------------------------------------------------------------------------------------

EXAMPLES = _example_events()
NAMESPACES = {"example": "https://ns.example.com/epcis/", "ext1": "http://example.com/ext1/"}


def _hash_or_error(hasher: Any, event: Any) -> str:
    try:
        return str(hasher.prehash(event)) + " " + str(hasher.hash(event))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _issues(module_check: Any, event: Any) -> list[Any]:
    out = IssueCollector(max_issues=1 << 20)
    module_check(event, "/epcisBody/eventList/0", out)
    return list(out.issues)


def _rule_issues(rules_module: ModuleType, event: Any) -> list[Any]:
    out = IssueCollector(max_issues=1 << 20)
    rules_module.RuleChecker(out, binding="json", schema_ran=True).check_event(event, "/e/0")
    return list(out.issues)


def _rows(rows_module: ModuleType, event: Any) -> Any:
    try:
        return repr(rows_module.event_rows(event, NAMESPACES))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def test_example_events_are_many() -> None:
    assert len(EXAMPLES) > 100


@needs_twins
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(EXAMPLES),
    key=st.text(max_size=12),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8,
    ),
)
def test_each_twin_answers_as_its_source(base: Any, key: str, value: Any) -> None:
    pure_hashing, pure_validator = _pure(hashing), _pure(fast_validator)
    pure_rules, pure_rows = _pure(rules), _pure(index_rows)
    assert str(pure_hashing.__file__).endswith(".py") and not str(hashing.__file__).endswith(".py")
    keys = list(base) if isinstance(base, dict) else []
    for event in (base, {**base, key: value}, {**base, **{k: value for k in keys[:1]}}):
        assert _hash_or_error(hashing.EventHasher(NAMESPACES), event) == _hash_or_error(
            pure_hashing.EventHasher(NAMESPACES), event
        )
        assert _issues(fast_validator.check_one, event) == _issues(pure_validator.check_one, event)
        assert _rule_issues(rules, event) == _rule_issues(pure_rules, event)
        assert _rows(index_rows, event) == _rows(pure_rows, event)


_SLICE_SCRIPT = """
import pickle, sys
from packtrail.store import capture_workers
payload, namespaces = pickle.load(sys.stdin.buffer)
sys.stdout.buffer.write(pickle.dumps(capture_workers.answers_of(
    capture_workers.check_slice(payload, namespaces, frozenset(), "/epcisBody/eventList", 0))))
"""


@needs_twins
def test_the_worker_step_answers_as_the_python_sources_do() -> None:
    events = [mutated for event in EXAMPLES for mutated in _mutations(event)]
    payload = orjson.dumps(events)
    here = capture_workers.answers_of(
        capture_workers.check_slice(payload, NAMESPACES, frozenset(), "/epcisBody/eventList", 0)
    )
    env = {**os.environ, native.PURE_PYTHON_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-c", _SLICE_SCRIPT],
        input=pickle.dumps((payload, NAMESPACES)),
        env=env,
        capture_output=True,
        check=True,
    )
    there = pickle.loads(done.stdout)
    assert len(here) == len(there) == len(events) > 2000
    assert sum(1 for answer in here if answer[3]) > 100  # events with errors are among them
    for index, (compiled, pure) in enumerate(zip(here, there, strict=True)):
        assert compiled == pure, (index, events[index])


@needs_twins
@pytest.mark.parametrize("name", native.COMPILED)
def test_the_doctests_of_a_compiled_module_pass_in_its_source(name: str) -> None:
    """``--doctest-modules`` cannot collect a compiled module (conftest.py sets it aside): its examples
    run here, in a copy run from the source."""
    found = doctest.testmod(_pure(importlib.import_module(name)), verbose=False, report=False)
    assert found.failed == 0, f"{found.failed} of {found.attempted} examples of {name} failed"


def test_without_a_compiler_the_build_says_so_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = native.status()
    monkeypatch.setattr(native_build, "_compiler", lambda: None)
    assert native_build.build() is False
    assert "no C compiler" in capsys.readouterr().err
    assert native.status() == before  # what was built stays, current or not


@needs_twins
def test_a_build_of_current_twins_is_a_no_op(capsys: pytest.CaptureFixture[str]) -> None:
    built = {path: path.stat().st_mtime_ns for path in native.binaries()}
    assert native_build.build(if_stale=True) is True
    assert "current" in capsys.readouterr().err
    assert {path: path.stat().st_mtime_ns for path in native.binaries()} == built
