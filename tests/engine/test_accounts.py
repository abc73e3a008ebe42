"""Accounts in process: which contacts link, each roll-up worked out by hand, and
contacts reading their account's fields."""

from __future__ import annotations

import pytest

from leadscore.engine import score_contact
from leadscore.engine.accounts import Member, score_account, score_population
from leadscore.engine.linking import AccountIndex, email_domain, normalise_domain
from leadscore.model import load_model

AS_OF = "2026-03-01T00:00:00Z"
ACME = {"id": "acme", "domain": "https://www.Acme.com/about", "industry": "Software"}
GMAIL = {"id": "gm", "domain": "gmail.com"}


# ----------------------------------------------------------------------------- linking


def test_email_domain_is_after_the_last_at_trimmed_and_lower_case():
    assert email_domain(" Ann@ACME.com ") == "acme.com"
    assert email_domain("a@b@acme.com") == "acme.com"
    assert email_domain("ann.acme.com") is None  # no @: no domain
    assert email_domain("ann@") is None
    assert email_domain(None) is None


def test_account_domains_are_read_as_domains():
    assert normalise_domain("https://www.Acme.com/about") == "acme.com"
    assert normalise_domain("ACME.COM.") == "acme.com"
    assert normalise_domain("sales@acme.com") == "acme.com"
    assert normalise_domain("acme.com:8080") == "acme.com"
    assert normalise_domain("not a domain") is None
    assert normalise_domain("localhost") is None


def test_free_mail_never_links():
    index = AccountIndex([ACME, GMAIL])
    assert index.link({"email": "ann@gmail.com"}) is None
    assert index.report.counts["free"] == 1
    assert index.report.free == [("gm", "gmail.com")]
    assert "free-mail" in index.report.lines()[0]
    # a free-mail contact still links when it names its account
    assert index.link({"email": "ann@gmail.com", "account_id": "acme"}) == "acme"


def test_disposable_domains_never_link_either():
    index = AccountIndex([{"id": "x", "domain": "mailinator.com"}])
    assert index.link({"email": "bob@mailinator.com"}) is None
    assert index.report.counts["free"] == 1


def test_explicit_link_wins_over_the_domain():
    beta = {"id": "beta", "domain": "beta.io"}
    index = AccountIndex([ACME, beta])
    assert index.link({"email": "ann@acme.com"}) == "acme"
    assert index.link({"email": "ann@acme.com", "account_id": " beta "}) == "beta"


def test_an_explicit_link_to_no_known_account_does_not_fall_back_to_the_domain():
    index = AccountIndex([ACME])
    assert index.link({"email": "ann@acme.com", "account_id": "gone"}) is None
    assert index.link({"email": "ann@acme.com", "account_id": "  "}) == "acme"  # blank: no link


def test_a_shared_domain_links_to_the_smallest_id():
    index = AccountIndex([{"id": "b2", "domain": "acme.com"}, {"id": "b1", "domain": "ACME.com"}])
    assert index.link({"email": "x@acme.com"}) == "b1"
    assert index.report.shared == [("b2", "acme.com", "b1")]


# ----------------------------------------------------------------------------- roll-ups

MODEL = load_model(
    """
name: abm
groups:
  engagement:
    rules:
      - name: Visits
        on: {type: page_view}
        points: 10
exclusions:
  - name: Student
    when: {job_title: Student}
account:
  groups:
    fit:
      rules:
        - name: Software
          when: {industry: Software}
          points: 20
    team:
      rules:
        - {name: Sum, rollup: sum, of: engagement, max_points: 45}
        - {name: Max, rollup: max, of: engagement}
        - {name: Top two, rollup: top, top: 2, of: engagement}
        - {name: Engaged, rollup: count, where: {engagement: {gte: 20}}, points: 4}
        - {name: Two engaged, rollup: count, where: {engagement: {gte: 10}}, at_least: 2,
           points: 7}
        - name: Buying group
          rollup: roles
          roles:
            boss: {seniority: c_level}
            user: {function: it}
          where: {engagement: {gte: 10}}
          points: 11
        - {name: Everyone, rollup: count, points: 1, include_excluded: true}
  grades: {fit: {A: 20, else: D}}
  thresholds:
    - stage: MQA
      when: {total: {gte: 100}}
"""
)


