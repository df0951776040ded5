"""A short-lived memory of answers the store gives on every request: who an API key belongs to, the
extension namespaces seen in captures.

A repository answers each query after two small reads of its own — the caller's API key, and the
namespace prefixes a query may use — each a round trip to PostgreSQL (and a connection from the pool)
before the query itself. :class:`Recent` keeps such an answer for :data:`KEEP_SECONDS`: long enough
that a steady stream of requests reads each once a second, short enough that a key revoked, or a
namespace captured, by another process (``packtrail parties revoke``, a second server) counts within
that second. The process that revokes or captures forgets at once (:meth:`Recent.forget`).

>>> clock = [0.0]
>>> recent = Recent(keep=1.0, clock=lambda: clock[0])
>>> reads = []
>>> def read() -> str:
...     reads.append(1)
...     return "answer"
>>> recent.get("k", read), recent.get("k", read), len(reads)
('answer', 'answer', 1)
>>> clock[0] = 1.5
>>> recent.get("k", read), len(reads)
('answer', 2)
>>> recent.forget()
>>> recent.get("k", read), len(reads)
('answer', 3)
>>> recent.peek("k"), recent.peek("other")
((True, 'answer'), (False, None))
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Final, Generic, TypeVar

__all__ = ["KEEP_SECONDS", "Recent"]

KEEP_SECONDS: Final = 1.0
"""How long an answer is kept (see the module)."""

_V = TypeVar("_V")


class Recent(Generic[_V]):
    """Answers by key, each kept ``keep`` seconds (at most ``limit`` of them; the oldest go first)."""

    def __init__(
        self, *, keep: float = KEEP_SECONDS, limit: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.keep = keep
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[Hashable, tuple[float, _V]] = {}

    def get(self, key: Hashable, read: Callable[[], _V]) -> _V:
        """The answer for ``key``: the kept one while fresh, else ``read()`` (then kept)."""
        now = self._clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.keep:
            return kept[1]
        value = read()
        with self._lock:
            if len(self._kept) >= self.limit:
                for old in list(self._kept)[: self.limit // 2]:
                    del self._kept[old]
            self._kept[key] = (now, value)
        return value

    def peek(self, key: Hashable) -> tuple[bool, _V | None]:
        """``(True, answer)`` while a fresh answer is kept for ``key``, else ``(False, None)``: never reads
        (for callers that must not block, such as an event loop)."""
        now = self._clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.keep:
            return True, kept[1]
        return False, None

    def forget(self) -> None:
        """Drop every kept answer (this process changed what they were read from)."""
        with self._lock:
            self._kept.clear()
