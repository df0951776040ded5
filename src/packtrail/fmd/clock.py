"""The repository's clock: real time, or a time a test sets.

Every rule that involves time (the 240-hour undo window, batch expiry, audit
retention) reads "now" from the node's :class:`Clock`, never from the system
directly. A node started with ``--clock-control`` lets a test set it over HTTP
(``POST /admin/clock``); after a set, time keeps running from the new value, so
two requests a moment apart still get distinct, ordered times.

>>> from datetime import datetime, timedelta, timezone
>>> clock = Clock()
>>> clock.set(datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc))
>>> clock.now() - datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc) < timedelta(seconds=5)
True
>>> clock.advance(timedelta(hours=241))
>>> clock.now().isoformat()[:13]
'2026-03-11T10'
>>> clock.set(datetime(2026, 3, 1, 9, 0))
Traceback (most recent call last):
...
ValueError: now: expected a timezone-aware time, found datetime.datetime(2026, 3, 1, 9, 0)
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "from_us", "to_us"]


class Clock:
    """Real UTC time plus an offset that :meth:`set` and :meth:`advance` move (thread-safe)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The repository's current time (timezone-aware UTC)."""
        return datetime.now(UTC) + self._offset

    def set(self, now: datetime) -> None:
        """Make the current time ``now`` (it keeps running from there)."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"now: expected a timezone-aware time, found {now!r}")
        with self._lock:
            self._offset = now - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move the current time by ``delta`` (forward or back)."""
        with self._lock:
            self._offset += delta

    @property
    def controlled(self) -> bool:
        """True once a test moved the clock away from real time."""
        return self._offset != timedelta(0)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch (how the store keeps times).

    >>> to_us(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))
    1000000
    """
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(microseconds: int) -> datetime:
    """The UTC time ``microseconds`` after the Unix epoch (the inverse of :func:`to_us`).

    >>> from_us(1_000_000).isoformat()
    '1970-01-01T00:00:01+00:00'
    """
    return _EPOCH + timedelta(microseconds=microseconds)
