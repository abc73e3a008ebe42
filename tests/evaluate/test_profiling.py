"""Progressive profiling: which unknown fields to ask next, worked out by hand."""

from pathlib import Path

import pytest

from leadscore.evaluate.profiling import OTHER_ANSWER, candidate_values, next_questions
from leadscore.evaluate.witness import witnesses
from leadscore.model import load_model

MODEL = """
name: tiny
groups:
  fit:
    rules:
      - name: Big company
        when: {employees: {gte: 100}}
        points: 30
      - name: Senior
        when: {seniority: [c_level, vp]}
        points: 20
      - name: Business email
        when: {email_type: business}
        points: 5
      - name: Software
        when: {industry: Software}
        points: 4
  engagement:
    rules:
      - name: Visits
        on: {type: page_view}
        points: 15
exclusions:
  - name: Competitor
    when: {company: Rival}
grades: {fit: {A: 40, B: 20}}
thresholds:
  - stage: MQL
    when: {total: {gte: 40}}
default_stage: lead
"""
FIELDS = ["industry", "employees", "job_title", "email", "company", "phone"]
AS_OF = "2026-03-01T00:00:00Z"


@pytest.fixture
def model(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text(MODEL)
    return load_model(path)


def test_ranking_without_events(model):
    contact = {"id": "c1", "email": "jane@gmail.com"}  # free mail: total 0, grade D, lead
    got = next_questions(model, contact, FIELDS, n=10, as_of=AS_OF)
    # company "Rival" excludes (a stage change); employees >= 100 gives 30 (grade B);
    # a c-level or vp title gives 20 (grade B); Software gives 4; the e-mail is known;
    # no phone answer changes anything
    assert [q.field for q in got] == ["company", "employees", "job_title", "industry"]
    company, employees, title, industry = got
    assert company.changes_stage and company.stages == ("excluded", "lead")
    assert company.lowest.value == "Rival" and company.lowest.excluded
    assert (employees.spread, employees.grades, employees.stages) == (30, ("B", "D"), ("lead",))
    assert employees.highest.value == 100 and employees.lowest.value == 99
    assert employees.changes_grade and not employees.changes_stage
    assert title.spread == 20 and title.highest.total == 20
    assert industry.spread == 4 and not industry.changes_grade
    assert employees.now.total == 0 and employees.now.grade == "D"


def test_events_count_and_n_cuts(model):
    contact = {"id": "c1", "email": "jane@gmail.com"}
    events = [{"type": "page_view", "ts": "2026-02-01T10:00:00Z"}]
    got = next_questions(model, contact, FIELDS, n=2, events=events, as_of=AS_OF)
    # now 15; employees -> 45 reaches MQL (spread 30); Rival excludes (15 -> 0, spread 15)
    assert [q.field for q in got] == ["employees", "company"]
    assert got[0].highest.total == 45 and got[0].highest.stage == "MQL"
    assert got[0].stages == ("MQL", "lead")


def test_known_fields_are_skipped(model):
    contact = {"id": "c1", "employees": "250", "industry": "Retail"}
    got = next_questions(model, contact, ["employees", "industry", "job_title"], as_of=AS_OF)
    assert [q.field for q in got] == ["job_title"]


def test_answers_are_enriched_unless_asked_not_to(model):
    contact = {"id": "c1"}
    (title,) = next_questions(model, contact, ["job_title"], as_of=AS_OF)
    assert title.highest.value in ("CEO", "CTO", "CFO", "CMO", "VP Sales", "VP Engineering")
    assert next_questions(model, contact, ["job_title"], as_of=AS_OF, enrich=False) == []
    (email,) = next_questions(model, contact, ["email"], as_of=AS_OF)
    assert email.highest.total == 5  # a business address


def test_stage_changes_first_and_nothing_to_ask(model):
    tied = next_questions(model, {"id": "c"}, ["industry", "company"], as_of=AS_OF)
    assert [q.field for q in tied] == ["company", "industry"]  # stage change first
    assert next_questions(model, {"id": "c"}, ["nothing", "at_all"], as_of=AS_OF) == []


def test_candidate_values_come_from_the_model(model):
    assert candidate_values(model, "employees") == [99, 100, 101, OTHER_ANSWER]
    assert candidate_values(model, "company") == ["Rival", OTHER_ANSWER]
    phones = candidate_values(model, "phone", {"country": "France"})
    assert "+33612345678" in phones and "12" in phones


def test_regex_examples():
    assert witnesses(r"(?i)\b(ceo|cto|vp)\b") == ("ceo", "cto", "vp")
    assert witnesses(r"^\d{3}-[A-Z]+$") == ("000-A",)
    assert witnesses("[unclosed") == ()


def test_the_example_model(tmp_path):
    from ..conftest import EXAMPLES

    model = load_model(EXAMPLES / "b2b_saas.yaml")
    contact = {"id": "c1", "email": "jane@acme-industrie.fr", "country": "FR"}
    got = next_questions(model, contact, ["job_title", "employees", "budget"], as_of=AS_OF)
    # a student title excludes the contact: the title is the question to ask first
    assert got[0].field == "job_title" and "excluded" in got[0].stages


def test_without_as_of_every_answer_is_scored_at_the_same_time():
    # the example model halves engagement every 30 days: answers scored a moment apart
    # would differ, and a field no rule reads would look worth asking
    from datetime import UTC, datetime, timedelta

    from ..conftest import EXAMPLES

    model = load_model(EXAMPLES / "b2b_saas.yaml")
    events = [{"type": "email_click", "ts": datetime.now(UTC) - timedelta(days=3)}]
    got = next_questions(model, {"id": "c"}, ["favourite_colour", "industry"], events=events)
    assert [q.field for q in got] == ["industry"]
    assert got[0].spread == 5
