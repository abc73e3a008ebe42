"""Stage entry as a recorded fact: the service records each stage a contact enters,
resets the resetting groups from that instant, keeps the stage and follows the CRM.

Contact c1: country FR gives 20 (fit); a form submit gives 30 (engagement, which resets
on stage). 20 + 30 = 50 is MQL for a lead; a recycled contact needs 70.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from leadscore.store import tables as T

from .helpers import model_yaml

RESETTING = model_yaml(
    "http://127.0.0.1:9/hook",
    **{
        "  engagement:\n    rules:": "  engagement:\n    reset_on_stage: true\n    rules:",
        "thresholds:\n  - stage: MQL\n    when: {total: {gte: 50}}\n": (
            "lifecycle: {stages: [recycled]}\n"
            "thresholds:\n"
            "  - {stage: MQL, when: {total: {gte: 70}}, from: recycled}\n"
            "  - {stage: MQL, when: {total: {gte: 50}}, from: lead}\n"
        ),
    },
)


def _recorded(api, contact: str = "c1") -> dict:
    with api.service.store.read() as conn:
        rows = conn.execute(
            sa.select(T.contact_stages).where(T.contact_stages.c.contact_id == contact)
        ).all()
    assert len(rows) == 1
    return rows[0]._asdict()


def _soon(seconds: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_entering_a_stage_is_recorded_and_the_reset_keeps_the_stage(api):
    assert "from: lead" in RESETTING and "reset_on_stage: true" in RESETTING
    api.publish_model(RESETTING)
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    assert api.score("c1")["stage"] == "lead"
    with api.service.store.read() as conn:  # where contacts start is entered at no time
        assert conn.execute(sa.select(sa.func.count()).select_from(T.contact_stages)).scalar() == 0

    api.event("c1", "form_submit")  # 20 + 30 = 50: MQL (the submit happened before)
    fact = _recorded(api)
    assert (fact["stage"], fact["source"], fact["previous_stage"]) == ("MQL", "model", None)
    score = api.score("c1")
    # engagement restarts at the entry: the submit came before it, so 20 is left, and
    # the contact stays MQL (before, the stage fell back to lead with the points)
    assert score["stage"] == "MQL" and score["total"] == 20
    assert score["groups"]["engagement"] == 0
    assert score["stage_entered_by"] == "model"
    assert datetime.fromisoformat(score["stage_entered_at"]) == fact["entered_at"]
    # the trigger fired once for the entry, and the stage stays
    api.event("c1", "page_view", url="/pricing", ts=_soon(2))  # counts after the entry
    score = api.score("c1")
    assert (score["stage"], score["total"]) == ("MQL", 30)
    with api.service.store.read() as conn:
        keys = conn.execute(sa.select(T.deliveries.c.key)).scalars().all()
    assert keys == ["demo:Tell sales:c1:1:0"]
    assert _recorded(api)["entered_at"] == fact["entered_at"]  # not entered again


def test_the_crm_moves_the_stage_and_per_phase_thresholds_apply(api):
    api.publish_model(RESETTING)
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    api.event("c1", "form_submit")
    assert _recorded(api)["stage"] == "MQL"
    # sales recycles the contact in the CRM, at a time of its own
    at = datetime.now(UTC) - timedelta(seconds=10)
    api.put(
        "/v1/contacts/c1",
        {
            "properties": {
                "country": "FR",
                "lifecycle_stage": "recycled",
                "lifecycle_stage_entered_at": at.isoformat(),
            }
        },
    )
    fact = _recorded(api)
    assert (fact["stage"], fact["source"], fact["entered_at"]) == ("recycled", "crm", at)
    assert api.score("c1")["stage"] == "recycled"
    # 20 + 30 = 50 no longer makes a recycled contact MQL: it needs 70
    api.event("c1", "form_submit", ts=(at + timedelta(seconds=1)).isoformat())
    assert (api.score("c1")["stage"], api.score("c1")["total"]) == ("recycled", 50)
    api.event("c1", "form_submit", ts=(at + timedelta(seconds=2)).isoformat(), key="again")
    assert api.score("c1")["stage"] == "MQL"  # 20 + 60 = 80 ≥ 70, then reset to 20
    assert _recorded(api)["previous_stage"] == "recycled"
    assert api.score("c1")["total"] == 20


def test_a_model_without_kept_stages_records_entries_and_derives_as_before(api):
    api.publish_model(model_yaml())
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    api.event("c1", "form_submit")
    assert _recorded(api)["stage"] == "MQL"
    api.post("/v1/contacts/c1/adjustments", {"points": -20, "reason": "cooling"})
    assert api.score("c1")["stage"] == "lead"  # derived: no stage is kept
    fact = _recorded(api)
    assert (fact["stage"], fact["previous_stage"]) == ("lead", "MQL")
    # a contact's deletion takes its recorded stages with it
    assert api.delete("/v1/contacts/c1").status_code == 204
    with api.service.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.contact_stages)).scalar() == 0
