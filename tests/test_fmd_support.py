"""A national node's store seeded for tests: one product (GTIN, owned by ``mah-1``, market DE), batch B1
expiring 2030-12-31, and active packs with the serials asked for."""

from __future__ import annotations

from collections.abc import Sequence

from packtrail.fmd.storage import Storage, open_storage

GTIN = "09506000134352"
UPLOADED_US = 1_700_000_000_000_000


def seeded_national_storage(store_url: str, serials: Sequence[str]) -> Storage:
    """Open a DE national store at ``store_url`` holding :data:`GTIN` batch B1 and ``serials`` (ACTIVE)."""
    opened = open_storage(store_url, role="national", market="DE")
    with opened.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO fmd_products (product_code, scheme, name, owner, uploaded_us) "
            f"VALUES ('{GTIN}', 'GTIN', 'Testamol', 'mah-1', {UPLOADED_US})"
        )
        conn.exec_driver_sql(
            f"INSERT INTO fmd_product_markets (product_code, market, position) VALUES ('{GTIN}', 'DE', 0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO fmd_batches (product_code, batch, expiry, expiry_date, markets, uploaded_us) "
            f"VALUES ('{GTIN}', 'B1', '301231', '2030-12-31', 'DE', {UPLOADED_US})"
        )
        for serial in serials:
            conn.exec_driver_sql(
                "INSERT INTO fmd_packs (product_code, serial, batch, state, uploaded_us) "
                f"VALUES ('{GTIN}', '{serial}', 'B1', 'ACTIVE', {UPLOADED_US})"
            )
    return opened
