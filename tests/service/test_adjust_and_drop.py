"""Manual adjustments are bounded by the max_adjustment_points setting on the API as in
the web app; an unpublished model's deliveries not sent yet are dropped, with a record.

c1 has country FR (20 points); a form submit adds 30: 50 is MQL, which fires the
model's webhook trigger.
"""

from __future__ import annotations

import pytest

from .conftest import make_api
from .helpers import model_yaml


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (0, "body.points: 0 points changes nothing: give points such as 10 or -5"),
        (
            100.5,
            "body.points: points must be between -100 and 100, got 100.5; the "
            "max_adjustment_points setting sets the bound",
        ),
        (-101, "points must be between -100 and 100, got -101"),
    ],
)
def test_api_refuses_adjustments_out_of_bounds(api, points, message):
    api.publish_model(model_yaml())
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    r = api.post("/v1/contacts/c1/adjustments", {"points": points, "reason": "r"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert message in body["detail"]
    assert body["errors"][0]["location"] == "body.points"
    assert api.get("/v1/contacts/c1/adjustments").json()["items"] == []  # nothing kept
    assert api.score("c1")["total"] == 20


def test_the_bound_is_the_setting_and_reaches_it(database_url):
    for api in make_api(database_url, max_adjustment_points=30):
        api.publish_model(model_yaml())
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
        assert (
            api.post("/v1/contacts/c1/adjustments", {"points": 31, "reason": "r"}).status_code
            == 422
        )
        r = api.post("/v1/contacts/c1/adjustments", {"points": -30, "reason": "r"})
        assert r.status_code == 201, r.text
        assert api.score("c1")["total"] == 0


def test_unpublishing_drops_the_deliveries_not_sent_yet(api, receiver):
    api.publish_model(model_yaml(receiver.url))
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    api.event("c1", "form_submit")  # MQL: one webhook queued
    pending = api.get("/v1/deliveries", params={"status": "pending"}).json()
    assert pending["total"] == 1
    r = api.post("/v1/models/demo/unpublish")
    assert r.status_code == 200, r.text
    assert r.json()["deliveries_dropped"] == 1
    assert api.deliver() == 0
    assert receiver.received == []  # never sent
    dropped = api.get("/v1/deliveries", params={"status": "dropped"}).json()["items"]
    assert [d["key"] for d in dropped] == ["demo:Tell sales:c1:1:0"]
    assert "model 'demo' was unpublished" in dropped[0]["last_error"]
    # publishing the model again does not send it either
    api.post("/v1/models/demo/versions/1/publish", {"fire_triggers": False})
    assert api.deliver() == 0 and receiver.received == []


def test_a_delivery_claimed_before_the_unpublish_is_not_sent(api, receiver):
    api.publish_model(model_yaml(receiver.url))
    api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})
    api.event("c1", "form_submit")
    outbox = api.app.state.outbox
    from datetime import UTC, datetime

    (row,) = outbox.claim(datetime.now(UTC))  # the worker holds it...
    assert api.post("/v1/models/demo/unpublish").status_code == 200  # ...the model goes
    outbox.deliver(row)
    assert receiver.received == []
    assert api.get("/v1/deliveries", params={"status": "dropped"}).json()["total"] == 1
