"""The incremental lifecycle projection equals a replay of the event log in eventTime order, whatever
the order events are captured in: random supply-chain event sequences (commissioning, packing into
cases and pallets, unpacking, shipping, receiving, dispensing, destroying, quarantine), captured in
random batches and random order, with eventTimes that go back (late events), repeat (ties) and make no
sense (bad events raise exceptions). On SQLite and PostgreSQL.

After every example the stored rows of its identifiers equal a replay of their events from the log;
at the end :func:`packtrail.lifecycle.rebuild` over the whole store changes nothing.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from conftest import STORE_BACKENDS
from packtrail.lifecycle import catch_up, projector, rebuild
from packtrail.store import Store, open_store
from test_lifecycle_support import (
    MAKER,
    PHARMACY,
    WHOLESALER,
    aggregate,
    commission,
    document,
    observe,
    pack,
    projected,
    replayed,
    shared_store,
    snapshot,
    sscc,
)

_EXAMPLES = itertools.count(1)
EXAMPLES = int(os.environ.get("PACKTRAIL_LIFECYCLE_EXAMPLES", "30"))
"""Random event sequences per variant and backend (raise it to search longer)."""
PARTIES = [MAKER, WHOLESALER, PHARMACY]
STEPS = [
    ("shipping", "in_transit", "OBSERVE"),
    ("receiving", "in_progress", "OBSERVE"),
    ("dispensing", "dispensed", "OBSERVE"),
    ("destroying", "destroyed", "DELETE"),
    ("decommissioning", "stolen", "OBSERVE"),
    ("holding", "no_pedigree_match", "OBSERVE"),
    ("inspecting", None, "OBSERVE"),
    ("storing", "recalled", "OBSERVE"),
]


@pytest.fixture(scope="module", params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from shared_store(request, tmp_path_factory)


times = st.integers(min_value=0, max_value=8)  # few distinct times: ties and late events are common
some = st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=3, unique=True)


@pytest.mark.parametrize(
    ("chunk", "pending", "mixed", "threaded"),
    [
        (4096, 200_000, False, False),
        (2, 200_000, False, False),
        (2, 4, False, False),
        (2, 200_000, True, False),
        (2, 200_000, False, True),
        (2, 4, False, True),
    ],
    ids=["whole", "chunked", "flushing", "catching-up", "early", "early-flushing"],
)
def test_incremental_projection_equals_replay(
    store: Store, monkeypatch: pytest.MonkeyPatch, chunk: int, pending: int, mixed: bool, threaded: bool
) -> None:
    """``chunked``: capture hands the projector two events at a time and the projector applies them two
    at a time, so one capture spans many steps held in memory; ``flushing``: the projector also writes
    out whenever it holds more than four items; ``catching-up``: some captures go through a store
    without the projector, whose events the next projected capture (or the end) applies from the log;
    ``early``: every capture writes in its own thread, and the projector applies steps in capture order
    while the writer still inserts (:meth:`LifecycleProjector.advance`) until a step is out of eventTime
    order, the rest at the flush; ``early-flushing``: and writes out whenever it holds four items."""
    from packtrail.store import capture as capture_module

    early_steps: list[tuple[bool, bool]] = []  # (a step applied, still in eventTime order)
    if threaded:
        monkeypatch.setattr(capture_module, "THREAD_MIN_EVENTS", 1)
        advance = projector.LifecycleProjector.advance

        def counting_advance(self: projector.LifecycleProjector, connection: Any) -> bool:
            applied = advance(self, connection)
            early_steps.append((applied, self._in_order))
            return applied

        monkeypatch.setattr(projector.LifecycleProjector, "advance", counting_advance)
    monkeypatch.setattr(capture_module, "CHUNK_EVENTS", chunk)
    monkeypatch.setattr(projector, "APPLY_EVENTS", chunk)
    monkeypatch.setattr(projector, "CHUNK", chunk)
    monkeypatch.setattr(projector, "MAX_PENDING", pending)
    plain = open_store(store.engine.url.render_as_string(hide_password=False)) if mixed else store
    recomputed = []
    original = projector.recompute

    def counting(db: Any, epcs: set[str], *rest: Any) -> None:
        recomputed.append(len(epcs))
        original(db, epcs, *rest)

    monkeypatch.setattr(projector, "recompute", counting)

    class SupplyChain(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            n = next(_EXAMPLES)
            self.packs = [pack(f"S{n}N{i}") for i in range(5)]
            self.cases = [sscc(n * 100 + i) for i in range(3)]
            self.pallets = [sscc(n * 100 + 50), sscc(n * 100 + 51)]
            self.pending: list[dict[str, Any]] = []
            self.sequence = 0

        @property
        def identifiers(self) -> set[str]:
            return {*self.packs, *self.cases, *self.pallets}

        def add(self, event: dict[str, Any]) -> None:
            self.sequence += 1
            event["eventID"] = f"urn:uuid:{uuid.uuid4()}"
            event["packtrail:sequence"] = self.sequence  # no two events hash alike
            self.pending.append(event)

        @rule(which=some, minutes=times)
        def commission(self, which: list[int], minutes: int) -> None:
            self.add(commission([self.packs[i] for i in which], minutes))

        @rule(case=st.integers(0, 2), which=some, minutes=times, action=st.sampled_from(["ADD", "OBSERVE"]))
        def pack_case(self, case: int, which: list[int], minutes: int, action: str) -> None:
            self.add(aggregate(self.cases[case], [self.packs[i] for i in which], minutes, action=action))

        @rule(
            pallet=st.integers(0, 1),
            which=st.lists(st.integers(0, 2), min_size=1, max_size=2, unique=True),
            minutes=times,
        )
        def palletise(self, pallet: int, which: list[int], minutes: int) -> None:
            self.add(aggregate(self.pallets[pallet], [self.cases[i] for i in which], minutes))

        @rule(
            container=st.integers(0, 4),
            which=st.lists(st.integers(0, 4), max_size=2, unique=True),
            minutes=times,
        )
        def unpack(self, container: int, which: list[int], minutes: int) -> None:
            parent = (self.cases + self.pallets)[container]
            pool = self.packs if container < 3 else self.cases
            children = [pool[i] for i in which if i < len(pool)]
            self.add(aggregate(parent, children, minutes, action="DELETE"))

        @rule(
            chosen=st.lists(st.integers(0, 9), min_size=1, max_size=2, unique=True),
            step=st.sampled_from(STEPS),
            seller=st.sampled_from([None, *PARTIES]),
            buyer=st.sampled_from([None, *PARTIES]),
            site=st.sampled_from([None, *PARTIES]),
            minutes=times,
        )
        def observe(
            self,
            chosen: list[int],
            step: tuple[str, str | None, str],
            seller: str | None,
            buyer: str | None,
            site: str | None,
            minutes: int,
        ) -> None:
            everything = self.packs + self.cases + self.pallets
            biz_step, disposition, action = step
            event = observe(
                [everything[i] for i in chosen],
                minutes,
                biz_step,
                disposition=disposition,
                seller=seller,
                buyer=buyer,
                site=site,
                action=action,
            )
            self.add(event)

        @precondition(lambda self: bool(self.pending))
        @rule(data=st.data())
        def capture(self, data: st.DataObject) -> None:
            batch = data.draw(st.permutations(self.pending))
            split = data.draw(st.integers(1, len(batch)))
            for part in (batch[:split], batch[split:]):
                if part:
                    through = data.draw(st.sampled_from([store, plain]))
                    result = through.capture(document(part))
                    assert result.success, result.errors
            self.pending = []

        def teardown(self) -> None:
            if self.pending:
                assert store.capture(document(self.pending)).success
            catch_up(store)
            ids = self.identifiers
            assert projected(store, ids) == replayed(store, ids)

    run_state_machine_as_test(
        SupplyChain,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=14,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
    if mixed:
        plain.close()
    assert recomputed, "no late event was generated: the recomputation path went untested"
    if threaded:
        assert any(applied for applied, _ in early_steps), "no step was applied while capture wrote"
        assert not all(in_order for _, in_order in early_steps), "the fall-back to the flush went untested"
    before = snapshot(store)
    rebuild(store)
    assert snapshot(store) == before
