"""History records what people can see change; the current score keeps every decimal.

One page view worth 100 points decays with a half-life of 1000 days: the total
is ``100 * 2 ** (-d / 1000)`` after ``d`` days, about 0.069 points a day. The
sweep runs every six hours for five days (20 sweeps). Shown to one decimal the
total reads 100.0 until it falls under 99.95, which is at
``d = -1000 * log2(0.9995) = 0.72`` days, under 99.85 at 2.17 days and under
99.75 at 3.61 days (99.65 would take 5.06 days). So the sweeps at 0.75, 2.25
and 3.75 days add a history row, the 17 others none:

====  =========================  ========
days  total                      shown
====  =========================  ========
0.75  100 * 2**-0.00075 = 99.948  99.9
2.25  100 * 2**-0.00225 = 99.844  99.8
3.75  100 * 2**-0.00375 = 99.740  99.7
====  =========================  ========

A trigger on ``total below 99.8`` still fires at the first sweep under it
(3.0 days: 99.792, no history row then): triggers read the exact score.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadscore.store import tables as T

MODEL = """\
name: slow
groups:
  engagement:
    decay: {{half_life: 1000d}}
    rules:
      - {{name: Visit, on: {{type: page_view}}, points: 100}}
triggers:
  - name: Cooling
    on: {{crosses: {{score: total, below: 99.8}}}}
    actions: [{{webhook: {{url: "{url}"}}}}]
account:
  groups:
    team: {{rules: [{{name: Team, rollup: sum, of: engagement}}]}}
"""


def exact(days: float) -> float:
    return 100 * 2 ** (-days / 1000)


def test_sweeps_record_history_only_when_the_shown_total_changes(api, receiver):
    assert api.put("/v1/accounts/acme", {"domain": "acme.example"}).status_code == 200
    assert api.put("/v1/contacts/c1", {"email": "ann@acme.example"}).status_code == 200
    api.publish_model(MODEL.format(url=receiver.url))
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    api.event("c1", "page_view", ts=t0.isoformat())
    svc = api.service

    def deliveries() -> int:
        with svc.store.read() as conn:
            q = sa.select(sa.func.count()).select_from(T.deliveries)
            return conn.execute(q.where(T.deliveries.c.contact_id == "c1")).scalar_one()

    fired_at = None
    for step in range(1, 21):
        days = step * 0.25
        svc.sweep(now=t0 + timedelta(days=days))
        # the current score is exact at every sweep
        assert api.score("c1", "slow")["total"] == pytest.approx(exact(days), abs=1e-9)
        if fired_at is None and deliveries():
            fired_at = days
    assert fired_at == 3.0  # 99.792 < 99.8, a sweep without a history row

    def history(path: str) -> list[dict]:
        items = api.get(path, params={"model": "slow", "limit": 1000}).json()["items"]
        return sorted(items, key=lambda h: h["id"])

    expected_new = [100.0, exact(0.75), exact(2.25), exact(3.75)]
    for rows in (history("/v1/contacts/c1/history"), history("/v1/accounts/acme/history")):
        # the event's row (1 second of decay: 99.99993, shown 100.0), then three sweeps
        slow = [h for h in rows if h["cause"] in ("event", "time")]
        assert [h["new_total"] for h in slow] == pytest.approx(expected_new, abs=1e-3)
        assert [round(h["new_total"], 1) for h in slow] == [100.0, 99.9, 99.8, 99.7]
        # each row starts where the previous one ended, not at the last sweep's value
        assert [h["old_total"] for h in slow[1:]] == pytest.approx(
            [h["new_total"] for h in slow[:-1]], abs=1e-12
        )