def member(cid: str, engagement: float, excluded: bool = False, **props) -> Member:
    scores = {"groups": {"engagement": engagement}, "total": engagement, "grade": None}
    return Member.of({"id": cid, **props}, {**scores, "stage": None, "excluded": excluded})


TEAM = [
    member("c1", 30, seniority="c_level"),
    member("c2", 20, function="it"),
    member("c3", 5, function="it"),
    member("c4", 50, True),  # excluded: counts only where include_excluded is set
]


def hits():
    return {h.rule: h for h in score_account(MODEL, ACME, TEAM, as_of=AS_OF).breakdown}


def test_sum_of_the_counted_contacts_capped():
    h = hits()["Sum"]
    # 30 + 20 + 5 = 55 (c4 excluded), capped to 45; contributions scaled by 45/55
    assert (h.points_raw, h.points, h.capped, h.matched) == (55, 45, True, 3)
    shares = {c.contact_id: c.points for c in h.contributions}
    assert shares == pytest.approx({"c1": 30 * 45 / 55, "c2": 20 * 45 / 55, "c3": 5 * 45 / 55})


def test_max_and_top_n():
    h = hits()
    assert h["Max"].points == 30  # c4's 50 is excluded
    assert [c.contact_id for c in h["Max"].contributions] == ["c1"]
    assert h["Top two"].points == (30 + 20) / 2
    assert {c.contact_id: c.points for c in h["Top two"].contributions} == {"c1": 15, "c2": 10}


def test_top_n_counts_missing_contacts_as_zero():
    result = score_account(MODEL, ACME, [member("c1", 30)], as_of=AS_OF)
    assert next(h for h in result.breakdown if h.rule == "Top two").points == 15


def test_count_per_contact_and_at_least():
    h = hits()
    assert (h["Engaged"].matched, h["Engaged"].points) == (2, 8)  # c1 and c2 ≥ 20
    # c1 and c2 have 10 or more (c3 has 5, c4 is excluded): 7 points once
    assert (h["Two engaged"].matched, h["Two engaged"].fired, h["Two engaged"].points) == (
        2,
        True,
        7,
    )
    one = score_account(MODEL, ACME, TEAM[:1], as_of=AS_OF)
    alone = next(x for x in one.breakdown if x.rule == "Two engaged")
    assert (alone.matched, alone.fired, alone.points) == (1, False, 0)
    assert h["Everyone"].points == 4  # include_excluded: c4 counts too


def test_roles_need_every_role_covered_by_a_counted_contact():
    h = hits()["Buying group"]
    assert h.fired and h.points == 11 and h.matched == 2
    assert {c.contact_id: c.detail for c in h.contributions} == {"c1": "boss", "c2": "user"}
    # without the engaged IT user (c3 has 5 < 10), the user role is not covered
    result = score_account(MODEL, ACME, [TEAM[0], TEAM[2]], as_of=AS_OF)
    h = next(h for h in result.breakdown if h.rule == "Buying group")
    assert not h.fired and h.points == 0 and h.detail.startswith("1 of 2 roles")


def test_account_total_grade_and_stage():
    result = score_account(MODEL, ACME, TEAM, as_of=AS_OF)
    # team: 45 + 30 + 25 + 8 + 7 + 11 + 4 = 130; fit 20: the total 150 is clamped to 100
    assert result.groups == {"fit": 20, "team": 130}
    assert (result.total, result.grade, result.stage, result.contacts) == (100, "A", "MQA", 4)
    assert result.contributions()["c3"] == pytest.approx(5 * 45 / 55 + 1)


