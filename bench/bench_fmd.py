"""EU repositories system figures: single-pack G110 over HTTP, bulk G125, intermarket verify.

``python bench/bench_fmd.py [--packs N] [--backend sqlite|postgres] [--rate R] [--seconds S]
[--bulk-requests B] [--intermarket-rate R2] [--write bench/RESULTS.md]``

Starts a hub, a DE and an FR national system as real processes (``python -m packtrail.fmd.cli``),
with DE's store on SQLite or PostgreSQL (``$PACKTRAIL_TEST_POSTGRES_URL``, a fresh schema) and
preloaded with N packs of one product by bulk insert (SQLite ``executemany``, PostgreSQL ``COPY``),
then measures, from a load generator in this process (raw HTTP/1.1 on keep-alive connections,
open loop: requests leave on a fixed schedule and latency counts from the scheduled time, so a
stalled server cannot hide its queue; the generator's own garbage collector is off while it sends, so
its pauses are not counted against the node; a PostgreSQL preload is vacuumed and checkpointed, as
a running node's table would be):

1. **G110 verify** of random preloaded packs at ``--rate`` requests/s for ``--seconds``: p50, p95,
   p99, max and the rate achieved. Every request is a full transaction: idempotency record, pack
   lookup by primary key, rules, audit entry with its hash-chain link, committed (requests that
   arrive together share one commit: :mod:`packtrail.fmd.groupcommit`) before the answer leaves.
2. **Bulk G125** (dispense) of ``--bulk-requests`` x 1,000 packs, submitted back to back and
   fetched with G188: packs/s from the first submission to the last job done.
   Also reported: the DE node's CPU time per request (``/proc``), the load generator's, the mean
   number of requests sharing one commit (group commit, from ``/fmd/v1/health``) and the machine's
   load average — on a shared machine the tail follows the load the other processes put on it.
3. **Intermarket G110**: a DE pharmacy verifies packs only FR holds (DE -> hub -> FR and back) at
   ``--intermarket-rate`` for 10 s: p50, p95, p99.

Goals (issue 6): G110 at 1,000/s sustained for 60 s with p95 < 300 ms (the regulation) and p99
<= 5 ms; bulk >= 20,000 packs/s; intermarket p99 <= 25 ms. The figures are printed; with
``--write bench/RESULTS.md`` they replace this benchmark's section (one per backend) of that file.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from cpu_clock import process_cpu  # noqa: E402
from packtrail.fmd.clock import to_us  # noqa: E402
from packtrail.fmd.storage import open_storage  # noqa: E402
from packtrail.gs1.checkdigit import gs1_check_digit  # noqa: E402

DEFAULT_POSTGRES = os.environ.get(
    "PACKTRAIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
KEY = "bench-federation-key"
GTIN = "0950600099001" + gs1_check_digit("0950600099001")
FOREIGN = "0950600099002" + gs1_check_digit("0950600099002")
EXPIRY = "301231"


def serial(n: int) -> str:
    return f"S{n:011d}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- preloading ------------------------------------------------------------------------------------------


def preload(store: str, packs: int) -> str:
    """Create DE's store with one product, one batch and ``packs`` Active packs; return a pharmacy key."""
    storage = open_storage(store, role="national", market="DE")
    _, key = storage.add_client(role="pharmacy", name="Bench Apotheke", client_id="apo-bench", location="L1")
    now_us = to_us(datetime.now(UTC))
    with storage.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO fmd_products (product_code, scheme, name, owner, uploaded_us) VALUES "
            f"('{GTIN}', 'GTIN', 'Benchmarkin 10 mg', 'mah-bench', {now_us})"
        )
        conn.exec_driver_sql(
            f"INSERT INTO fmd_product_markets (product_code, market, position) VALUES ('{GTIN}', 'DE', 0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO fmd_batches (product_code, batch, expiry, expiry_date, markets, uploaded_us) VALUES "
            f"('{GTIN}', 'B1', '{EXPIRY}', '2030-12-31', 'DE', {now_us})"
        )
    started = time.perf_counter()
    chunk = 200_000
    if storage.dialect == "sqlite":
        raw = storage.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for start in range(0, packs, chunk):
                cursor.execute("BEGIN")
                cursor.executemany(
                    "INSERT INTO fmd_packs (product_code, serial, batch, state, uploaded_us) VALUES (?, ?, 'B1', 'ACTIVE', ?)",
                    [(GTIN, serial(n), now_us) for n in range(start, min(start + chunk, packs))],
                )
                cursor.execute("COMMIT")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        import psycopg

        dsn = storage.engine.url.render_as_string(hide_password=False).replace(
            "postgresql+psycopg", "postgresql"
        )
        with (
            psycopg.connect(dsn) as conn,
            conn.cursor().copy(
                "COPY fmd_packs (product_code, serial, batch, state, uploaded_us) FROM STDIN"
            ) as copy,
        ):
            for n in range(packs):
                copy.write_row((GTIN, serial(n), "B1", "ACTIVE", now_us))
        # What a running node's table looks like: vacuumed (hint bits set, visibility map written —
        # autovacuum would have done it; it is off on the benchmark machine) and the preload's WAL
        # checkpointed, so the measured requests do not pay for the bulk load.
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) fmd_packs")
            conn.execute("CHECKPOINT")
    print(f"preloaded {packs:,} packs in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    storage.close()
    return key


# -- nodes -----------------------------------------------------------------------------------------------


class Node:
    def __init__(self, args: list[str], url: str, log: Path) -> None:
        self.url = url
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "packtrail.fmd.cli", *args, "--federation-key", KEY],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait(self, path: str, check: Any = None) -> None:
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}")
            try:
                response = httpx.get(self.url + path, timeout=1.0)
                if response.status_code == 200 and (check is None or check(response.json())):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.url} did not come up")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# -- a small open-loop HTTP load generator -------------------------------------------------------------


