"""The trained model as the score group ``predicted``, on SQLite and PostgreSQL.

A tiny model is trained here on generated contacts whose outcome is made to
follow the country (French contacts convert 8 times in 10, the others about
1 in 12), so a French contact's predicted score is high and a US contact's
low. Expected values are the library's own prediction for the same contact
(``TrainedModel.predict_contact``), combined with the rule points by hand.

The trained model is saved in a models folder, given to the service as its
``models_root``; the scoring models name it by its path inside that folder.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from leadscore.data.generate import simulate, write
from leadscore.errors import ModelError
from leadscore.model import load_model
from leadscore.predict import TrainedModel, TrainOptions, train

from .conftest import make_api
from .helpers import model_yaml

FR = {"country": "FR", "industry": "Software"}
US = {"country": "US", "industry": "Software"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    data = simulate(400, 7, events_per_contact=4)
    countries = data.contacts.column("country").to_pylist()
    rng = np.random.default_rng(7)
    converted = [int(rng.random() < (0.8 if c == "FR" else 0.08)) for c in countries]
    contacts = data.contacts.drop_columns(["converted", "converted_at"]).append_column(
        "converted", pa.array(converted, pa.int8())
    )
    folder = tmp_path_factory.mktemp("predicted")
    cpath, epath = write(
        type(data)(contacts=contacts, events=data.events, propensity=data.propensity), folder
    )
    options = TrainOptions(
        outcome="converted",
        drop=("first_name", "last_name", "company", "email", "phone", "created_at"),
        params={"max_rounds": 30, "early_stopping_rounds": 10},
    )
    return train(cpath, epath, options).save(folder / "model")


@pytest.fixture
def api(database_url, model_dir):
    """The API with the trained model's parent folder as its models folder."""
    yield from make_api(database_url, models_root=str(model_dir.parent))


def with_predicted(model_dir: Path | str, *, weight: float = 0, extra: str = "") -> str:
    """The helpers' model (FR: fit 20; MQL at total 50) with the trained model declared
    (``model_dir``: a folder inside the models folder; its last part names it)."""
    model_dir = Path(model_dir).name
    text = model_yaml().replace(
        "thresholds:\n",
        "thresholds:\n  - stage: Hot\n    when: {predicted: {gte: 50}}\n",
    )
    return text + f"predicted:\n  model_dir: {model_dir}\n  weight: {weight}\n{extra}"


def expected(model_dir: Path, cid: str, props: dict) -> int:
    record = {**props, "id": cid, "email": None}
    return TrainedModel.load(model_dir).predict_contact(record, []).score


def test_training_data_makes_french_contacts_likely(model_dir):
    assert expected(model_dir, "c1", FR) >= 50 > expected(model_dir, "c2", US)


def test_predicted_group_breakdown_and_threshold(database_url, model_dir):
    for api in make_api(database_url, models_root=str(model_dir.parent)):
        api.publish_model(with_predicted(model_dir))
        api.put("/v1/contacts/c1", {"properties": FR})
        api.put("/v1/contacts/c2", {"properties": US})
        fr, us = api.score("c1"), api.score("c2")
        p_fr, p_us = expected(model_dir, "c1", FR), expected(model_dir, "c2", US)
        assert fr["groups"] == {"fit": 20.0, "engagement": 0.0, "predicted": float(p_fr)}
        assert us["groups"] == {"fit": 0.0, "engagement": 0.0, "predicted": float(p_us)}
        # weight 0: the total is the rule points alone; the stage reads predicted
        assert (fr["total"], fr["stage"]) == (20.0, "Hot")
        assert (us["total"], us["stage"]) == (0.0, "lead")
        body = api.get("/v1/contacts/c1").json()
        (score,) = body["scores"]
        mine = [h for h in score["breakdown"] if h["group"] == "predicted"]
        assert mine[0]["rule"] == "Predicted conversion"
        assert mine[0]["points"] == float(p_fr)
        assert "probability" in mine[0]["detail"] and "band" in mine[0]["detail"]
        reasons = mine[1:]
        assert 1 <= len(reasons) <= 3
        assert all(h["kind"] == "predicted_reason" and h["points"] == 0 for h in reasons)
        assert any(h["rule"].startswith("country = ") for h in reasons)
        history = api.get("/v1/contacts/c1/history").json()
        assert history["items"][0]["detail"]["groups"]["predicted"] == float(p_fr)


