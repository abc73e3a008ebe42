"""Validation of the account section and of contact rules reading account fields:
every mistake located at its line, with the fix."""

import textwrap

import pytest

from leadscore import ModelError, load_model

BASE = """\
name: t
groups:
  fit:
    rules:
      - {name: Dm, when: {seniority: c_level}, points: 5}
  engagement:
    rules:
      - {name: Visits, on: {type: page_view}, points: 1}
"""


def problems(text: str):
    with pytest.raises(ModelError) as info:
        load_model(textwrap.dedent(text))
    return info.value.problems


def one(text: str):
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_section_loads_with_its_rule_kinds():
    model = load_model(
        BASE
        + """\
account:
  groups:
    fit:
      rules:
        - {name: Software, when: {industry: Software}, points: 20}
        - {name: Known, properties: [industry, employees], points: 1}
    team:
      rules:
        - {name: Team, rollup: sum, of: engagement, max_points: 30}
        - {name: Best, rollup: max, of: total}
        - {name: Top, rollup: top, top: 3, of: engagement}
        - {name: People, rollup: count, where: {engagement: {gte: 5}}, points: 2}
        - name: Group
          rollup: roles
          roles: {boss: {seniority: c_level}, user: {function: it}}
          points: 10
  grades: {fit: {A: 20}}
  thresholds: [{stage: MQA, when: {total: {gte: 50}}}]
  triggers:
    - name: MQA
      on: {enters: MQA}
      actions: [{webhook: {url: "https://x.example/mqa"}}]
"""
    )
    kinds = [r.kind for _, r in model.account.rules()]
    assert kinds == ["property", "completeness", *["rollup"] * 5]
    assert model.account_use.dynamic == {"team", "total", "stage"}


def test_a_roll_up_of_what_reads_the_rolled_up_score_is_a_loop():
    p = one(
        """\
name: t
groups:
  fit:
    rules:
      - {name: Hot account, when: {account.total: {gte: 50}}, points: 5}
account:
  groups:
    team:
      rules:
        - {name: Team, rollup: sum, of: total}
"""
    )
    assert "a loop" in p.message and "'account.total'" in p.message
    assert (p.line, p.dotted_path) == (10, "account.groups.team.rules[0].of")


def test_reading_a_static_account_score_makes_no_loop():
    model = load_model(
        """\
name: t
groups:
  fit:
    rules:
      - {name: A account, when: {account.grade: A}, points: 10}
account:
  groups:
    fit: {rules: [{name: Software, when: {industry: Software}, points: 20}]}
    team: {rules: [{name: Team, rollup: sum, of: total}]}
  grades: {fit: {A: 20}}
"""
    )
    assert model.account_use.score_fields == {"grade"}
    assert not model.account_use.reads_dynamic


def test_an_exclusion_reading_a_rolled_up_score_loops_through_the_excluded_filter():
    p = one(
        BASE
        + """\
exclusions:
  - {name: Cold account, when: {account.total: {lt: 1}}}
account:
  groups:
    team: {rules: [{name: Team, rollup: sum, of: engagement}]}
"""
    )
    assert "'excluded'" in p.message and "include_excluded: true" in p.hint


def test_account_scores_are_numbers():
    p = one(
        BASE.replace("when: {seniority: c_level}", "when: {account.total: {contains: '5'}}")
        + """\
account:
  groups:
    fit: {rules: [{name: Software, when: {industry: Software}, points: 20}]}
"""
    )
    assert "'account.total' is a number" in p.message
    assert p.dotted_path == "groups.fit.rules[0].when"


def test_account_scores_need_an_account_section():
    p = one(BASE.replace("when: {seniority: c_level}", "when: {account.grade: A}"))
    assert "scores no accounts" in p.message
    # account properties need none
    load_model(BASE.replace("when: {seniority: c_level}", "when: {account.industry: Software}"))


def test_event_filters_do_not_read_account_fields():
    p = one(BASE.replace("on: {type: page_view}", "on: {account.industry: Software}"))
    assert "event filter reads 'account.industry'" in p.message


def test_roll_up_shapes():
    def section(rule: str) -> str:
        return BASE + f"account:\n  groups:\n    team:\n      rules:\n        - {rule}\n"

    assert "needs 'of'" in one(section("{name: S, rollup: sum}")).message
    p = one(section("{name: S, rollup: sum, of: engagement, points: 3}"))
    assert "'points' does not go with 'rollup: sum'" in p.message
    assert "needs 'top: N'" in one(section("{name: S, rollup: top, of: engagement}")).message
    assert "needs 'points'" in one(section("{name: S, rollup: count}")).message
    p = one(section("{name: S, rollup: roles, roles: {a: {x: 1}}, points: 1, at_least: 2}"))
    assert "more roles than the 1 listed" in p.message
    p = one(section("{name: S, rollup: sum, of: engagment}"))
    assert p.message == "roll-up of unknown contact score 'engagment'"
    assert p.hint == "did you mean 'engagement'?"
    p = one(section("{name: S, rollup: avg, of: engagement}"))
    assert "'avg' is not allowed here" in p.message


def test_account_rules_read_the_account_s_own_fields():
    p = one(
        BASE
        + """\
account:
  groups:
    fit: {rules: [{name: Soft, when: {account.industry: Software}, points: 1}]}
"""
    )
    assert p.hint == "inside 'account:' fields are the account's own properties: write 'industry'"


def test_accounts_have_no_events_of_their_own():
    p = one(
        BASE
        + """\
account:
  groups:
    fit: {rules: [{name: Soft, on: {type: page_view}, points: 1}]}
"""
    )
    assert "accounts have no events of their own" in p.message


def test_account_triggers():
    found = problems(
        BASE
        + """\
triggers:
  - {name: Hot, on: {crosses: {score: total, above: 50}}, actions: [{email: {to: [a@x.example]}}]}
account:
  groups:
    fit: {rules: [{name: Soft, when: {industry: Software}, points: 1}]}
  thresholds: [{stage: MQA, when: {total: {gte: 1}}}]
  triggers:
    - {name: Hot, on: {enters: MQA}, actions: [{crm: {system: hubspot}}]}
    - {name: Other, on: {enters: SQA}, actions: [{webhook: {url: "https://x.example"}}]}
"""
    )
    messages = {p.message for p in found}
    assert "duplicate trigger name 'Hot'" in messages
    assert "a crm action syncs a contact; an account trigger cannot run it" in messages
    assert "trigger on unknown stage 'SQA'" in messages


def test_reserved_account_group_names():
    p = one(BASE + "account:\n  groups:\n    domain: {rules: []}\n")
    assert p.message == "bad group name 'domain'"


def test_roll_up_conditions_test_contact_scores_as_numbers():
    p = one(
        BASE
        + """\
account:
  groups:
    team:
      rules: [{name: T, rollup: count, where: {engagement: {starts_with: "1"}}, points: 1}]
"""
    )
    assert p.message == "the contacts' 'engagement' is a number: 'starts_with' with '1' tests text"
    assert p.dotted_path == "account.groups.team.rules[0].where"
