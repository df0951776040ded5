"""Products and batches kept in memory by the node that owns the store.

A verify reads the pack, its product and its batch. Products and batches change
only through the hub's deliveries (upload, recall, withdrawal), which reach the
national system through the same process; so the process keeps them in memory and
forgets them all whenever a delivery commits. A read that raced with a delivery is
not kept: each read notes the generation it started in and stores its result only
if no delivery committed meanwhile. Unknown product codes are remembered too (an
intermarket product is asked for again and again); the memory holds at most
:data:`MAX_ENTRIES` entries of each kind.

One store, one node process: several processes writing one store would not see
each other's deliveries.

>>> cache = MasterData()
>>> calls = []
>>> def load() -> str | None:
...     calls.append(1)
...     return "Examplin"
>>> cache.product("09506000134352", load), cache.product("09506000134352", load), len(calls)
('Examplin', 'Examplin', 1)
>>> cache.forget()
>>> cache.product("09506000134352", load), len(calls)
('Examplin', 2)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, Generic, TypeVar

__all__ = ["MAX_ENTRIES", "MasterData"]

MAX_ENTRIES: Final = 50_000
"""Entries kept per kind before the memory starts over."""

_K = TypeVar("_K")
_V = TypeVar("_V")
_P = TypeVar("_P")
_B = TypeVar("_B")
_MISSING: Final = object()


class _Memo(Generic[_K, _V]):
    """One kind of entry: values (None for "not on file") by key, filled only within one generation."""

    def __init__(self) -> None:
        self.values: dict[_K, _V | None] = {}
        self.generation = 0
        self.lock = threading.Lock()

    def get(self, key: _K, load: Callable[[], _V | None]) -> _V | None:
        value = self.values.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]  # _MISSING is the only non-_V value
        generation = self.generation
        loaded = load()
        with self.lock:
            if generation == self.generation:
                if len(self.values) >= MAX_ENTRIES:
                    self.values.clear()
                self.values[key] = loaded
        return loaded

    def forget(self) -> None:
        with self.lock:
            self.generation += 1
            self.values.clear()


class MasterData(Generic[_P, _B]):
    """Products by product code and batches by ``(product code, batch)``, with generation-checked fills."""

    def __init__(self) -> None:
        self._products: _Memo[str, _P] = _Memo()
        self._batches: _Memo[tuple[str, str], _B] = _Memo()

    def product(self, product_code: str, load: Callable[[], _P | None]) -> _P | None:
        """The product, from memory or from ``load()`` (then kept unless a delivery came meanwhile)."""
        return self._products.get(product_code, load)

    def batch(self, product_code: str, batch: str, load: Callable[[], _B | None]) -> _B | None:
        """The batch, from memory or from ``load()``."""
        return self._batches.get((product_code, batch), load)

    def forget(self) -> None:
        """A delivery committed: forget everything (call after the commit)."""
        self._products.forget()
        self._batches.forget()
