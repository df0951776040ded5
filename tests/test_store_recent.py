"""The store keeps who an API key belongs to, and the namespaces, for a second (packtrail.store.recent)."""

from __future__ import annotations

import time

from packtrail.store import open_store

GLN = "4012345000009"


def test_a_revoked_key_stops_working_here_at_once_and_elsewhere_within_the_keep(store_url: str) -> None:
    server, other = open_store(store_url), open_store(store_url)  # two processes' stores
    try:
        key = server.add_party(GLN, "Pharma Werk")
        assert server.party_for_api_key(key) is not None
        assert other.revoke_api_key(key)  # revoked by another process
        assert server.party_for_api_key(key) is not None  # still kept here, for up to a second
        server._recent_keys.keep = 0.05
        time.sleep(0.06)
        assert server.party_for_api_key(key) is None  # read again: revoked

        second = server.new_api_key(GLN)
        assert server.party_for_api_key(second) is not None
        assert server.revoke_api_key(second)  # revoked here: forgotten at once
        assert server.party_for_api_key(second) is None
        assert server.party_for_api_key("pt_not_a_key") is None
    finally:
        server.close()
        other.close()


def test_a_capture_here_shows_its_namespaces_at_once(store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert "ex" not in store.namespaces()
        document = {
            "@context": [
                "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
                {"ex": "https://ex.example/"},
            ],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2024-01-01T00:00:00Z",
            "epcisBody": {
                "eventList": [
                    {
                        "type": "ObjectEvent",
                        "eventTime": "2024-01-01T00:00:00Z",
                        "eventTimeZoneOffset": "+00:00",
                        "epcList": ["urn:epc:id:sgtin:4012345.066666.1"],
                        "action": "OBSERVE",
                        "ex:note": "x",
                    }
                ]
            },
        }
        import orjson

        assert store.capture(orjson.dumps(document)).captured == 1
        assert store.namespaces().get("ex") == "https://ex.example/"
    finally:
        store.close()
