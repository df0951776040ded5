"""The end user's side of DR Art. 30: when the repository cannot be reached, keep the scan, send it later.

A pharmacy that cannot reach its national system at the time of supply must
record the unique identifier and verify and decommission it as soon as the
system is back. :class:`OfflineQueue` does that durably: it sends a transaction,
and when the node is unreachable or answers "temporarily unavailable"
(``NMVS_TI_RT_02``, HTTP 503) it stores the request — with its ``clientTrxId``,
so that a replay whose answer was lost is answered again, never applied twice —
in a small SQLite file; :meth:`OfflineQueue.replay` sends the stored requests in
order once the node answers.

>>> import tempfile
>>> queue = OfflineQueue(f"{tempfile.mkdtemp()}/queue.db", "http://127.0.0.1:9", "fmd_key", timeout=0.5)
>>> queue.send("G120", {"scan": "(01)09506000134352(17)281231(10)B1(21)S1"}) is None
True
>>> queue.pending()
1
>>> queue.close()
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson

__all__ = ["OfflineQueue"]


class OfflineQueue:
    """Send NMVS transactions to one national system, queueing them durably while it is unreachable."""

    def __init__(self, path: str | Path, base_url: str, api_key: str, *, timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout, headers={"authorization": f"Bearer {api_key}"})
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS queued (seq INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL, "
            "body TEXT NOT NULL)"
        )

    def close(self) -> None:
        """Close the HTTP client and the queue file."""
        self._http.close()
        self._db.close()

    def _post(self, code: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            response = self._http.post(f"{self.base_url}/fmd/v1/packs/{code}", content=orjson.dumps(body))
        except httpx.TransportError:
            return None
        if response.status_code == 503:
            return None
        answer: dict[str, Any] = response.json()
        return answer

    def send(self, code: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """Send one transaction; returns the node's answer, or None when it was queued for later.

        A body without ``clientTrxId`` gets a fresh one first, so a later replay stays idempotent.
        """
        request = dict(body)
        request.setdefault("clientTrxId", f"offline-{uuid.uuid4()}")
        if self.pending():  # keep the order: nothing overtakes what is already waiting
            self._store(code, request)
            return None
        answer = self._post(code, request)
        if answer is None:
            self._store(code, request)
        return answer

    def _store(self, code: str, request: Mapping[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO queued (code, body) VALUES (?, ?)", (code, orjson.dumps(request).decode())
        )

    def pending(self) -> int:
        """How many transactions wait to be sent."""
        row = self._db.execute("SELECT count(*) FROM queued").fetchone()
        return int(row[0])

    def replay(self) -> list[dict[str, Any]]:
        """Send the waiting transactions in order until one cannot go out; returns the answers received.

        Each is removed from the queue only after the node answered it.
        """
        answers: list[dict[str, Any]] = []
        for seq, code, body in self._db.execute("SELECT seq, code, body FROM queued ORDER BY seq").fetchall():
            answer = self._post(code, orjson.loads(body))
            if answer is None:
                break
            self._db.execute("DELETE FROM queued WHERE seq = ?", (seq,))
            answers.append(answer)
        return answers
