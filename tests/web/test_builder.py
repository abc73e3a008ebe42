"""The editor's rule builder over HTTP: the store's names with their counts, a rule
made from a form (values taken as hostile text) written into the YAML that the loader
reads back to the same rule, errors naming the field; and the served reference."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from leadscore.model import load_model_text
from leadscore.model.conditions import OPERATORS, Predicate
from leadscore.model.rules import Decay
from leadscore.model.yamltext import BuildError
from leadscore.service.schemas import EventIn
from leadscore.web import builder, reference

from .helpers import TINY_MODEL, client, sign_in, tiny_service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def svc(tmp_path):
    s = tiny_service(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.store.dispose()


def _form(**fields: str) -> dict[str, str]:
    return {"kind": "property", "op": "eq", "points": "10", "group": "fit", **fields}


def _added(text: str, data: dict[str, str]):
    group, _, added = builder.build(text, data)
    return load_model_text(added.text).groups[group].rules[-1]


def test_the_catalog_counts_the_stored_names_and_values(svc):
    events = [
        ("a", "page_view", {"url": "/pricing"}),
        ("b", "page_view", {"url": "/pricing"}),
        ("b", "page_view", {"url": "/blog"}),
        ("c", "form_submit", {"form_id": "demo"}),
    ]
    svc.ingest([EventIn(contact_id=c, type=t, attributes=a) for c, t, a in events], "test")
    with svc.store.read() as conn:
        found = builder.catalog(conn)
    props = {p["name"]: p for p in found["properties"]}
    # three contacts: US twice, FR once (few values: all offered, most common first)
    assert props["country"]["count"] == 3
    assert props["country"]["values"] == [["US", 2], ["FR", 1]]
    assert props["email_type"]["values"] == [["business", 2], ["free", 1]]
    assert found["contacts"] == 3 and found["events"] == 4
    types = {t["name"]: t for t in found["event_types"]}
    assert [t["name"] for t in found["event_types"]] == ["page_view", "form_submit"]
    assert types["page_view"]["count"] == 3
    assert types["page_view"]["attributes"] == [
        {"name": "url", "count": 3, "values": [["/pricing", 2], ["/blog", 1]]}
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"property": "country", "value": "FR"}, Predicate(field="country", op="eq", value="FR")),
        (
            {"property": "employees", "op": "gte", "value": "50"},
            Predicate(field="employees", op="gte", value=50),
        ),
        (
            {"property": "employees", "op": "between", "value": "50", "high": "500.5"},
            Predicate(field="employees", op="between", value=(50, 500.5)),
        ),
        (
            {"property": "country", "op": "in", "value": 'FR\r\nBE: x\n\n"q"\n'},
            Predicate(field="country", op="in", value=("FR", "BE: x", '"q"')),
        ),
        (
            {"property": "phone", "op": "missing"},
            Predicate(field="phone", op="missing", value=True),
        ),
        (
            {"property": "job_title", "op": "matches", "value": "(?i)\\b(ceo|cto)\\b"},
            Predicate(field="job_title", op="matches", value="(?i)\\b(ceo|cto)\\b"),
        ),
        ({"property": "vip", "value": "true"}, Predicate(field="vip", op="eq", value=True)),
        (
            {"property": "zip", "op": "contains", "value": "75"},
            Predicate(field="zip", op="contains", value="75"),
        ),
    ],
)
def test_each_operator_is_written_as_the_model_language_reads_it(fields, expected):
    rule = _added(TINY_MODEL, _form(**fields))
    assert rule.when == expected
    assert rule.points == 10


HOSTILE = ["a: b", "x # y", 'say "hi"\nand: bye', "yes", "null", " spaced ", "{x}", "é😀", "\u2028"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_and_names_come_back_as_typed(value):
    rule = _added(TINY_MODEL, _form(property=f"p:{value}", value=value, name=f"N {value}"))
    assert rule.name == f"N {value}".strip()
    assert rule.when == Predicate(field=f"p:{value}", op="eq", value=value)


def test_an_event_rule_with_cap_window_and_decay():
    data = {
        "kind": "event",
        "event_type": "page_view",
        "attribute": "url",
        "op": "contains",
        "value": "/pricing",
        "points": "5",
        "max_points": "20",
        "within": "30d",
        "decay": "half_life",
        "decay_for": "2w",
        "group": "engagement",
    }
    rule = _added(TINY_MODEL, data)
    assert rule.kind == "event" and rule.name == "page_view: url contains /pricing"
    assert (rule.points, rule.max_points, rule.within) == (5, 20, 30 * 86400)
    assert rule.decay == Decay(kind="half_life", seconds=14 * 86400)
    any_event = _added(TINY_MODEL, {**data, "attribute": "", "decay": "none", "max_points": ""})
    assert any_event.decay == Decay(kind="none") and any_event.max_points is None
    assert any_event.name == "page_view events"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"property": ""}, "property", "pick the property"),
        ({"property": "x", "value": "1", "points": "ten"}, "points", "points must be a number"),
        ({"property": "x", "value": "1", "points": "0"}, "points", "0 points would never change"),
        ({"property": "x", "op": "gte", "value": "many"}, "value", "must be a number"),
        ({"property": "x", "op": "between", "value": "9", "high": "1"}, "value", "low 9"),
        ({"property": "x", "op": "matches", "value": "(a"}, "value", "bad regular expression"),
        ({"property": "x", "op": "matches", "value": "(a)\\1"}, "value", "cannot be used"),
        ({"property": "x", "op": "in", "value": "\n \n"}, "value", "needs values, one per line"),
        ({"property": "x", "op": "eq", "value": ""}, "value", "type the value"),
        ({"property": "x", "op": "like"}, "op", "unknown operator"),
        ({"property": "x", "value": "1", "name": "Business email"}, "name", "exists already"),
        ({"kind": "event", "event_type": ""}, "event_type", "pick the event type"),
        (
            {"kind": "event", "event_type": "v", "within": "1 month"},
            "within",
            "unknown unit 'month'",
        ),
        ({"kind": "event", "event_type": "v", "max_points": "-5"}, "max_points", "above 0"),
        (
            {"kind": "event", "event_type": "v", "decay": "half_life", "decay_for": "soon"},
            "decay_for",
            "duration",
        ),
        ({"property": "x", "value": "1", "group": "bad group"}, "group", "a group name is letters"),
    ],
)
def test_what_cannot_be_built_says_which_field_and_why(fields, field, message):
    with pytest.raises(BuildError, match=re.escape(message)) as err:
        builder.build(TINY_MODEL, _form(**fields))
    assert err.value.field == field


def test_a_made_up_name_never_clashes():
    first = builder.build(TINY_MODEL, _form(property="country", value="FR"))[2].text
    second = _added(first, _form(property="country", value="FR"))
    assert second.name == "country = FR (2)"


def test_every_operator_of_the_language_is_offered():
    assert set(builder.OPERATOR_LABELS) == set(OPERATORS)


def test_the_route_returns_the_text_with_the_rule_and_its_checks(svc):
    c = client(svc)
    token = sign_in(c, "viewer")  # building changes no store: viewers may try it
    sent = _form(
        yaml=TINY_MODEL.replace("\n", "\r\n"),
        property="country",
        op="in",
        value="FR\nUS",
        csrf=token,
    )
    answer = c.post("/models/builder/rule", data=sent)
    assert answer.status_code == 200
    text = html.unescape(re.search(r'data-yaml="([^"]*)"', answer.text).group(1))
    model = load_model_text(text)
    assert model.groups["fit"].rules[-1].when == Predicate(
        field="country", op="in", value=("FR", "US")
    )
    assert text.startswith(TINY_MODEL.split("thresholds:")[0])
    assert 'id="problems" class="problems" hx-swap-oob="true"' in answer.text
    assert "✓ Valid" in answer.text
    bad = c.post("/models/builder/rule", data={**sent, "points": "lots"})
    assert bad.status_code == 422
    assert "Not added." in bad.text and "points must be a number" in bad.text
    assert "data-yaml" not in bad.text
    broken = c.post("/models/builder/rule", data={**sent, "yaml": "name: [x\n"})
    assert broken.status_code == 422 and "does not read as YAML (line 2)" in broken.text
    forged = c.post("/models/builder/rule", data={k: v for k, v in sent.items() if k != "csrf"})
    assert forged.status_code == 403


def test_the_checks_as_typed_update_the_builders_groups(svc):
    c = client(svc)
    token = sign_in(c, "viewer")
    text = TINY_MODEL.replace("thresholds:", "  intent:\n    rules: []\nthresholds:")
    frag = c.post("/models/validate", data={"yaml": text, "csrf": token}).text
    assert (
        '<datalist id="b-groups" hx-swap-oob="true"><option value="fit"><option value="intent">'
        in frag
    )
    bad = c.post("/models/validate", data={"yaml": "name: [x", "csrf": token}).text
    assert "b-groups" not in bad  # a text with problems leaves the choices as they were


def test_the_editor_offers_the_stored_names_with_counts(svc):
    c = client(svc)
    sign_in(c, "admin")
    page = c.get("/models/edit?name=tiny").text
    assert '<option value="country" label="3 contacts">' in page
    assert 'id="builder-catalog"' in page and 'href="/reference/model"' in page


def test_the_served_reference_is_the_documented_one(svc):
    shipped = reference.SOURCE.read_text(encoding="utf-8")
    assert shipped == (ROOT / "docs" / "model-reference.md").read_text(encoding="utf-8"), (
        "copy docs/model-reference.md to src/leadscore/web/model-reference.md"
    )
    c = client(svc)
    sign_in(c, "viewer")
    page = c.get("/reference/model").text
    ids = set(re.findall(r' id="([^"]+)"', page))
    for key, anchor in reference.CONSTRUCTS.items():
        assert anchor in ids, f"{key}: no section #{anchor}"
    assert reference.CONSTRUCTS["decay"] == "decay"
    assert reference.CONSTRUCTS["max_points"] == "event--points-for-each-matching-event"
    assert "<table" in page and "<pre" in page
    assert "<script" not in page.split("<main", 1)[1]


def test_markdown_text_is_escaped():
    body, toc = reference.render("# A <b>\n\nx <script>alert(1)</script> `<i>` [l](javascript:x)\n")
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "javascript:" not in body
    assert toc == [(1, "a-b", "A <b>")]


def test_each_problem_links_to_its_constructs_section(svc):
    assert (
        reference.section_of("groups.fit.rules[1].within")
        == "event--points-for-each-matching-event"
    )
    assert reference.section_of("groups.fit.rules[0].when.x.gte") == "conditions"
    assert reference.section_of(["triggers", 0, "actions"]) == "triggers"
    assert reference.section_of("") is None
    c = client(svc)
    token = sign_in(c, "viewer")
    bad = TINY_MODEL.replace("points: 20", "points: 20\n        within: 1 month").replace(
        "email_type: business", "email_type: {gte: many}"
    )
    frag = c.post("/models/validate", data={"yaml": bad, "csrf": token}).text
    assert 'href="/reference/model#conditions"' in frag
    # 'within' has no place in a property rule: its link shows where it belongs
    assert 'href="/reference/model#event--points-for-each-matching-event"' in frag
