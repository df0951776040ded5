"""The FMD store's migrations: a new store and an older one reach the same schema."""

from __future__ import annotations

from conftest import fresh_schema
from packtrail.fmd.storage import open_storage


def test_postgresql_packs_keep_room_for_their_state_changes(postgres_url: str) -> None:
    """fmd0003: the pack table's pages are filled to 85 %, so a state change stays on its page (a
    heap-only update, no new index entry); an older store gets the setting when it opens."""
    with fresh_schema(postgres_url) as url:
        storage = open_storage(url, role="national", market="DE")
        with storage.write() as conn:
            options = conn.exec_driver_sql(
                "SELECT reloptions FROM pg_class WHERE oid = 'fmd_packs'::regclass"
            ).scalar_one()
            assert options == ["fillfactor=85"]
            # An older store: as revision fmd0002 left it.
            conn.exec_driver_sql("ALTER TABLE fmd_packs RESET (fillfactor)")
            conn.exec_driver_sql("UPDATE packtrail_fmd_version SET version_num = 'fmd0002'")
        storage.close()
        reopened = open_storage(url, role="national", market="DE")
        with reopened.read() as conn:
            options = conn.exec_driver_sql(
                "SELECT reloptions FROM pg_class WHERE oid = 'fmd_packs'::regclass"
            ).scalar_one()
        reopened.close()
        assert options == ["fillfactor=85"]
