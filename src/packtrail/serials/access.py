"""Who may manage the serials of a GTIN: its brand owner, recognised by the GS1 Company Prefix.

A GTIN starts (after its indicator digit) with the GS1 Company Prefix of the company that owns the
trade item; the GLNs of that company's sites and parties start with the same prefix. On a node,
the local administrator (``party=None``) and any party whose GLN carries the GTIN's company prefix
manage the GTIN's serials: create pools, allocate to packaging lines and contract packagers, see
the whole report. Anyone else only sees and returns what was allocated to its own GLN.

>>> manages(None, "04012345111118")
True
>>> manages("4012345000009", "04012345111118"), manages("0614141000005", "04012345111118")
(True, False)

Prefix lengths come from GS1's list (:mod:`packtrail.gs1.gcp`); a GLN or GTIN whose prefix length the
list does not know, or that has none (restricted circulation), manages nothing over the API.
"""

from __future__ import annotations

from packtrail.gs1.errors import GS1Error
from packtrail.gs1.gcp import company_prefix_length, company_prefix_length_at

__all__ = ["manages"]


def manages(party: str | None, gtin14: str) -> bool:
    """True when ``party`` (a GLN, or None for the local administrator) is the brand owner of ``gtin14``."""
    if party is None:
        return True
    try:
        party_length = company_prefix_length_at(party, position=1)
        gtin_length = company_prefix_length(gtin14)
    except GS1Error:
        return False
    if not party_length or party_length != gtin_length:
        return False
    return gtin14[1 : 1 + party_length] == party[:party_length]