def request_bytes(host: str, path: str, key: str, body: dict[str, Any]) -> bytes:
    payload = orjson.dumps(body)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def open_loop(
    host: str, port: int, requests: list[bytes], rate: float, connections: int = 48
) -> tuple[list[float], list[tuple[int, bytes]], float]:
    """Send ``requests`` at ``rate``/s on ``connections`` keep-alive connections; latencies in ms."""
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    answers: list[tuple[int, bytes]] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while (item := await queue.get()) is not None:
            scheduled, data = item
            writer.write(data)
            answer = await _read_response(reader)
            latencies.append((time.perf_counter() - scheduled) * 1000.0)
            answers.append(answer)
        writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter()
    for i, data in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, data))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies, answers, time.perf_counter() - start


def quiet(load: Any) -> Any:
    """Run the coroutine ``load`` with this process's garbage collector off: the load generator keeps
    every answer, and a full collection over them stalls it for tens of milliseconds, which the open
    loop would count against the node."""
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(load)
    finally:
        gc.enable()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid``, to report the server's cost per request."""
    spent = process_cpu(pid)
    if spent is None:
        raise SystemExit(f"bench_fmd reads the server's CPU time from /proc/{pid}/stat: run it on Linux")
    return spent


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


# -- the benchmark ----------------------------------------------------------------------------------------


