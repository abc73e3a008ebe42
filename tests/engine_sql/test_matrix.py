"""The fit × engagement matrix, worked out by hand and checked on every engine: the
in-process evaluator, DuckDB, PostgreSQL and Spark give each contact the same cell
(``A1``) and quadrant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadscore.engine import score_contact
from leadscore.engine.sql import output_columns, score_sql, to_sql
from leadscore.engine.sql.query import build_query
from leadscore.errors import ModelError
from leadscore.model import load_model

from .support import duck, reference, run_all

MODEL = """
name: matrix
groups:
  fit:
    max: 60
    rules:
      - name: Target country
        when: {country: FR}
        points: 30
      - name: Big company
        when: {employees: {gte: 100}}
        points: 20
  engagement:
    rules:
      - name: Visits
        on: {type: page_view}
        points: 5
      - name: Demo
        on: {type: form_submit}
        points: 25
grades: {fit: {A: 45, B: 30, C: 15}}
matrix:
  engagement: engagement
  bands: [30, 10, 5]
  quadrants: {fit_hot: Call now}
thresholds:
  - stage: MQL
    when: {total: {gte: 50}}
"""

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)
H = timedelta(hours=1)
PROPS = ["country", "employees"]
CONTACTS = [
    {"id": "a", "country": "FR", "employees": "500"},  # fit 50: A
    {"id": "b", "country": "FR", "employees": "10"},  # fit 30: B (exactly B's minimum)
    {"id": "c", "country": "DE", "employees": "200"},  # fit 20: C
    {"id": "d", "country": "DE", "employees": None},  # fit 0: D (the else letter)
]


def _views(cid: str, count: int) -> list[dict]:
    return [
        {"contact_id": cid, "event_id": f"{cid}{i}", "type": "page_view", "ts": AS_OF - i * H}
        for i in range(1, count + 1)
    ]


EVENTS = [
    # a: a demo and a view, engagement 30: band 1 (exactly its minimum)
    {"contact_id": "a", "event_id": "ad", "type": "form_submit", "ts": AS_OF - H},
    *_views("a", 1),
    # b: one view, engagement 5: band 3
    *_views("b", 1),
    # c: two views, engagement 10: band 2
    *_views("c", 2),
    # d: a demo plus two views, engagement 35: band 1
    {"contact_id": "d", "event_id": "dd", "type": "form_submit", "ts": AS_OF - H},
    *_views("d", 2),
]
# Letters A, B, C, D: the better half (A, B) fits; bands 1-4: the hotter half (1, 2) is hot.
EXPECTED = {
    "a": ("A1", "Call now"),
    "b": ("B3", "Fitting but cold"),
    "c": ("C2", "Hot but poor fit"),
    "d": ("D1", "Hot but poor fit"),
}


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


def _cells(rows) -> dict[str, tuple[str, str]]:
    return {r["contact_id"]: (r["matrix"], r["quadrant"]) for r in rows}


def test_in_process_by_hand(model):
    rows = reference([model], CONTACTS, EVENTS, as_of=AS_OF)
    assert _cells(rows) == EXPECTED
    one = score_contact(model, {"id": "x"}, [], as_of=AS_OF)
    # nothing known: fit 0 gives the else letter D, engagement 0 the last band (4)
    assert (one.matrix, one.quadrant) == ("D4", "Cold & poor fit")


def test_duckdb_by_hand(model):
    con = duck(CONTACTS, EVENTS, PROPS, [])
    rows = score_sql([model], con, as_of=AS_OF)
    assert _cells(rows) == EXPECTED
    assert list(rows[0])[-2:] == ["matrix", "quadrant"]


def test_an_excluded_contact_keeps_its_cell():
    text = MODEL + "exclusions:\n  - name: Germany\n    when: {country: DE}\n"
    model = load_model(text)
    con = duck(CONTACTS, EVENTS, PROPS, [])
    rows = {r["contact_id"]: r for r in score_sql([model], con, as_of=AS_OF)}
    assert rows["c"]["excluded"] is True and rows["c"]["total"] == 0
    assert (rows["c"]["matrix"], rows["c"]["quadrant"]) == EXPECTED["c"]
    run_all([model], CONTACTS, EVENTS, PROPS, [], as_of=AS_OF)


def test_own_letters_fitting_and_hot_bands():
    text = MODEL.replace(
        "  engagement: engagement\n",
        "  fit: fit\n  letters: {Hi: 40, Mid: 20, else: Lo}\n  fitting: [Hi]\n"
        "  hot: [1]\n  engagement: engagement\n",
    )
    model = load_model(text)
    con = duck(CONTACTS, EVENTS, PROPS, [])
    got = _cells(score_sql([model], con, as_of=AS_OF))
    # a 50 → Hi, b 30 → Mid, c 20 → Mid (its minimum), d 0 → Lo; only band 1 is hot
    assert got == {
        "a": ("Hi1", "Call now"),
        "b": ("Mid3", "Cold & poor fit"),
        "c": ("Mid2", "Cold & poor fit"),
        "d": ("Lo1", "Hot but poor fit"),
    }
    run_all([model], CONTACTS, EVENTS, PROPS, [], as_of=AS_OF)


def test_models_without_a_matrix_keep_their_columns(model):
    plain = load_model(MODEL.split("matrix:")[0].replace("name: matrix", "name: plain"))
    assert "matrix" not in output_columns([plain])
    con = duck(CONTACTS, EVENTS, PROPS, [])
    rows = score_sql([plain], con, as_of=AS_OF)
    assert "matrix" not in rows[0] and "quadrant" not in rows[0]
    # scored together, the model without a matrix has none in the shared columns
    both = score_sql([model, plain], con, as_of=AS_OF)
    assert {r["matrix"] for r in both if r["model"] == "plain"} == {None}
    assert _cells(r for r in both if r["model"] == "matrix") == EXPECTED
    run_all([model, plain], CONTACTS, EVENTS, PROPS, [], as_of=AS_OF)


def test_show_sql_names_the_cell(model):
    sql = to_sql(build_query(model, "duckdb", _source(), as_of=AS_OF), "duckdb")
    assert '"matrix"' in sql and "'Call now'" in sql


def _source():
    from leadscore.engine.sql.compiler import Source

    return Source(contact_columns=("id", *PROPS))


@pytest.mark.postgres
def test_postgres_by_hand(model, pg_url):
    run_all([model], CONTACTS, EVENTS, PROPS, [], as_of=AS_OF, pg_url=pg_url)
    rows = score_sql([model], pg_url, as_of=AS_OF, engine="postgres")
    assert _cells(rows) == EXPECTED


@pytest.mark.spark
def test_spark_by_hand(model, spark):
    from .support import spark_views

    spark_views(spark, CONTACTS, EVENTS, PROPS, [])
    rows = score_sql([model], spark, as_of=AS_OF, engine="spark")
    assert _cells(rows) == EXPECTED
    run_all([model], CONTACTS, EVENTS, PROPS, [], as_of=AS_OF, spark=spark)


THRESHOLDS = """thresholds:
  - stage: Call
    when: {quadrant: Call now}
  - stage: Nurture
    when: {matrix: [B3, C2]}
  - stage: MQL
    when: {total: {gte: 50}}
