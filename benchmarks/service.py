"""Service load test on loopback: batched ingest throughput and single-event latency.

Starts a real ``leadscore serve`` on 127.0.0.1 (SQLite in a temporary folder, and
PostgreSQL with ``--postgres`` using a throwaway server, or ``--database URL``),
publishes a model, and measures:

* events per second through ``POST /v1/events/batch`` (batches of 1,000 events
  over a pool of contacts, each event rescoring its contact before the answer);
* p50/p95/p99 latency of single ``POST /v1/events`` at a fixed request rate;
* baselines from the same run: the in-process evaluator alone scoring the same
  kind of contact (events/s), and ``GET /health`` latency at the same rate.

Bounded in count and time: ``--batches`` batches, ``--seconds`` of single events.

    python benchmarks/service.py [--postgres] [--batches 10] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MODEL = (ROOT / "examples" / "b2b_saas.yaml").read_text()
TYPES = [
    ("page_view", {"url": "/pricing"}),
    ("page_view", {"url": "/blog/x"}),
    ("email_click", {}),
    ("form_submit", {"form_id": "demo"}),
    ("asset_download", {"asset_id": "wp1"}),
    ("webinar_attended", {}),
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str) -> tuple[subprocess.Popen, str, str]:
    from leadscore.service.auth import create_key
    from leadscore.store import Store

    store = Store(url)
    with store.write() as conn:
        token = create_key(conn, "benchmark", "admin")[1]
    store.dispose()
    port = _port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leadscore",
            "serve",
            "--database",
            url,
            "--port",
            str(port),
            "--sweep-interval",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base, token
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def event(rng: random.Random, contacts: int, i: int, tag: str, contact: int | None = None) -> dict:
    kind, attrs = rng.choice(TYPES)
    cid = rng.randrange(contacts) if contact is None else contact
    return {
        "contact_id": f"c{cid}",
        "type": kind,
        "attributes": attrs,
        "idempotency_key": f"{tag}-{i}",
        "ts": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z",
    }


def batch_throughput(
    client: httpx.Client, batches: int, contacts: int, per_contact: int, tag: str
) -> float:
    """Batches of 1,000 events, ``per_contact`` events for each contact in a batch."""
    rng = random.Random(1)
    payloads = []
    for b in range(batches):
        who = rng.sample(range(contacts), 1000 // per_contact)
        payloads.append(
            [event(rng, contacts, b * 1000 + i, tag, who[i // per_contact]) for i in range(1000)]
        )
    client.post("/v1/events/batch", json={"events": payloads[0][:10]})  # warm up
    t0 = time.perf_counter()
    for p in payloads[1:] if batches > 1 else payloads:
        r = client.post("/v1/events/batch", json={"events": p})
        r.raise_for_status()
    return (max(batches - 1, 1)) * 1000 / (time.perf_counter() - t0)


def fixed_rate(base: str, token: str, rate: float, seconds: float, make_request) -> list[float]:
    """Open-loop load: request i is due at start + i/rate; latency measured per request."""
    latencies: list[float] = []
    lock = threading.Lock()
    n = int(rate * seconds)
    threads = 8
    start = time.perf_counter() + 0.2

    def run(k: int) -> None:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
        ) as client:
            for i in range(k, n, threads):
                due = start + i / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                t = time.perf_counter()
                make_request(client, i).raise_for_status()
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)

    ts = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def in_process_baseline(contacts: int) -> float:
    """Events/s of the evaluator alone: rescoring a contact with its events, no HTTP/store."""
    from leadscore.engine.inprocess import score_contact
    from leadscore.model.loader import load_model

    model = load_model(MODEL)
    rng = random.Random(1)
    per_contact = max(1, 10_000 // contacts)
    history = [event(rng, contacts, i, "x") for i in range(per_contact)]
    t0 = time.perf_counter()
    n = 2000
    for i in range(n):
        score_contact(
            model,
            {"id": f"c{i}", "country": "FR"},
            history[: 1 + i % per_contact],
            as_of="2026-12-31T00:00:00Z",
        )
    return n / (time.perf_counter() - t0)


def run(url: str, label: str, args: argparse.Namespace) -> dict:
    proc, base, token = start_server(url)
    try:
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        draft = client.post("/v1/models", json={"yaml": MODEL}).json()
        client.post(f"/v1/models/{draft['name']}/versions/{draft['version']}/publish", json={})
        eps = batch_throughput(client, args.batches, args.contacts, args.per_contact, "b")
        eps1 = batch_throughput(client, args.batches, args.contacts, 1, "b1")
        rng = random.Random(2)
        single = fixed_rate(
            base,
            token,
            args.rate,
            args.seconds,
            lambda c, i: c.post("/v1/events", json=event(rng, args.contacts, i, "s")),
        )
        health = fixed_rate(
            base, token, args.rate, min(args.seconds, 5), lambda c, i: c.get("/health")
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    return {
        "store": label,
        "batch_eps": eps,
        "batch_eps1": eps1,
        "p50": pct(single, 50),
        "p95": pct(single, 95),
        "p99": pct(single, 99),
        "health_p99": pct(health, 99),
        "requests": len(single),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=10, help="batches of 1,000 events")
    ap.add_argument("--contacts", type=int, default=2000, help="contacts the events go to")
    ap.add_argument(
        "--per-contact",
        type=int,
        default=10,
        help="events per contact within a batch (1 = every event a new contact)",
    )
    ap.add_argument("--rate", type=float, default=200.0, help="single events per second")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of the fixed rate")
    ap.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL")
    ap.add_argument("--database", help="run on this store URL instead of a fresh SQLite file")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.database:
            results.append(run(args.database, args.database.split(":")[0], args))
        else:
            results.append(run(f"sqlite:///{tmp}/bench.db", "sqlite", args))
        if args.postgres:
            from tests.postgres_server import PostgresServer

            root = Path(tempfile.mkdtemp(prefix="leadscore-bench-pg-"))
            server = PostgresServer(root)
            server.start()
            try:
                results.append(run(server.url, "postgresql", args))
            finally:
                server.stop()
                shutil.rmtree(root, ignore_errors=True)
    baseline = in_process_baseline(args.contacts)
    print(
        f"cores: {os.cpu_count()}  batches: {args.batches} x 1000 events over "
        f"{args.contacts} contacts; single events at {args.rate:.0f}/s for {args.seconds:.0f}s"
    )
    print(f"baseline: in-process evaluator alone {baseline:,.0f} contact rescorings/s")
    print(
        f"| store | batch events/s ({args.per_contact}/contact) | batch events/s (1/contact) "
        "| 1/contact vs evaluator | single p50 ms | p95 ms | p99 ms | /health p99 ms |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['store']} | {r['batch_eps']:,.0f} | {r['batch_eps1']:,.0f} "
            f"| {r['batch_eps1'] / baseline:.2f}x | {r['p50']:.1f} | {r['p95']:.1f} "
            f"| {r['p99']:.1f} | {r['health_p99']:.1f} |"
        )


if __name__ == "__main__":
    main()
