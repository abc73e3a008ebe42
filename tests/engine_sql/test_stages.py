"""Kept stages and per-phase thresholds: hand-computed stages, the same on every engine."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from leadscore.engine.inprocess import score_contact
from leadscore.errors import ModelError
from leadscore.evaluate.scoring import finish
from leadscore.model import load_model

from .strategies import AS_OF
from .support import run_all

PROPS = ["f", "st", "entered"]
ATTRS = ["url"]

PHASED = """
name: phased
groups:
  fit:
    rules: [{name: Fit, when: {f: "yes"}, points: 30}]
  eng:
    reset_on_stage: true
    rules: [{name: Visit, on: {type: view}, points: 10}]
lifecycle: {stage_property: st, entered_at_property: entered, stages: [recycled]}
thresholds:
  - {stage: SQL, when: {total: {gte: 80}}}
  - {stage: MQL, when: {total: {gte: 70}}, from: recycled}
  - {stage: MQL, when: {total: {gte: 50}}, from: lead}
default_stage: lead
"""

KEPT = """
name: kept
groups:
  fit:
    rules: [{name: Fit, when: {f: "yes"}, points: 30}]
  eng:
    rules: [{name: Visit, on: {type: view}, points: 10}]
lifecycle: {stage_property: st, keep_stage: KEEP}
thresholds:
  - {stage: SQL, when: {total: {gte: 80}}}
  - {stage: MQL, when: {total: {gte: 50}}}