def test_an_account_without_contacts_scores_from_its_properties():
    result = score_account(MODEL, ACME, [], as_of=AS_OF)
    assert result.groups == {"fit": 20, "team": 0} and result.rules_fired == 1


# ----------------------------------------------------------------------------- populations

READER = load_model(
    """
name: reader
groups:
  fit:
    rules:
      - {name: At an A account, when: {account.grade: A}, points: 10}
      - {name: At a qualified account, when: {account.stage: MQA}, points: 5}
      - {name: Software, when: {account.industry: Software}, points: 1}
  engagement:
    rules:
      - {name: Visits, on: {type: page_view}, points: 10}
exclusions:
  - name: Customer
    when: {account.customer: yes}
account:
  groups:
    fit:
      rules: [{name: Software, when: {industry: Software}, points: 20}]
    team:
      rules: [{name: Team, rollup: sum, of: engagement}]
  grades: {fit: {A: 20}}
  thresholds: [{stage: MQA, when: {total: {gte: 40}}}]
"""
)


def visits(n: int) -> list[dict]:
    return [
        {"type": "page_view", "ts": "2026-02-01T00:00:00Z", "event_id": f"e{i}"} for i in range(n)
    ]


def test_contacts_read_static_scores_first_and_rolled_up_ones_after():
    people = [
        ({"id": "c1", "email": "ann@acme.com"}, visits(1)),
        ({"id": "c2", "email": "bob@acme.com"}, visits(1)),
        ({"id": "c3", "email": "cat@gmail.com"}, visits(3)),
    ]
    pop = score_population(READER, people, [ACME], as_of=AS_OF)
    by_id = {r.contact_id: r for r in pop.contacts}
    assert pop.links == {"c1": "acme", "c2": "acme", "c3": None}
    (acme,) = pop.accounts
    # the account: fit 20 + the team's engagement 10 + 10 = 40: MQA
    assert (acme.total, acme.stage) == (40, "MQA")
    # each contact: A account 10 + MQA account 5 + Software 1 = 16 fit, plus 10
    assert by_id["c1"].groups == {"fit": 16, "engagement": 10}
    assert by_id["c3"].groups == {"fit": 0, "engagement": 30}  # free mail: no account


def test_an_exclusion_on_an_account_property():
    customer = {**ACME, "customer": "yes"}
    pop = score_population(
        READER, [({"id": "c1", "email": "a@acme.com"}, [])], [customer], as_of=AS_OF
    )
    assert pop.contacts[0].excluded and pop.contacts[0].exclusion_reasons == ("Customer",)


def test_a_contact_s_own_account_dot_property_is_not_read_when_accounts_are():
    contact = {"id": "c1", "email": "a@gmail.com", "account.industry": "Software"}
    pop = score_population(READER, [(contact, [])], [ACME], as_of=AS_OF)
    assert pop.contacts[0].groups["fit"] == 0
    # scored alone (no accounts), the property is read as written
    assert score_contact(READER, contact, [], as_of=AS_OF).groups["fit"] == 1


def test_the_python_example_of_the_accounts_page_runs(monkeypatch):
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "accounts.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", text, re.S)
    monkeypatch.chdir(root)
    namespace: dict = {}
    exec(compile(block, "docs/accounts.md", "exec"), namespace)
    pop = namespace["population"]
    assert pop.links == {"c1": "acme", "c2": "acme"}  # by domain, and explicitly
    (acme,) = pop.accounts
    assert acme.contacts == 2
    # fit by hand: Software 15 + 240 employees 15 + FR 10 + not a customer 5 + 4 of 4
    # firmographics filled 8 = 53, above the group's max of 50
    assert acme.groups["fit"] == 50
    assert acme.grade == "A"
    assert set(acme.contributions()) <= {"c1", "c2"}
