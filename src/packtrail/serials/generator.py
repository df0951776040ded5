"""Random serial numbers from a cryptographically secure source, a million at a time.

Each character is drawn independently and uniformly from the policy's alphabet, from bytes of the
operating system's CSPRNG (:func:`os.urandom`, the source :mod:`secrets` uses). A byte has 256 values;
an alphabet of ``k`` characters takes the byte ``b`` as character ``b % k`` only when
``b < 256 - 256 % k`` and throws the other bytes away (rejection sampling). Taking every byte
``% k`` would favour the first ``256 % k`` characters: with the 82 characters of GS1 character set
82 the first ten would come up a third more often than the rest, and serials would be easier to
guess than the number space promises.

The work runs in C: one :meth:`bytes.translate` call maps the accepted bytes to characters and deletes
the rejected ones, and the characters are cut into serials of the policy's length:

>>> from packtrail.serials.policy import SerialPolicy
>>> generator = SerialGenerator(SerialPolicy.parse("numeric", 12))
>>> serials = generator.draw(3)
>>> len(serials), {len(s) for s in serials}, all(s.isdigit() for s in serials)
(3, {12}, True)

Serials are not checked for uniqueness here (two draws may repeat, with the small probability the
number space gives); :class:`~packtrail.serials.service.SerialService` makes them unique per GTIN.
A test may pass its own byte source (``random_bytes``) to replay a sequence.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from packtrail.serials.policy import SerialPolicy

__all__ = ["RandomBytes", "SerialGenerator"]

RandomBytes = Callable[[int], bytes]
"""A source of random bytes: ``n -> n bytes`` (default :func:`os.urandom`)."""

_OVERDRAW: Final = 16
"""Draw 1/16 more bytes than characters needed, so one draw nearly always suffices after rejections."""


class SerialGenerator:
    """Draws uniformly random serials for one :class:`~packtrail.serials.policy.SerialPolicy`."""

    __slots__ = ("_reject", "_table", "policy", "random_bytes")

    def __init__(self, policy: SerialPolicy, random_bytes: RandomBytes = os.urandom) -> None:
        self.policy = policy
        """The alphabet and length of the serials drawn."""
        self.random_bytes = random_bytes
        """Where the randomness comes from."""
        k = len(policy.alphabet)
        limit = 256 - 256 % k
        codes = policy.alphabet.encode("ascii")
        self._table = bytes(codes[b % k] if b < limit else 0 for b in range(256))
        self._reject = bytes(range(limit, 256))

    def characters(self, count: int) -> bytes:
        """``count`` random characters of the alphabet, as ASCII bytes."""
        out = bytearray()
        while len(out) < count:
            want = count - len(out)
            raw = self.random_bytes(want + want // _OVERDRAW + 64)
            out += raw.translate(self._table, self._reject)
        del out[count:]
        return bytes(out)

    def draw(self, count: int) -> list[str]:
        """``count`` random serials (repeats possible, see the module's text)."""
        length = self.policy.length
        text = self.characters(count * length).decode("ascii")
        return [text[i : i + length] for i in range(0, count * length, length)]