"""


@pytest.fixture(scope="module")
def staged():
    head, _ = MODEL.split("thresholds:")
    return load_model(head + THRESHOLDS)


def test_thresholds_read_the_cell_by_hand(staged):
    # a A1 "Call now"; b B3 and c C2 are nurtured; d D1 has total 0 + 35 = 35: no stage
    want = {"a": "Call", "b": "Nurture", "c": "Nurture", "d": None}
    rows = reference([staged], CONTACTS, EVENTS, as_of=AS_OF)
    assert {r["contact_id"]: r["stage"] for r in rows} == want
    con = duck(CONTACTS, EVENTS, PROPS, [])
    rows = score_sql([staged], con, as_of=AS_OF)
    assert {r["contact_id"]: r["stage"] for r in rows} == want


def test_a_crosses_trigger_cannot_read_the_cell():
    text = MODEL + "triggers:\n  - name: t\n    on: {crosses: {score: matrix, above: 1}}\n"
    text += "    actions:\n      - webhook: {url: 'https://example.com/h'}\n"
    with pytest.raises(ModelError) as info:
        load_model(text)
    assert "matrix" in str(info.value)


@pytest.mark.spark
def test_spark_thresholds_read_the_cell(staged, spark):
    run_all([staged], CONTACTS, EVENTS, PROPS, [], as_of=AS_OF, spark=spark)
