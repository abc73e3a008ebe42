"""Trigger kinds beyond enters/leaves: score crossings, time held, hysteresis in the model.

The model of ``helpers.model_yaml``: country FR gives 20 (fit), a pricing view
10 and a form submit 30 (engagement); MQL at a total of 50. Manual adjustments
move the total by hand-picked amounts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import make_api
from .helpers import model_yaml

ENTERS = "on: {enters: MQL}"


def _with_on(url: str, on: str, extra: str = "") -> str:
    yaml = model_yaml(url, **{ENTERS: on})
    if extra:
        yaml = yaml.replace("    actions:\n", f"    {extra}\n    actions:\n")
    return yaml


def _adjust(api, points: float) -> None:
    r = api.post("/v1/contacts/c1/adjustments", {"points": points, "reason": "test"})
    assert r.status_code in (200, 201), r.text


def test_crosses_above_fires_once_per_crossing(database_url, receiver):
    yaml = _with_on(receiver.url, "on: {crosses: {score: total, above: 70}}")
    for api in make_api(database_url):
        api.publish_model(yaml)
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})  # 20
        api.event("c1", "form_submit")  # 50: MQL, not yet 70
        api.deliver()
        assert receiver.keys() == []
        api.event("c1", "form_submit")  # 80: crosses 70
        api.event("c1", "page_view", url="/pricing")  # 90: still above, no new crossing
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0"]
        assert receiver.received[0]["json"]["on"] == {"crosses": {"score": "total", "above": 70.0}}
        _adjust(api, -25)  # 65: below again, re-armed
        _adjust(api, 10)  # 75: second crossing
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0", "demo:Tell sales:c1:2:0"]


def test_crosses_below_a_group_score_fires_only_after_being_above(database_url, receiver):
    # fit is 20 with country FR, 0 without: "below 10" means losing the country.
    yaml = _with_on(receiver.url, "on: {crosses: {score: fit, below: 10}}")
    for api in make_api(database_url):
        api.publish_model(yaml)
        api.put("/v1/contacts/c0", {"properties": {"country": "US"}})  # fit 0: never above
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})  # fit 20: armed
        api.deliver()
        assert receiver.keys() == []
        api.put("/v1/contacts/c1", {"properties": {"country": "DE"}})  # fit 0: crosses
        api.put("/v1/contacts/c1", {"properties": {"country": "BE"}})  # still 0
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0"]
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})  # 20: re-armed
        api.put("/v1/contacts/c1", {"properties": {"country": "US"}})  # crosses again
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0", "demo:Tell sales:c1:2:0"]


def test_hysteresis_key_in_the_model_stops_flapping(database_url, receiver):
    yaml = _with_on(receiver.url, "on: {crosses: {score: total, above: 50}}", "hysteresis: 15")
    for api in make_api(database_url):
        api.publish_model(yaml)
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
        api.event("c1", "form_submit")  # 50: fires
        _adjust(api, -10)  # 40: not under 50 - 15 = 35, stays disarmed
        _adjust(api, 10)  # 50
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0"]
        _adjust(api, -20)  # 30: under 35, re-armed
        _adjust(api, 20)  # 50: fires again
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0", "demo:Tell sales:c1:2:0"]
        (trig,) = api.get("/v1/triggers").json()["items"]
        assert trig["hysteresis"] == 15


def test_hysteresis_in_the_model_and_the_body_must_agree(api):
    yaml = _with_on("http://127.0.0.1:9/hook", ENTERS, "hysteresis: 15")
    r = api.post("/v1/models", {"yaml": yaml, "hysteresis": {"Tell sales": 5}})
    assert r.status_code == 422
    assert "set in the model already" in r.json()["detail"]
    assert (
        api.post("/v1/models", {"yaml": yaml, "hysteresis": {"Tell sales": 15}}).status_code == 201
    )


def test_holds_fires_once_after_the_period_then_again_after_a_break(database_url, receiver):
    on = "on: {holds: {total: {gte: 40}}, for: 14d, unless_stage: MQL}"
    yaml = _with_on(receiver.url, on)
    for api in make_api(database_url):
        api.publish_model(yaml)
        t0 = datetime.now(UTC)
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})  # 20
        _adjust(api, 25)  # 45: the clock starts
        api.service.sweep(now=t0 + timedelta(days=13))
        api.deliver()
        assert receiver.keys() == []
        api.service.sweep(now=t0 + timedelta(days=15))
        api.service.sweep(now=t0 + timedelta(days=16))  # held on: no second firing
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0"]
        body = receiver.received[0]["json"]
        assert body["on"]["for"] == 14 * 86400 and body["on"]["unless_stage"] == "MQL"
        assert body["held_since"] is not None
        # Falling under 40 breaks the run; holding again for 14 days fires again.
        _adjust(api, -10)  # 35
        _adjust(api, 10)  # 45: a new clock from now
        t1 = datetime.now(UTC)
        api.service.sweep(now=t1 + timedelta(days=10))
        api.deliver()
        assert len(receiver.keys()) == 1
        api.service.sweep(now=t1 + timedelta(days=14, seconds=1))
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0", "demo:Tell sales:c1:2:0"]


def test_holds_does_not_fire_when_the_contact_reached_the_stage(database_url, receiver):
    on = "on: {holds: {total: {gte: 40}}, for: 14d, unless_stage: MQL}"
    yaml = _with_on(receiver.url, on)
    for api in make_api(database_url):
        api.publish_model(yaml)
        t0 = datetime.now(UTC)
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
        _adjust(api, 25)  # 45: the clock starts
        api.event("c1", "page_view", url="/pricing")  # 55: MQL stops the clock
        api.service.sweep(now=t0 + timedelta(days=20))
        api.deliver()
        assert receiver.keys() == []
        _adjust(api, -10)  # 45: out of MQL, a new clock
        api.service.sweep(now=datetime.now(UTC) + timedelta(days=10))
        api.deliver()
        assert receiver.keys() == []


def test_triggers_list_shows_each_kind(api):
    yaml = _with_on("http://127.0.0.1:9/hook", "on: {crosses: {score: total, above: 70}}")
    api.publish_model(yaml)
    (trig,) = api.get("/v1/triggers").json()["items"]
    assert trig["on"] == {"crosses": {"score": "total", "above": 70.0}}


def _problems(yaml: str) -> list[str]:
    import pytest

    from leadscore.errors import ModelError
    from leadscore.model.loader import model_from_data, parse_yaml

    with pytest.raises(ModelError) as info:
        model_from_data(*parse_yaml(yaml))
    return [f"{p.line}: {p.message}" for p in info.value.problems]


def test_trigger_kinds_are_validated_with_the_line_of_the_mistake():
    url = "http://127.0.0.1:9/hook"
    # the trigger's 'on' is on line 26 of the model
    assert _problems(_with_on(url, "on: {crosses: {score: fitt, above: 3}}")) == [
        "26: trigger crosses unknown score 'fitt'"
    ]
    (p,) = _problems(_with_on(url, "on: {crosses: {score: total, above: 3, below: 1}}"))
    assert p.startswith("26: ") and "exactly one of 'above: N' or 'below: N'" in p
    (p,) = _problems(_with_on(url, "on: {holds: {total: {gte: 40}}}"))
    assert "'holds' needs 'for: PERIOD'" in p
    assert _problems(_with_on(url, "on: {holds: {total: {gte: 40}}, for: 2w, unless_stage: SQL}"))
    (p,) = _problems(_with_on(url, "on: {holds: {totl: {gte: 40}}, for: 14d}"))
    assert "unknown score 'totl'" in p and p.startswith("26: ")
    (p,) = _problems(_with_on(url, "on: {enters: MQL, crosses: {above: 3}}"))
    assert "exactly one of" in p and "got enters, crosses" in p
    (p,) = _problems(_with_on(url, "on: {holds: {total: {gte: 1}}, for: 1d}", "hysteresis: 5"))
    assert "'hysteresis' does not apply to a 'holds' trigger" in p