def bench(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-fmd-"))
    schema = None
    if args.backend == "postgres":
        import psycopg

        schema = f"bench_fmd_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in args.postgres else "?"
        de_store = f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
    else:
        de_store = f"sqlite:///{tmp / 'de.db'}"
    hub_store, fr_store = f"sqlite:///{tmp / 'hub.db'}", f"sqlite:///{tmp / 'fr.db'}"
    apo_key = preload(de_store, args.packs)
    hub_admin = open_storage(hub_store, role="hub")
    _, mah_key = hub_admin.add_client(role="manufacturer", name="Bench Pharma", client_id="mah-bench")
    hub_admin.close()
    ports = {name: free_port() for name in ("hub", "DE", "FR")}
    hub_url = f"http://127.0.0.1:{ports['hub']}"
    nodes = [Node(["hub", "--store", hub_store, "--port", str(ports["hub"])], hub_url, tmp / "hub.log")]
    for market, store in (("DE", de_store), ("FR", fr_store)):
        url = f"http://127.0.0.1:{ports[market]}"
        args_ = [
            "national",
            "--market",
            market,
            "--store",
            store,
            "--hub",
            hub_url,
            "--port",
            str(ports[market]),
        ]
        nodes.append(Node(args_, url, tmp / f"{market}.log"))
    results: dict[str, Any] = {"backend": args.backend, "packs": args.packs}
    try:
        nodes[0].wait("/hub/v1/nodes")
        for node in nodes[1:]:
            node.wait("/fmd/v1/health", lambda body: body["registered"])
        with httpx.Client(timeout=60, headers={"authorization": f"Bearer {mah_key}"}) as mah:
            mah.post(
                f"{hub_url}/hub/v1/products",
                json={"productCode": FOREIGN, "name": "Foreign", "markets": ["FR"]},
            )
            answer = mah.post(
                f"{hub_url}/hub/v1/batches",
                json={
                    "productCode": FOREIGN,
                    "batch": "F1",
                    "expiry": EXPIRY,
                    "serials": [serial(n) for n in range(20_000)],
                },
            )
            assert answer.status_code == 201, answer.text
        rng = random.Random(7)
        host = f"127.0.0.1:{ports['DE']}"

        def g110(gtin: str, n: int, batch: str, i: int) -> bytes:
            body = {"productCode": gtin, "serialNumber": serial(n), "batch": batch, "expiry": EXPIRY,
                    "clientTrxId": f"bench-{i}-{uuid.uuid4().hex[:8]}"}  # fmt: skip
            return request_bytes(host, "/fmd/v1/packs/G110", apo_key, body)

        # Warm-up (connections, caches), not measured.
        warm = [g110(GTIN, rng.randrange(args.packs), "B1", i) for i in range(500)]
        asyncio.run(open_loop("127.0.0.1", ports["DE"], warm, 500))

        total = int(args.rate * args.seconds)
        singles = [g110(GTIN, rng.randrange(args.packs), "B1", i) for i in range(total)]
        de_pid = nodes[1].proc.pid
        commits_before = httpx.get(f"http://{host}/fmd/v1/health").json()["commits"]
        cpu_before, own_before, load_before = cpu_seconds(de_pid), time.process_time(), os.getloadavg()[0]
        latencies, answers, took = quiet(open_loop("127.0.0.1", ports["DE"], singles, args.rate))
        server_cpu = cpu_seconds(de_pid) - cpu_before
        commits = httpx.get(f"http://{host}/fmd/v1/health").json()["commits"]
        group = (commits["requests"] - commits_before["requests"]) / max(
            1, commits["groups"] - commits_before["groups"]
        )
        ok = sum(1 for status, body in answers if status == 200 and b'"NMVS_SUCCESS"' in body)
        results["g110"] = {
            **percentiles(latencies),
            "requests": total,
            "ok": ok,
            "rate": total / took,
            "server_cpu_ms_per_request": server_cpu * 1000 / total,
            "loadgen_cpu_ms_per_request": (time.process_time() - own_before) * 1000 / total,
            "load_average": [load_before, os.getloadavg()[0]],
            "requests_per_commit": group,
        }

        with httpx.Client(timeout=120, headers={"authorization": f"Bearer {apo_key}"}) as apo:
            base = f"http://{host}"
            jobs = []
            offset = args.packs // 2
            started = time.perf_counter()
            for b in range(args.bulk_requests):
                packs = [
                    {
                        "productCode": GTIN,
                        "serialNumber": serial(offset + b * 1000 + k),
                        "batch": "B1",
                        "expiry": EXPIRY,
                    }
                    for k in range(1000)
                ]
                submitted = apo.post(
                    f"{base}/fmd/v1/packs/G125", json={"clientTrxId": f"bulk-{b}", "packs": packs}
                )
                assert submitted.status_code == 202, submitted.text
                jobs.append(submitted.json()["bulkId"])
            codes: dict[str, int] = {}
            for job in jobs:
                while (result := apo.get(f"{base}/fmd/v1/bulk/{job}").json())["status"] != "done":
                    time.sleep(0.01)
                for row in result["results"]:
                    codes[row["returnCode"]] = codes.get(row["returnCode"], 0) + 1
            took = time.perf_counter() - started
        results["g125"] = {
            "packs": args.bulk_requests * 1000,
            "seconds": took,
            "packs_per_s": args.bulk_requests * 1000 / took,
            "codes": codes,
        }

        count = int(args.intermarket_rate * 10)
        foreign = [g110(FOREIGN, rng.randrange(20_000), "F1", 10**7 + i) for i in range(count)]
        latencies, answers, took = quiet(open_loop("127.0.0.1", ports["DE"], foreign, args.intermarket_rate))
        ok = sum(
            1 for status, body in answers if status == 200 and b'"FR"' in body and b'"NMVS_SUCCESS"' in body
        )
        results["intermarket"] = {**percentiles(latencies), "requests": count, "ok": ok, "rate": count / took}
    finally:
        for node in nodes:
            node.stop()
        if schema is not None:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return results


def table(results: dict[str, Any]) -> str:
    g, b, i = results["g110"], results["g125"], results["intermarket"]
    return "\n".join(
        [
            f"DE on {results['backend']}, {results['packs']:,} packs preloaded",
            "",
            "| figure | value | goal |",
            "|---|---|---|",
            f"| G110 over HTTP, {g['requests']:,} requests at {g['rate']:.0f}/s | p50 {g['p50']:.2f} ms, p95 {g['p95']:.2f} ms, "
            f"p99 {g['p99']:.2f} ms, max {g['max']:.1f} ms ({g['ok']:,} NMVS_SUCCESS) | p95 < 300 ms, p99 <= 5 ms at 1,000/s |",
            f"| G110 cost | node CPU {g['server_cpu_ms_per_request']:.3f} ms/request, load generator "
            f"{g['loadgen_cpu_ms_per_request']:.3f} ms/request, {g['requests_per_commit']:.1f} requests per commit, "
            f"machine load average {g['load_average'][0]:.1f} -> {g['load_average'][1]:.1f} on {os.cpu_count()} cores | |",
            f"| bulk G125, {b['packs']:,} packs | {b['packs_per_s']:,.0f} packs/s ({b['seconds']:.2f} s) | >= 20,000 packs/s |",
            f"| intermarket G110 DE -> hub -> FR, {i['requests']:,} at {i['rate']:.0f}/s | p50 {i['p50']:.2f} ms, "
            f"p95 {i['p95']:.2f} ms, p99 {i['p99']:.2f} ms ({i['ok']:,} answered by FR) | p99 <= 25 ms |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--packs", type=int, default=1_000_000, help="packs preloaded into DE (issue: 10,000,000)"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL for --backend postgres")
    parser.add_argument("--rate", type=float, default=1000.0, help="G110 requests per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to send G110 at --rate")
    parser.add_argument(
        "--bulk-requests", type=int, default=100, help="G125 requests of 1,000 packs (100: ~5 s)"
    )
    parser.add_argument("--intermarket-rate", type=float, default=200.0, help="intermarket G110 per second")
    parser.add_argument(
        "--write", type=Path, help="replace this benchmark's section of this file (bench/RESULTS.md)"
    )
    parser.add_argument("--write-results", action="store_true", help="the same as --write bench/RESULTS.md")
    args = parser.parse_args()
    results = bench(args)
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    print(table(results))
    target = args.write or (ROOT / "RESULTS.md" if args.write_results else None)
    if target is not None:
        from results_file import write_results

        write_results(
            target,
            {f"fmd-{args.backend}": (f"EU repositories system ({args.backend})", table(results))},
            "python bench/bench_fmd.py " + " ".join(sys.argv[1:]),
        )


if __name__ == "__main__":
    main()
