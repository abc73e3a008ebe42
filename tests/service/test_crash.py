"""Crash test: a real `leadscore serve` is killed with SIGKILL mid-load and restarted.

Afterwards every event that got a 2xx is stored exactly once, every stored score
equals a rescoring from scratch, and every trigger crossing reached the local
receiver under exactly one delivery key (a receiver drops a repeated key: the
delivery that was in flight at the kill may be sent twice, never lost).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from leadscore.engine.inprocess import score_contact
from leadscore.model.loader import load_model
from leadscore.service.auth import create_key
from leadscore.service.scoring import apply_adjustments, contact_record, to_events
from leadscore.store import Store
from leadscore.store import tables as T

from .helpers import SECRET, Receiver

CRASH_MODEL = """\
name: crash
groups:
  engagement:
    rules:
      - name: Demo request
        on: {{type: form_submit}}
        points: 30
      - name: Pricing page
        on: {{type: page_view, url: {{contains: /pricing}}}}
        points: 10
      - name: Careers page
        on: {{type: page_view, url: {{contains: /careers}}}}
        points: -25
thresholds:
  - stage: MQL
    when: {{total: {{gte: 50}}}}
default_stage: lead
triggers:
  - name: Tell sales
    on: {{enters: MQL}}
    actions:
      - webhook: {{url: "{url}"}}
"""
CONTACTS = 25
EVENTS = 500
KILL_AFTER = 180


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(url: str, port: int, log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "leadscore",
        "serve",
        "--database",
        url,
        "--port",
        str(port),
        "--outbox-poll-interval",
        "0.05",
        "--sweep-interval",
        "0",
        "--delivery-backoff-base",
        "0.05",
        "--delivery-backoff-max",
        "0.5",
    ]
    env = {
        **os.environ,
        "LEADSCORE_WEBHOOK_SECRET": SECRET,
        "LEADSCORE_OUTBOUND_ALLOW": "127.0.0.1",
    }
    proc = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start:\n" + log.read_text())


def _events(rng: random.Random) -> list[dict]:
    kinds = [
        ("form_submit", {}),
        ("page_view", {"url": "/pricing"}),
        ("page_view", {"url": "/careers"}),
        ("page_view", {"url": "/careers"}),
    ]
    out = []
    for i in range(EVENTS):
        kind, attrs = rng.choice(kinds)
        out.append(
            {
                "contact_id": f"c{rng.randrange(CONTACTS)}",
                "type": kind,
                "attributes": attrs,
                "idempotency_key": f"k{i}",
                "ts": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
            }
        )
    return out


@pytest.mark.slow
def test_sigkill_mid_load_loses_nothing_and_fires_once(tmp_path, database_url):
    receiver = Receiver()
    url = database_url
    store = Store(url)
    with store.write() as conn:
        token = create_key(conn, "crash-test", "admin")[1]
    store.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    log = tmp_path / "server.log"
    port = _port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(url, port, log)
    try:
        client = httpx.Client(base_url=base, headers=headers, timeout=10)
        r = client.post("/v1/models", json={"yaml": CRASH_MODEL.format(url=receiver.url)})
        assert r.status_code == 201, r.text
        assert client.post("/v1/models/crash/versions/1/publish", json={}).status_code == 200

        pending = _events(random.Random(7))
        acked: set[str] = set()
        lock = threading.Lock()
        killed = threading.Event()

        def send(batch: list[dict]) -> None:
            try:
                if len(batch) == 1:
                    r = client.post("/v1/events", json=batch[0])
                else:
                    r = client.post("/v1/events/batch", json={"events": batch})
            except httpx.HTTPError:
                return
            if 200 <= r.status_code < 300:
                with lock:
                    acked.update(e["idempotency_key"] for e in batch)

        def load(items: list[dict]) -> None:
            i = 0
            while i < len(items):
                size = 1 if i % 3 else 5
                send(items[i : i + size])
                i += size

        def killer() -> None:
            while len(acked) < KILL_AFTER:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            killed.set()

        threading.Thread(target=killer, daemon=True).start()
        workers = [threading.Thread(target=load, args=(pending[k::2],)) for k in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert killed.wait(30), "the load ended before the kill"
        proc.wait(10)
        lost = len(pending) - len(acked)
        assert lost > 0, "the kill happened after the whole load"

        # Restart on the same store; the load generator retries what got no 2xx.
        proc = _start(url, port, log)
        client = httpx.Client(base_url=base, headers=headers, timeout=10)
        for e in pending:
            if e["idempotency_key"] not in acked:
                send([e])
        assert acked == {e["idempotency_key"] for e in pending}
        # Send a third of the events once more: all duplicates now.
        for e in pending[::3]:
            assert client.post("/v1/events", json=e).json()["status"] == "duplicate"

        deadline = time.monotonic() + 30
        while client.get("/v1/deliveries", params={"status": "pending"}).json()["total"]:
            assert time.monotonic() < deadline, "deliveries still pending"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(10)
        receiver.close()

    store = Store(url)
    with store.read() as conn:
        stored = Counter(conn.execute(sa.select(T.events.c.idempotency_key)).scalars())
        contacts = {r.id: r for r in conn.execute(sa.select(T.contacts))}
        events: dict[str, list] = {}
        for r in conn.execute(sa.select(T.events).order_by(T.events.c.seq)):
            events.setdefault(r.contact_id, []).append(r)
        scores = {r.contact_id: r for r in conn.execute(sa.select(T.scores))}
        history = conn.execute(sa.select(T.score_history).order_by(T.score_history.c.id)).all()
        deliveries = conn.execute(sa.select(T.deliveries)).all()
    store.dispose()

    # 1. Every acknowledged event stored once.
    assert set(stored) == acked and set(stored.values()) == {1}
    # 2. Scores equal a rescoring from scratch.
    model = load_model(CRASH_MODEL.format(url=receiver.url))
    for cid, contact in contacts.items():
        fresh = apply_adjustments(
            model,
            score_contact(
                model,
                contact_record(contact),
                to_events(events.get(cid, [])),
                as_of="2027-01-01T00:00:00Z",
            ),
            [],
        )
        assert (scores[cid].total, scores[cid].stage) == (fresh.total, fresh.stage), cid
    # 3. One delivery per crossing into MQL, every one received.
    entries = Counter(
        h.contact_id for h in history if h.new_stage == "MQL" and h.old_stage != "MQL"
    )
    assert sum(entries.values()) > CONTACTS // 2
    per_contact = Counter(d.contact_id for d in deliveries)
    assert per_contact == entries
    assert {d.status for d in deliveries} == {"delivered"}
    received = receiver.keys()
    assert set(received) == {d.key for d in deliveries}
    assert len(received) - len(set(received)) <= 1  # at most the one in flight at the kill
