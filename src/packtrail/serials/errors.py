"""The errors of :mod:`packtrail.serials`: one hierarchy under :class:`SerialError`.

Each error names the field that is wrong and what was expected. A refused allocation carries the
guess probability it would have caused, exactly (a :class:`~fractions.Fraction`):

>>> from fractions import Fraction
>>> err = GuessProbabilityError("04012345111118", issued=9, requested=2, number_space=100_000,
...                             bound=Fraction(1, 10_000))
>>> err.probability, float(err.probability)
(Fraction(11, 100000), 0.00011)
>>> print(err)
GTIN 04012345111118: 9 issued + 2 requested = 11 serials in a number space of 100,000 would make \
the probability of guessing a valid serial 11/100,000 = 1.100e-04; it must stay below 1/10,000 \
(EU Delegated Regulation 2016/161 Art. 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

__all__ = [
    "GuessProbabilityError",
    "NoSuchAllocationError",
    "SerialError",
    "SerialGenerationError",
    "SerialPolicyError",
    "SerialReturnError",
]


class SerialError(Exception):
    """Base of every error raised by :mod:`packtrail.serials`."""


class SerialPolicyError(SerialError, ValueError):
    """A field of a request is invalid: an alphabet, a length, a GTIN, a GLN or a count."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        """The field that is wrong (``alphabet``, ``length``, ``gtin``, ``to``, ``count``...)."""
        self.reason = reason
        """What is wrong with it and what was expected."""
        super().__init__(f"{field}: {reason}")


class GuessProbabilityError(SerialError):
    """Issuing the requested serials would make a valid serial too easy to guess.

    The EU rule (Delegated Regulation 2016/161 Art. 4(b)): the probability that a serial guessed at
    random is a valid one must be negligible and in any case below 1 in 10,000. The probability is
    ``(serials issued for the GTIN + serials requested) / number space``.
    """

    def __init__(self, gtin: str, *, issued: int, requested: int, number_space: int, bound: Fraction) -> None:
        self.gtin = gtin
        """The GTIN-14 whose serials were asked for."""
        self.issued = issued
        """Serials already issued for the GTIN (returned ones included: they stay burned)."""
        self.requested = requested
        """Serials asked for (0 when a pool configuration is refused for a GTIN already at the bound)."""
        self.number_space = number_space
        """How many different serials the pool's alphabet and length can spell."""
        self.bound = bound
        """The limit the probability must stay below (1/10,000 unless configured stricter)."""
        self.probability = Fraction(issued + requested, number_space)
        """The guess probability the request would have caused."""
        total = issued + requested
        super().__init__(
            f"GTIN {gtin}: {issued:,} issued + {requested:,} requested = {total:,} serials in a number space "
            f"of {number_space:,} would make the probability of guessing a valid serial "
            f"{total:,}/{number_space:,} = {float(self.probability):.3e}; it must stay below "
            f"{bound.numerator:,}/{bound.denominator:,} (EU Delegated Regulation 2016/161 Art. 4)"
        )


class NoSuchAllocationError(SerialError, LookupError):
    """No allocation has this id (or the caller may not see it)."""

    def __init__(self, allocation_id: int) -> None:
        self.allocation_id = allocation_id
        super().__init__(f"allocation: no allocation {allocation_id}")


class SerialReturnError(SerialError):
    """A return names serials that were not issued in the allocation; nothing was returned."""

    def __init__(self, allocation_id: int, foreign: Sequence[str], total: int) -> None:
        self.allocation_id = allocation_id
        self.foreign = list(foreign)
        """Up to 10 of the serials that are not part of the allocation."""
        shown = ", ".join(repr(serial) for serial in self.foreign)
        super().__init__(
            f"serials: {total:,} of the returned serials were not issued in allocation {allocation_id} "
            f"(e.g. {shown}); nothing was returned"
        )


class SerialGenerationError(SerialError):
    """The random source kept producing serials that exist already: it is not random."""
