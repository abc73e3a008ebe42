"""Docs are part of the product: a construct, operator or command that is not
documented fails here."""

import re

import pytest

from leadscore.cli._reference import render
from leadscore.model.accounts import (
    ROLLUPS,
    AccountExclusion,
    AccountGroup,
    AccountScoring,
    RollupRule,
)
from leadscore.model.conditions import OPERATORS
from leadscore.model.schema import RULE_KINDS, Group, ScoringModel

from ..conftest import ROOT

REFERENCE = (ROOT / "docs" / "model-reference.md").read_text()


def test_every_rule_kind_has_a_section():
    for kind in RULE_KINDS:
        assert re.search(rf"^### {kind} ", REFERENCE, re.M), kind


def test_every_operator_is_documented():
    for op in OPERATORS:
        assert f"`{op}`" in REFERENCE, op


def test_every_model_and_group_key_is_documented():
    for key in [*ScoringModel.model_fields, *Group.model_fields]:
        assert f"{key}:" in REFERENCE or f"`{key}`" in REFERENCE, key


def test_every_account_key_and_rollup_is_documented():
    section = REFERENCE.split("## Accounts", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"^### rollup ", section, re.M)
    for cls in (AccountScoring, AccountGroup, AccountExclusion, RollupRule):
        for name, field in cls.model_fields.items():
            key = field.alias or name
            assert f"{key}:" in section or f"`{key}`" in section, (cls.__name__, key)
    for kind in ROLLUPS:
        assert f"| `{kind}` |" in section, kind


def test_every_decay_kind_is_documented():
    for kind in ("none", "half_life", "linear", "expires", "steps"):
        assert kind in REFERENCE, kind


def test_cli_reference_is_current():
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current.strip() == render().strip(), (
        "docs/cli.md is out of date: run `python -m leadscore.cli._reference > docs/cli.md`"
    )


def test_readme_has_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_readme_python_example_runs(monkeypatch):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "README has no Python example"
    monkeypatch.chdir(ROOT)
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    # by hand: FR 10 + VP 15 + 120 employees 15 + job_title filled 2 = 42 fit,
    # plus one pricing view and one page view a day old, halved every 30 days
    assert result.groups["fit"] == 42
    assert result.total == pytest.approx(42 + (5 + 1) * 0.5 ** (14 / 24 / 30))


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in readme, f"README does not link docs/{page.name}"