def test_weight_adds_predicted_points_to_the_total(database_url, model_dir):
    for api in make_api(database_url, models_root=str(model_dir.parent)):
        api.publish_model(with_predicted(model_dir, weight=0.5))
        api.put("/v1/contacts/c1", {"properties": FR})
        total = min(20 + 0.5 * expected(model_dir, "c1", FR), 100)
        score = api.score("c1")
        assert score["total"] == pytest.approx(total)
        assert score["stage"] == "Hot"  # the first threshold that holds wins
        r = api.post("/v1/contacts/c1/adjustments", {"points": -5, "reason": "test"})
        assert r.status_code in (200, 201), r.text
        assert api.score("c1")["total"] == pytest.approx(min(total - 5, 100))


def test_events_feed_the_predicted_score(database_url, model_dir):
    events = [
        {"type": "page_view", "ts": "2026-01-01T00:00:00Z", "url": "/pricing"},
        {"type": "form_submit", "ts": "2026-01-03T00:00:00Z", "form_id": "demo"},
    ]
    for api in make_api(database_url, models_root=str(model_dir.parent)):
        api.publish_model(with_predicted(model_dir))
        api.put("/v1/contacts/c1", {"properties": FR})
        for e in events:
            attrs = {k: v for k, v in e.items() if k not in ("type", "ts")}
            api.event("c1", e["type"], ts=e["ts"], **attrs)
        score = api.score("c1")
        record = {**FR, "id": "c1", "email": None}
        want = TrainedModel.load(model_dir).predict_contact(record, events, score["scored_at"])
        assert score["groups"]["predicted"] == float(want.score)
        assert score["groups"]["engagement"] == 40.0  # pricing 10 + demo 30


def test_time_sweep_rescores_models_with_a_predicted_score(api, model_dir):
    text = with_predicted(model_dir).replace(
        "      - name: Pricing page\n        on: {type: page_view, url: {contains: /pricing}}\n"
        "        points: 10\n",
        "",
    )
    api.publish_model(text)  # no rule reads time: only the predicted score does
    api.put("/v1/contacts/c1", {"properties": FR})
    api.event("c1", "form_submit")
    later = datetime.now(UTC) + timedelta(days=40)
    assert api.service.sweep(now=later) == 1
    score = api.score("c1")
    assert score["scored_at"].startswith(later.date().isoformat())
    record = {**FR, "id": "c1", "email": None}
    events = [{"type": "form_submit", "ts": "2026-01-01T00:00:00Z"}]
    want = TrainedModel.load(model_dir).predict_contact(record, events, later)
    assert score["groups"]["predicted"] == float(want.score)


def test_trigger_and_grades_read_predicted(database_url, model_dir, receiver):
    text = with_predicted(model_dir).replace(
        "grades: {fit: {A: 20, B: 10}}", "grades: {predicted: {A: 50, B: 20}}"
    )
    text = text.replace("on: {enters: MQL}", "on: {crosses: {score: predicted, above: 50}}")
    text = text.replace("http://127.0.0.1:9/hook", receiver.url)
    for api in make_api(database_url, models_root=str(model_dir.parent)):
        api.publish_model(text)
        api.put("/v1/contacts/c2", {"properties": US})
        api.put("/v1/contacts/c1", {"properties": FR})
        api.deliver()
        assert receiver.keys() == ["demo:Tell sales:c1:1:0"]
        payload = receiver.received[0]["json"]
        assert payload["score"]["groups"]["predicted"] == float(expected(model_dir, "c1", FR))
        p_us = expected(model_dir, "c2", US)
        assert api.score("c1")["grade"] == "A"
        assert api.score("c2")["grade"] == ("B" if p_us >= 20 else "D")


