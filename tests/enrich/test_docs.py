"""docs/enrichment.md documents every property, value and command of enrichment."""

import re

import pytest

from leadscore.enrich import PROPERTIES
from leadscore.enrich.email import ROLE_LOCAL_PARTS
from leadscore.enrich.phone import TYPE_NAMES
from leadscore.enrich.titles import FUNCTION_RULES, SENIORITY_RULES

from ..conftest import ROOT

DOC = (ROOT / "docs" / "enrichment.md").read_text()


@pytest.mark.parametrize("prop", [p.name for p in PROPERTIES])
def test_every_property_has_a_row(prop):
    assert re.search(rf"^\| `{prop}` \|", DOC, re.M), f"{prop} is not in the properties table"


def test_every_seniority_function_and_phone_type_is_named():
    labels = {label for label, _ in SENIORITY_RULES} | {label for label, _ in FUNCTION_RULES}
    labels |= {"executive", "other", "invalid", "no_country", *TYPE_NAMES.values()}
    for label in labels:
        assert f"`{label}`" in DOC, label


def test_every_email_type_is_named():
    for kind in ("business", "free", "disposable", "role", "invalid"):
        assert f"`{kind}`" in DOC, kind


def test_role_list_examples_exist_in_the_list():
    for word in ("info", "sales", "accueil", "kontakt", "contacto", "ventas"):
        assert word in ROLE_LOCAL_PARTS and word in DOC


def test_commands_are_documented():
    assert "leadscore enrich --contacts" in DOC
    assert "leadscore next-questions --model" in DOC
    for option in ("--check-deliverability", "--no-fill-country", "--json", "--no-enrich"):
        assert option in DOC, option


def test_python_example_runs(tmp_path, monkeypatch):
    block = re.search(r"```python\n(from leadscore.data.io import load_inputs.*?)```", DOC, re.S)
    (tmp_path / "contacts.csv").write_text("id,email\nc1,jane@gmail.com\n")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block.group(1), "enrichment.md", "exec"), namespace)
    assert "email_type" in namespace["report"].columns_added
