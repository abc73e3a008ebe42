"""A model whose scores depend on the trained model's 'predicted' score is scored by
the service only: batch evaluators refuse it clearly instead of guessing."""

import pytest

from leadscore import ModelError, UsageError, load_model, score_contact
from leadscore.cli.common import load_models

MODEL = """
name: p
predicted: {model_dir: models/current}
groups:
  fit:
    rules: [{name: FR, when: {country: FR}, points: 10}]
grades: {predicted: {A: 80}}
thresholds:
  - {stage: MQL, when: {predicted: {gte: 80}}}
"""


def test_in_process_gives_rule_groups_and_leaves_predicted_grade_to_the_service():
    model = load_model(MODEL)
    assert model.reads_predicted()
    result = score_contact(model, {"country": "FR"}, [], as_of="2026-01-01")
    assert result.groups == {"fit": 10.0} and result.grade is None and result.stage is None


def test_sql_compiler_refuses(tmp_path):
    from leadscore.data.io import connect
    from leadscore.engine.sql import score_sql

    con = connect()
    con.execute("CREATE TABLE contacts (id VARCHAR, country VARCHAR)")
    con.execute(
        "CREATE TABLE events (contact_id VARCHAR, event_id VARCHAR, type VARCHAR, ts TIMESTAMPTZ)"
    )
    with pytest.raises(ModelError, match="reads the predicted score"):
        score_sql([load_model(MODEL)], con, as_of="2026-01-01")


def test_cli_refuses_with_the_way_out(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(MODEL)
    with pytest.raises(UsageError, match="leadscore predict"):
        load_models([path])
    plain = tmp_path / "q.yaml"
    plain.write_text(MODEL.replace("grades: {predicted: {A: 80}}\n", "").split("thresholds")[0])
    assert load_models([plain])[0].predicted is not None  # declared but not read: fine