def test_test_on_a_contact_shows_the_predicted_group(api, model_dir):
    api.put("/v1/contacts/c1", {"properties": FR})
    r = api.post("/v1/models", {"yaml": with_predicted(model_dir)})
    assert r.status_code == 201, r.text
    api.put("/v1/contacts/c2", {"properties": US})
    test = api.post("/v1/models/demo/versions/1/test", {"contact_id": "c1"}).json()
    assert test["groups"]["predicted"] == float(expected(model_dir, "c1", FR))
    assert test["stage"] == "Hot"
    # impact: predicted in one batch; c1 would enter Hot (by its predicted score), c2 lead
    impact = api.get("/v1/models/demo/versions/1/impact").json()
    assert impact["by_stage_after"] == {"Hot": 1, "lead": 1}


def test_missing_model_dir_is_a_located_problem(database_url, tmp_path):
    (tmp_path / "empty").mkdir()
    for api in make_api(database_url, models_root=str(tmp_path)):
        for name in ("absent", "empty"):  # one message: no folder, or no model.pkl in it
            text = with_predicted(name)
            r = api.post("/v1/models", {"yaml": text})
            assert r.status_code == 422, r.text
            (problem,) = r.json()["problems"]
            assert problem["path"] == "predicted.model_dir"
            assert problem["message"] == (
                f"predicted.model_dir: there is no trained model {name!r} in the "
                "service's models folder"
            )
            line = text.splitlines().index(f"  model_dir: {name}") + 1
            assert (problem["line"], problem["column"]) == (line, 14)
            assert str(tmp_path) not in r.text
            # validation reads the name only: it loads nothing, so it cannot tell
            check = api.post("/v1/models/validate", {"yaml": text}, scope="read").json()
            assert check["valid"] is True


def test_unreadable_model_file_is_a_located_problem(database_url, tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.pkl").write_bytes(b"not a pickle")
    for api in make_api(database_url, models_root=str(tmp_path)):
        r = api.post("/v1/models", {"yaml": with_predicted("broken")})
        assert r.status_code == 422
        message = r.json()["problems"][0]["message"]
        assert "cannot read the trained model 'broken'" in message
        assert str(tmp_path) not in r.text


def test_excluded_contact_keeps_predicted_but_no_points_and_diff_names_it(api, model_dir):
    api.publish_model(with_predicted(model_dir, weight=0.5))
    r = api.put("/v1/contacts/c9", {"email": "x@rival.example", "properties": FR})
    assert r.status_code in (200, 201), r.text
    score = api.score("c9")
    assert (score["total"], score["stage"], score["excluded"]) == (0.0, None, True)
    assert "predicted" in score["groups"]
    r = api.post("/v1/models", {"yaml": with_predicted(model_dir, weight=0.25)})
    assert r.status_code == 201, r.text
    diff = api.get("/v1/models/demo/diff?from=1&to=2").json()
    assert diff["sections_changed"] == ["predicted"]


def test_a_model_folder_gone_after_publishing_answers_503(database_url, model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    for api in make_api(database_url, models_root=str(tmp_path)):
        api.publish_model(with_predicted(copy))
        (copy / "model.pkl").unlink()
        r = api.put("/v1/contacts/c1", {"properties": FR})
        assert r.status_code == 503, r.text
        assert "predicted.model_dir does not load" in r.json()["detail"]
        assert str(tmp_path) not in r.text
        shutil.copy(model_dir / "model.pkl", copy / "model.pkl")
        assert api.put("/v1/contacts/c1", {"properties": FR}).status_code in (200, 201)
        assert api.score("c1")["groups"]["predicted"] == float(expected(model_dir, "c1", FR))


def test_model_language_predicted_is_a_score_only_when_declared(model_dir):
    text = with_predicted(model_dir)
    assert load_model(text).predicted.weight == 0
    without = text.split("predicted:\n  model_dir")[0]
    with pytest.raises(ModelError) as exc:
        load_model(without)
    assert "unknown score 'predicted'" in str(exc.value)
    clash = text.replace("  engagement:\n", "  predicted:\n    rules: []\n  engagement:\n")
    with pytest.raises(ModelError) as exc:
        load_model(clash)
    assert "taken by the predictive model" in str(exc.value)
