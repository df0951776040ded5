"""pytest settings for the whole checkout.

While the compiled twins run (:mod:`packtrail.native`), a listed module is imported from its extension,
not from the ``.py`` file that ``--doctest-modules`` would collect: pytest refuses that mix. Their
doctests run from the sources instead, in ``tests/test_native.py``.
"""

from packtrail import native

collect_ignore = (
    [str(native.source_of(module)) for module in native.COMPILED] if native.status().native else []
)
