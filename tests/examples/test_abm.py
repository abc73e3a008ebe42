"""examples/abm.yaml: accounts and the contacts that read them, worked out by hand
on two accounts, then run on generated accounts where both evaluators must agree."""

from __future__ import annotations

import pytest

from leadscore import load_model
from leadscore.data.generate import accounts_path, generate
from leadscore.data.io import load_inputs
from leadscore.engine.accounts import score_population
from leadscore.engine.sql.duckdb import score_account_rows

from ..conftest import EXAMPLES
from .helpers import AS_OF, event, points


@pytest.fixture(scope="module")
def model():
    return load_model(EXAMPLES / "abm.yaml")


ACME = {"id": "a1", "domain": "www.acme.example", "industry": "Software", "employees": "250",
        "country": "FR", "customer": "no", "revenue": "30000000"}  # fmt: skip
SHOP = {"id": "a2", "domain": "shop.example", "industry": "Retail", "employees": "5",
        "country": "US", "customer": "yes"}  # fmt: skip


def person(cid: str, title: str, seniority: str, function: str, **props) -> dict:
    return {"id": cid, "email": f"{cid}@acme.example", "job_title": title,
            "seniority": seniority, "function": function, **props}  # fmt: skip


@pytest.fixture(scope="module")
def population(model):
    demo = event(1, "form_submit", 0, form_id="demo")
    webinar = event(2, "webinar_attended", 0)
    click = event(3, "email_click", 0)
    people = [
        (person("p1", "CEO", "c_level", "executive"), [demo, webinar]),  # engagement 45
        (person("p2", "Software Engineer", "individual", "engineering"), [webinar]),  # 15
        (person("p3", "Marketing Manager", "manager", "marketing"), [click]),  # 3
        (person("p4", "Student", "individual", "other"), [demo]),  # excluded
        ({**person("p5", "CEO", "c_level", "executive"), "email": "p5@shop.example"}, [demo]),
        ({**person("p6", "CEO", "c_level", "executive"), "email": "p6@gmail.com"}, [demo]),
    ]
    return score_population(model, people, [ACME, SHOP], as_of=AS_OF)


def test_target_account_with_an_engaged_buying_group_is_mqa(population):
    acme = population.accounts[0]
    assert acme.account_id == "a1" and acme.contacts == 4
    got = {h.rule: h.points for h in acme.fired()}
    assert got == {
        "Target industry": 15,
        "Company size": 15,  # 250 employees
        "Target country": 10,
        "Not a customer yet": 5,
        "Firmographics known": 8,  # industry, employees, country, revenue
        "Team engagement": 20,  # 45 + 15 + 3 = 63 (the student does not count), capped
        "Three most engaged": 10,  # (45 + 15 + 3) / 3 = 21, capped
        "Engaged people": 5,  # engagement ≥ 20: p1 only
        "Buying group": 20,  # p1 a C-level, p2 an engineer, both with engagement ≥ 10
    }
    assert acme.groups == {"fit": 50, "engagement": 55}  # fit 53 → 50
    assert (acme.total, acme.grade, acme.stage) == (100, "A", "MQA")  # 105 → 100
    roles = next(h for h in acme.breakdown if h.rule == "Buying group")
    assert {c.contact_id: c.detail for c in roles.contributions} == {
        "p1": "decision maker",
        "p2": "user",
    }


def test_a_customer_is_excluded(population):
    shop = population.accounts[1]
    # fit: size -5 (under 10), country 10, three of four firmographics 6; not scored
    assert shop.groups["fit"] == 11 and shop.grade == "C"
    assert (shop.total, shop.stage, shop.exclusion_reasons) == (0, None, ("Existing customer",))


def test_contacts_get_points_for_an_a_and_mqa_account(population):
    by_id = {str(r.contact_id): r for r in population.contacts}
    p1 = points(by_id["p1"])
    assert p1["At an A account"] == 10 and p1["At a qualified account"] == 10
    # Decision maker 15 + job title filled 2 + the two account rules
    assert by_id["p1"].groups["fit"] == 37
    assert by_id["p1"].total == 37 + 45 and by_id["p1"].stage == "SQL"  # grade B
    assert "At an A account" not in points(by_id["p5"])  # at the customer: grade C
    assert by_id["p5"].groups["fit"] == 17
    assert population.links["p6"] is None  # free-mail, no account_id
    assert by_id["p6"].groups["fit"] == 17


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("abm")
    contacts, events = generate(1500, 4, folder, events_per_contact=10)
    return contacts, events, accounts_path(folder)


def test_generated_data_same_scores_in_process_and_on_duckdb(model, generated):
    contacts, events, accounts = generated
    inputs = load_inputs(contacts, events, accounts=accounts, enrich=True)
    sql_contacts, sql_accounts = score_account_rows([model], inputs.con, as_of=AS_OF)
    pop = score_population(model, list(inputs.contact_rows()), inputs.account_rows(), as_of=AS_OF)
    assert len(sql_accounts) == len(pop.accounts) == inputs.n_accounts
    for mine, theirs in zip(pop.accounts, sql_accounts, strict=True):
        row = mine.row()
        for key, value in row.items():
            if isinstance(value, float):
                assert theirs[key] == pytest.approx(value, abs=1e-9), (row["account_id"], key)
            else:
                assert theirs[key] == value, (row["account_id"], key)
    sql = {r["contact_id"]: r for r in sql_contacts}
    for result in pop.contacts:
        theirs = sql[result.contact_id]
        assert theirs["total"] == pytest.approx(result.total, abs=1e-9), result.contact_id
        assert theirs["stage"] == result.stage
        assert theirs["account_id"] == pop.links[result.contact_id]
    # a sensible spread: some accounts qualify, not all; customers are set aside
    stages = [a.stage for a in pop.accounts]
    assert 0.05 * len(stages) < stages.count("MQA") < 0.4 * len(stages)
    assert 0 < sum(a.excluded for a in pop.accounts) < 0.1 * len(stages)
    groups = sum(any(h.rule == "Buying group" for h in a.fired()) for a in pop.accounts)
    assert 0 < groups < len(stages)
    # contacts at MQA accounts got the points of the second pass
    fired = sum("At a qualified account" in points(r) for r in pop.contacts)
    assert 0 < fired < len(pop.contacts)
