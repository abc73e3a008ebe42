"""Golden scores for examples/spreadsheet.yaml: the weighted mean of six criteria
(weights 20 size, 25 role, 10 industry, 15 country, 20 budget, 10 e-mail; Σ = 100),
worked out by hand."""

from __future__ import annotations

import pytest

from leadscore import load_model, score_contact

from ..conftest import EXAMPLES
from .helpers import AS_OF, points

GOOD = {
    "id": "s1",
    "employees": "300",  # 100
    "job_title": "Head of Marketing",  # 80
    "industry": "Software",  # 100
    "country": "FR",  # 100
    "budget": "20000",  # 60
    "email": "anna@northgate.io",  # 100: a business address
}


@pytest.fixture(scope="module")
def model():
    return load_model(EXAMPLES / "spreadsheet.yaml")


def test_good_lead(model):
    r = score_contact(model, GOOD, [], as_of=AS_OF)
    assert points(r) == {"Company size": 100, "Role": 80, "Industry": 100, "Country": 100,
                         "Budget": 60, "Email address": 100}  # fmt: skip
    # (20·100 + 25·80 + 10·100 + 15·100 + 20·60 + 10·100) / 100 = 8700 / 100
    assert r.groups == {"score": 87}
    assert (r.total, r.grade, r.stage) == (87, "A", "SQL")


def test_middling_lead_with_else_values_and_lower_case_country(model):
    contact = {"id": "s2", "employees": "30", "job_title": "Marketing Manager",
               "industry": "Retail", "country": "es", "email": "a.b@gmail.com"}  # fmt: skip
    r = score_contact(model, contact, [], as_of=AS_OF)
    assert points(r) == {"Company size": 30, "Role": 50, "Industry": 20, "Country": 60,
                         "Budget": 20, "Email address": 40}  # fmt: skip
    # (600 + 1250 + 200 + 900 + 400 + 400) / 100
    assert r.total == 37.5
    assert (r.grade, r.stage) == ("C", "lead")


@pytest.mark.parametrize(
    ("change", "criterion", "value", "group"),
    [
        # 8700 - 10·100 + 10·(-1000) = -2300
        ({"email": "x@mailinator.com"}, "Email address", -1000, -23),
        # 8700 - 20·60 + 20·(-500) = -2500
        ({"budget": "0"}, "Budget", -500, -25),
        # 8700 - 15·100 + 15·(-1000) = -7800
        ({"country": "RU"}, "Country", -1000, -78),
    ],
)
def test_one_sinking_criterion_sinks_a_good_lead(model, change, criterion, value, group):
    r = score_contact(model, {**GOOD, **change}, [], as_of=AS_OF)
    assert points(r)[criterion] == value
    assert r.groups == {"score": group}
    assert (r.total, r.grade, r.stage, r.excluded) == (0, "D", "lead", False)


def test_empty_contact_gets_the_else_values(model):
    r = score_contact(model, {"id": "s7"}, [], as_of=AS_OF)
    assert points(r) == {"Role": 10, "Industry": 20, "Country": 20, "Budget": 20}
    # (25·10 + 10·20 + 15·20 + 20·20) / 100; size and e-mail give 0 but still weigh
    assert r.total == 11.5
    assert (r.grade, r.stage) == ("D", "lead")


def test_competitor_is_excluded_however_good(model):
    r = score_contact(model, {**GOOD, "email": "bob@rival.example"}, [], as_of=AS_OF)
    assert r.groups == {"score": 87}
    assert r.excluded and r.exclusion_reasons == ("Competitor",)
    assert (r.total, r.stage) == (0, None)