default_stage: lead
"""


def views(cid: str, n: int, start_days: int = 10) -> list[dict]:
    """``n`` page views of a contact, one a day, the last ``start_days - n + 1`` days ago."""
    return [
        {
            "contact_id": cid,
            "event_id": f"{cid}-{i}",
            "type": "view",
            "ts": AS_OF - timedelta(days=start_days - i),
        }
        for i in range(n)
    ]


def stages_of(model, contacts, events) -> dict[str, str | None]:
    out = {}
    for c in contacts:
        mine = [{k: v for k, v in e.items() if k != "contact_id"} for e in events]
        mine = [e for e, raw in zip(mine, events, strict=True) if raw["contact_id"] == c["id"]]
        out[c["id"]] = score_contact(model, c, mine, as_of=AS_OF).stage
    return out


def phased_population():
    entered = (AS_OF - timedelta(days=8, hours=12)).isoformat()  # after the first 2 of 3 views
    contacts = [
        {"id": "new", "f": "yes"},  # 30 + 3 views = 60, phase lead: MQL at 50
        {"id": "recycled60", "f": "yes", "st": "recycled"},  # 60 < 70: stays recycled
        {"id": "recycled70", "f": "yes", "st": "recycled"},  # 30 + 4 views = 70: MQL
        {"id": "reset", "f": "yes", "st": "MQL", "entered": entered},  # 30 + 1 view: MQL kept
        {"id": "sql60", "f": "yes", "st": "SQL"},  # 60: SQL kept (no threshold moves down)
        {"id": "unknown", "st": "customer"},  # 3 views = 30, unknown stage: lead
        {"id": "onward", "f": "yes", "st": "MQL"},  # 30 + 6 views = 90: SQL
    ]
    events = (
        views("new", 3)
        + views("recycled60", 3)
        + views("recycled70", 4)
        + views("reset", 3)
        + views("sql60", 3)
        + views("unknown", 3)
        + views("onward", 6)
    )
    return contacts, events


def test_per_phase_thresholds_and_kept_stages_hand_computed():
    model = load_model(PHASED)
    assert model.keeps_stage  # a group resets on stage: stages are kept by default
    contacts, events = phased_population()
    assert stages_of(model, contacts, events) == {
        "new": "MQL",
        "recycled60": "recycled",
        "recycled70": "MQL",
        "reset": "MQL",
        "sql60": "SQL",
        "unknown": "lead",
        "onward": "SQL",
    }
    reset = score_contact(
        model, contacts[3], [e for e in events if e["contact_id"] == "reset"], as_of=AS_OF
    )
    assert reset.total == 40  # the reset group counts the one view since MQL was entered
    assert reset.phase == "MQL"


def test_per_phase_thresholds_agree_on_duckdb():
    contacts, events = phased_population()
    run_all([load_model(PHASED)], contacts, events, PROPS, ATTRS, as_of=AS_OF)


@pytest.mark.postgres
def test_per_phase_thresholds_agree_on_postgres(pg_url):
    contacts, events = phased_population()
    run_all([load_model(PHASED)], contacts, events, PROPS, ATTRS, as_of=AS_OF, pg_url=pg_url)


@pytest.mark.parametrize(
    ("keep", "want"),
    [
        # kept: a contact in SQL at 60 stays SQL; one in MQL at 10 stays MQL
        ("true", {"sql60": "SQL", "mql10": "MQL", "mql90": "SQL", "none60": "MQL"}),
        # derived: the thresholds alone (SQL at 60 is MQL; MQL at 10 is lead)
        ("false", {"sql60": "MQL", "mql10": "lead", "mql90": "SQL", "none60": "MQL"}),
    ],
)
def test_kept_stage_never_falls_back_down_the_funnel(keep, want):
    model = load_model(KEPT.replace("KEEP", keep))
    contacts = [
        {"id": "sql60", "f": "yes", "st": "SQL"},
        {"id": "mql10", "st": "MQL"},
        {"id": "mql90", "f": "yes", "st": "MQL"},
        {"id": "none60", "f": "yes"},
    ]
    events = views("sql60", 3) + views("mql10", 1) + views("mql90", 6) + views("none60", 3)
    assert stages_of(model, contacts, events) == want
    run_all([model], contacts, events, PROPS, ATTRS, as_of=AS_OF)


def test_backtest_path_reads_the_phase():
    model = load_model(KEPT.replace("KEEP", "true"))
    # rules: Fit, Visit; points per contact
    points = np.array([[30.0, 30.0], [0.0, 10.0], [30.0, 30.0]])
    scored = finish(model, points, np.zeros(3, dtype=bool), ["SQL", "MQL", None])
    assert scored.stage == ["SQL", "MQL", "MQL"]


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        (
            "[{stage: MQL, when: {total: {gte: 50}}, from: recyled}]",
            "threshold from unknown stage 'recyled'",
        ),
        (
            "[{stage: MQL, when: {total: {gte: 50}}, from: lead},"
            " {stage: MQL, when: {total: {gte: 60}}, from: [lead]}]",
            "stage 'MQL' twice for the same phase",
        ),
    ],
)
def test_phase_mistakes_are_refused(thresholds, message):
    text = f"""
name: bad
groups: {{fit: {{rules: [{{name: F, when: {{f: "yes"}}, points: 30}}]}}}}
lifecycle: {{stages: [recycled]}}
thresholds: {thresholds}
default_stage: lead
"""
    with pytest.raises(ModelError, match=message):
        load_model(text)


@pytest.mark.spark
@pytest.mark.slow
def test_per_phase_thresholds_agree_on_spark(spark):
    contacts, events = phased_population()
    run_all([load_model(PHASED)], contacts, events, PROPS, ATTRS, as_of=AS_OF, spark=spark)


def test_an_account_threshold_has_no_phase():
    from leadscore.model.spine import Threshold, check_thresholds

    problems: list = []
    th = Threshold.model_validate({"stage": "MQA", "when": {"total": {"gte": 10}}, "from": "lead"})
    check_thresholds(problems, [th], {"total"}, ("account",))
    assert problems == [
        (
            ("account", "thresholds", 0, "from"),
            "'from' (a per-phase threshold) reads a contact's lifecycle stage; accounts have none",
            "remove 'from' from the account threshold",
        )
    ]
