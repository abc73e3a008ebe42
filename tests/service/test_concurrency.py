"""Concurrent writers on the same contacts: nothing lost, nothing doubled, no error."""

from __future__ import annotations

import random
import threading

import sqlalchemy as sa

from leadscore.service.schemas import ContactIn, EventIn
from leadscore.store import tables as T

from .helpers import model_yaml


def test_concurrent_batches_on_the_same_contacts(api):
    api.publish_model(model_yaml())
    svc = api.service
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        rng = random.Random(k)
        try:
            for round_ in range(6):
                who = rng.sample(range(6), 6)  # the same contacts, in a different order
                svc.upsert_contacts(
                    [ContactIn(id=f"c{i}", properties={"country": "FR"}) for i in who], "test"
                )
                svc.ingest(
                    [
                        EventIn(
                            contact_id=f"c{i}",
                            type="page_view",
                            attributes={"url": "/pricing"},
                            idempotency_key=f"{k}-{round_}-{i}",
                        )
                        for i in who
                    ],
                    "test",
                )
                svc.ingest(
                    [
                        EventIn(
                            email="new@acme.example",
                            type="page_view",
                            idempotency_key=f"{k}-{round_}-new",
                        )
                    ],
                    "test",
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with svc.store.read() as conn:
        per_contact = dict(
            conn.execute(
                sa.select(T.events.c.contact_id, sa.func.count()).group_by(T.events.c.contact_id)
            ).all()
        )
        new_ids = (
            conn.execute(sa.select(T.contacts.c.id).where(T.contacts.c.email == "new@acme.example"))
            .scalars()
            .all()
        )
    assert len(new_ids) == 1
    assert per_contact.pop(new_ids[0]) == 4 * 6
    assert per_contact == {f"c{i}": 4 * 6 for i in range(6)}
    # 24 pricing views and FR: 20 + 240, clamped to the scale's 100.
    assert all(api.score(f"c{i}")["total"] == 100.0 for i in range(6))
