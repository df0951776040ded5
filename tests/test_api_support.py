"""Helpers for the REST tests (``test_api_*.py``): events, documents, and a node over a real store.

No tests here; the other ``test_api_*`` modules import from it (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

with warnings.catch_warnings():  # Starlette suggests httpx2; the test client works with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from packtrail.api import APISettings, create_app
from packtrail.store import Store, open_store

PARTY_A = "4012345000009"
"""GLN of party A (company prefix 4012345, party reference 00000)."""
PARTY_B = "4012345000016"
"""GLN of party B."""
PARTY_C = "0614141000005"
"""GLN of a third party, named as owner in some of B's events."""
PGLN = {
    PARTY_A: "urn:epc:id:pgln:4012345.00000",
    PARTY_B: "urn:epc:id:pgln:4012345.00001",
    PARTY_C: "urn:epc:id:pgln:0614141.00000",
}

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EXAMPLE_NS = "https://ns.example.com/epcis/"


def sgtin(company: str, item: str, serial: int | str) -> str:
    """An SGTIN EPC URN."""
    return f"urn:epc:id:sgtin:{company}.{item}.{serial}"


def object_event(
    epc: str,
    *,
    biz_step: str = "shipping",
    disposition: str = "in_transit",
    event_time: str = "2024-03-01T10:00:00.000+01:00",
    read_point: str = "urn:epc:id:sgln:4012345.00001.0",
    biz_location: str = "urn:epc:id:sgln:4012345.00002.0",
    owner: str | None = None,
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An ObjectEvent OBSERVE of one EPC; ``owner`` (a GLN) names an owning party as destination."""
    event: dict[str, Any] = {"type": "ObjectEvent"}
    if event_id is not None:
        event["eventID"] = event_id
    event.update(
        {
            "eventTime": event_time,
            "eventTimeZoneOffset": event_time[-6:],
            "epcList": [epc],
            "action": "OBSERVE",
            "bizStep": biz_step,
            "disposition": disposition,
            "readPoint": {"id": read_point},
            "bizLocation": {"id": biz_location},
        }
    )
    if owner is not None:
        event["destinationList"] = [{"type": "owning_party", "destination": PGLN[owner]}]
    event.update(extra)
    return event


def document(events: list[dict[str, Any]], *, namespaces: dict[str, str] | None = None) -> bytes:
    """An EPCISDocument in JSON-LD holding ``events``."""
    context: list[Any] = [CONTEXT]
    if namespaces:
        context.append(namespaces)
    return json.dumps(
        {
            "@context": context,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2024-03-01T10:05:00.000Z",
            "epcisBody": {"eventList": events},
        }
    ).encode()


def event_list(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of an EPCISQueryDocument in JSON-LD."""
    events: list[dict[str, Any]] = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return events


@dataclass
class Node:
    """A REST node over a real store, and the API keys of parties A and B."""

    store: Store
    client: TestClient
    key_a: str
    key_b: str

    def headers(self, key: str, **more: str) -> dict[str, str]:
        """``Authorization`` for ``key`` plus ``more`` (underscores in names become dashes)."""
        return {"Authorization": f"Bearer {key}", **{k.replace("_", "-"): v for k, v in more.items()}}

    @property
    def a(self) -> dict[str, str]:
        return self.headers(self.key_a)

    @property
    def b(self) -> dict[str, str]:
        return self.headers(self.key_b)

    def capture(self, key: str, body: bytes, **headers: str) -> dict[str, Any]:
        """POST /capture; asserts 202 and returns the job."""
        response = self.client.post(
            "/epcis/capture",
            content=body,
            headers=self.headers(key, Content_Type="application/ld+json", **headers),
        )
        assert response.status_code == 202, response.text
        job: dict[str, Any] = response.json()
        return job


def make_node(url: str, settings: APISettings | None = None) -> Iterator[Node]:
    """A node over a fresh store at ``url`` with parties A and B registered."""
    store = open_store(url)
    try:
        key_a = store.add_party(PARTY_A, "Alpha Pharma")
        key_b = store.add_party(PARTY_B, "Beta Wholesale")
        store.add_party(PARTY_C, "Gamma Pharmacy")
        app = create_app(store, settings or APISettings())
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Node(store, client, key_a, key_b)
    finally:
        store.close()
