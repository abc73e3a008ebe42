"""The matrix cell through the service, on SQLite and PostgreSQL: score objects carry
the cell and quadrant, and the contacts list filters by them.

helpers.MODEL with a matrix: fit letters A (20), B (10), else D, of which A fits (the
better half of three, rounded down); engagement bands from 30 and from 10, so bands 1,
2 and 3, of which band 1 is hot. By hand:

* c1 FR and a demo request: fit 20 → A, engagement 30 → band 1: A1, hot & fitting;
* c2 FR and a pricing view: A, engagement 10 → band 2: A2, fitting but cold;
* c3 no country and a demo request: fit 0 → D, band 1: D1, hot but poor fit;
* c4 FR, a competitor (excluded, total 0), no event: A3, fitting but cold: an
  excluded contact keeps its cell, as it keeps its grade.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .helpers import model_yaml

MATRIX = "matrix: {engagement: engagement, bands: [30, 10]}\nthresholds:"


def _fill(api) -> None:
    api.publish_model(model_yaml(**{"thresholds:": MATRIX}))
    for cid, props in (("c1", {"country": "FR"}), ("c2", {"country": "FR"}), ("c3", {})):
        assert api.put(f"/v1/contacts/{cid}", {"properties": props}).status_code == 200
    body = {"email": "x@rival.example", "properties": {"country": "FR"}}
    assert api.put("/v1/contacts/c4", body).status_code == 200
    api.event("c1", "form_submit")
    api.event("c2", "page_view", url="/pricing")
    api.event("c3", "form_submit")


def _listed(api, **params) -> dict[str, tuple[str, str]]:
    r = api.get("/v1/contacts", params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return {i["id"]: (i["score"]["matrix"], i["score"]["quadrant"]) for i in r.json()["items"]}


def test_scores_carry_the_cell_worked_out_by_hand(api):
    _fill(api)
    assert _listed(api) == {
        "c1": ("A1", "Hot & fitting"),
        "c2": ("A2", "Fitting but cold"),
        "c3": ("D1", "Hot but poor fit"),
        "c4": ("A3", "Fitting but cold"),
    }
    (score,) = api.get("/v1/contacts/c4").json()["scores"]
    assert score["excluded"] is True and (score["matrix"], score["quadrant"]) == (
        "A3",
        "Fitting but cold",
    )
    (now,) = api.get("/v1/contacts/c1/scores").json()["scores"]
    assert now["matrix"] == "A1"
    (past,) = api.get("/v1/contacts/c1/scores", params={"as_of": "2000-01-01T00:00:00Z"}).json()[
        "scores"
    ]
    assert (past["matrix"], past["quadrant"]) == ("A3", "Fitting but cold")  # no event yet


def test_the_list_filters_by_quadrant_and_by_cell(api):
    _fill(api)
    assert set(_listed(api, quadrant="Fitting but cold")) == {"c2", "c4"}
    assert set(_listed(api, quadrant="Hot & fitting")) == {"c1"}
    assert set(_listed(api, matrix="D1")) == {"c3"}
    assert set(_listed(api, matrix="A2", quadrant="Hot & fitting")) == set()
    r = api.get("/v1/contacts", params={"matrix": "Z9"})
    assert r.status_code == 422
    assert "'Z9' is not a cell" in r.json()["detail"] and "A1, A2, A3, B1" in r.json()["detail"]
    r = api.get("/v1/contacts", params={"quadrant": "Warm"})
    assert r.status_code == 422 and "'Hot & fitting'" in r.json()["detail"]


def test_a_model_without_a_matrix_says_so(api):
    api.publish_model(model_yaml())
    assert api.put("/v1/contacts/c1", {"properties": {"country": "FR"}}).status_code == 200
    (item,) = api.get("/v1/contacts").json()["items"]
    assert "matrix" not in item["score"]
    r = api.get("/v1/contacts", params={"quadrant": "Hot & fitting"})
    assert r.status_code == 422
    assert "declares no matrix" in r.json()["detail"] and "matrix:" in r.json()["detail"]


def test_a_trigger_holding_on_a_quadrant_fires_for_the_contact_in_it(database_url, receiver):
    from .conftest import make_api

    yaml = model_yaml(
        receiver.url,
        **{
            "thresholds:": MATRIX,
            "on: {enters: MQL}": "on: {holds: {quadrant: Hot & fitting}, for: 1d}",
        },
    )
    for api in make_api(database_url):
        api.publish_model(yaml)
        api.put("/v1/contacts/c1", {"properties": {"country": "FR"}})  # A3: not yet
        api.put("/v1/contacts/c3", {"properties": {}})
        api.event("c3", "form_submit")  # D1: hot but poor fit
        api.deliver()
        assert receiver.keys() == []
        api.event("c1", "form_submit")  # A1: hot & fitting, the clock starts
        api.service.sweep(now=datetime.now(UTC) + timedelta(days=2))
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0"]
