"""Crash test of the long write paths: a real `leadscore serve` is killed with SIGKILL
while it publishes a new version to every contact, and again while it sweeps.

After each restart one version is published, and every stored score is that of the
version it names and equals a rescoring from scratch of everything committed, as of
the time it was computed (a publish is all or nothing; a sweep commits page by page,
each page whole).
"""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from leadscore.engine.inprocess import score_contact
from leadscore.model.loader import load_model
from leadscore.service.auth import create_key
from leadscore.service.scoring import contact_record, to_events
from leadscore.store import Store
from leadscore.store import tables as T

from .test_crash import _port, _start

MODEL = """\
name: crash
groups:
  engagement:
    decay: {{half_life: {half_life}}}
    rules:
      - name: Pricing page
        on: {{type: page_view, url: {{contains: /pricing}}}}
        points: {points}
thresholds:
  - stage: MQL
    when: {{total: {{gte: 50}}}}
default_stage: lead
"""
V1 = MODEL.format(half_life="30d", points=10)
V2 = MODEL.format(half_life="7d", points=15)
CONTACTS = 3000


def _utc(ts):
    from datetime import UTC

    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def _check(url: str) -> int:
    """Every score equals a rescoring as of its time under the version it names;
    returns the published version."""
    store = Store(url, migrate=False)
    with store.read() as conn:
        published = conn.execute(
            sa.select(T.model_versions.c.version).where(T.model_versions.c.status == "published")
        ).scalar_one()
        contacts = {r.id: r for r in conn.execute(sa.select(T.contacts))}
        events: dict[str, list] = {}
        for r in conn.execute(sa.select(T.events).order_by(T.events.c.ts, T.events.c.seq)):
            events.setdefault(r.contact_id, []).append(r)
        scores = conn.execute(sa.select(T.scores)).all()
    store.dispose()
    models = {1: load_model(V1), 2: load_model(V2)}
    assert len(scores) == len(contacts)
    versions = {s.version for s in scores}
    assert versions == {published}, f"published v{published}, scores of {sorted(versions)}"
    for s in scores:
        at = _utc(s.scored_at)
        assert all(_utc(e.ts) <= at for e in events.get(s.contact_id, []))
        fresh = score_contact(
            models[s.version],
            contact_record(contacts[s.contact_id]),
            to_events(events.get(s.contact_id, [])),
            as_of=at,
        )
        assert (s.total, s.stage) == (pytest.approx(fresh.total, abs=1e-9), fresh.stage)
    return published


@pytest.mark.slow
def test_sigkill_mid_publish_and_mid_sweep_leaves_every_score_true(tmp_path, database_url):
    store = Store(database_url)
    with store.write() as conn:
        token = create_key(conn, "crash-test", "admin")[1]
    store.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    port = _port()
    log = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    proc = _start(database_url, port, log)
    try:
        client = httpx.Client(base_url=base, headers=headers, timeout=120)
        for text in (V1, V2):
            assert client.post("/v1/models", json={"yaml": text}).status_code == 201
        assert client.post("/v1/models/crash/versions/1/publish", json={}).status_code == 200
        for start in range(0, CONTACTS, 500):
            batch = [
                {
                    "contact_id": f"c{i:05d}",
                    "type": "page_view",
                    "attributes": {"url": "/pricing"},
                    "ts": f"2026-11-{1 + i % 28:02d}T10:00:00Z",
                    "idempotency_key": f"k{i}",
                }
                for i in range(start, start + 500)
            ]
            r = client.post("/v1/events/batch", json={"events": batch})
            assert r.status_code == 202, r.text
        assert _check(database_url) == 1

        # 1. Killed while publishing v2 to every contact (one transaction).
        answered: list[str] = []

        def publish() -> None:
            with contextlib.suppress(httpx.HTTPError):
                client.post("/v1/models/crash/versions/2/publish", json={})
                answered.append("publish")

        started = time.monotonic()
        worker = threading.Thread(target=publish)
        worker.start()
        time.sleep(0.15)
        proc.kill()
        proc.wait(10)
        worker.join(30)
        assert time.monotonic() - started < 10
        assert _check(database_url) in (1, 2)

        # 2. Killed while sweeping (a transaction per page), under whichever is published.
        # Every score is made due, as in a store upgraded from scores without a next
        # change: the sweep has every contact to rescore, not only those due by now.
        store = Store(database_url)
        with store.write() as conn:
            conn.execute(sa.update(T.scores).values(next_change=T.scores.c.scored_at))
        store.dispose()
        proc = _start(database_url, port, log)
        client = httpx.Client(base_url=base, headers=headers, timeout=120)

        def sweep() -> None:
            with contextlib.suppress(httpx.HTTPError):
                client.post("/v1/sweep")
                answered.append("sweep")

        worker = threading.Thread(target=sweep)
        worker.start()
        time.sleep(0.15)
        proc.kill()
        proc.wait(10)
        worker.join(30)
        _check(database_url)
        assert answered == [], f"{answered} finished before the kill: nothing was cut short"

        # 3. After a restart, everything still works: a full sweep, then one more event.
        proc = _start(database_url, port, log)
        client = httpx.Client(base_url=base, headers=headers, timeout=120)
        assert client.post("/v1/sweep").status_code == 200
        r = client.post(
            "/v1/events",
            json={"contact_id": "c00001", "type": "page_view", "attributes": {"url": "/pricing"}},
        )
        assert r.status_code == 202, r.text
    finally:
        proc.kill()
        proc.wait(10)
    _check(database_url)
