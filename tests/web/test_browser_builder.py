"""The rule builder in headless Chromium: a rule made without typing YAML, written into
the editor's text, saved, and firing on a contact; the editor's colours, suggestions
and reference links; the editor at a phone's width."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from leadscore.model import load_model_text
from leadscore.model.conditions import Predicate
from leadscore.store import tables as T

from .conftest import PASSWORDS, Live, sign_in
from .test_browser_lists import PHONE, WIDEST, WIDTH

pytestmark = pytest.mark.browser
MODEL = "b2b-saas"


def _countries(live: Live) -> Counter[str]:
    with live.service.store.read() as conn:
        props = conn.execute(sa.select(T.contacts.c.properties)).scalars().all()
    return Counter(p["country"] for p in props if p.get("country"))


def _contact_in(live: Live, country: str) -> str:
    with live.service.store.read() as conn:
        rows = conn.execute(
            sa.select(T.contacts.c.id, T.contacts.c.properties).order_by(T.contacts.c.id)
        ).all()
    return next(cid for cid, p in rows if p.get("country") == country)


def test_a_rule_built_by_picking_is_written_saved_and_fires(new_page, live: Live):
    countries = _countries(live)
    top, count = sorted(countries.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    page = new_page("admin@example.com")
    page.goto(f"/models/edit?name={MODEL}")
    editor = page.get_by_label("Model YAML")
    before = editor.input_value()
    page.get_by_label(re.compile(r"^Property")).fill("country")
    chip = page.locator("#b-common button.chip").first
    expect(chip).to_have_text(f"{top} {count}")  # the most common value, with its contacts
    chip.click()
    expect(page.get_by_label(re.compile(r"^Value"))).to_have_value(top)
    page.get_by_label(re.compile(r"^Operator")).select_option("eq")
    page.get_by_label("Points").fill("7")
    page.get_by_label(re.compile(r"^Group")).fill("fit")
    page.get_by_label(re.compile(r"^Rule name")).fill('Picked: "country"')
    page.get_by_role("button", name="Add rule to the YAML").click()
    expect(page.locator("#builder-result")).to_contain_text('Added Picked: "country" to group fit')
    expect(page.locator("#problems .ok")).to_be_visible()
    text = editor.input_value()
    assert text != before and text.startswith(before.split("\n  engagement:")[0])
    model = load_model_text(text)
    rule = model.groups["fit"].rules[-1]
    assert rule.name == 'Picked: "country"' and rule.points == 7
    assert rule.when == Predicate(field="country", op="eq", value=top)
    # the added lines are selected in the editor, and coloured like the rest
    selected = page.evaluate(
        "() => { const a = document.getElementById('yaml');"
        " return a.value.slice(a.selectionStart, a.selectionEnd); }"
    )
    assert selected.lstrip().startswith('- name: "Picked: \\"country\\""')
    assert page.locator("#highlight .t-key", has_text="points").count() >= 2
    live.shot(page, "editor-builder")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(rf"/models/{MODEL}/versions/\d+$"))
    contact = _contact_in(live, top)
    page.get_by_label("Contact id").fill(contact)
    page.get_by_role("button", name="Test", exact=True).click()
    row = page.locator(".test-result tr", has_text='Picked: "country"')
    expect(row).to_contain_text("+7.0")


def test_an_event_rule_with_cap_window_and_decay(new_page, live: Live):
    page = new_page("viewer@example.com")  # building writes nothing: a viewer may try
    page.goto(f"/models/edit?name={MODEL}")
    page.get_by_label("events the contact did").check()
    expect(page.get_by_label(re.compile(r"^Property"))).to_be_hidden()
    page.get_by_label(re.compile(r"^Event type")).fill("page_view")
    page.get_by_label(re.compile(r"^Attribute")).fill("url")
    expect(page.locator("#b-common button.chip").first).to_be_visible()
    page.get_by_label(re.compile(r"^Operator")).select_option("contains")
    page.get_by_label(re.compile(r"^Value")).fill("/pricing")
    page.get_by_label("Points").fill("3")
    page.get_by_label(re.compile(r"^Group")).fill("engagement")
    page.get_by_label(re.compile(r"^Cap")).fill("9")
    page.get_by_label(re.compile(r"^Window")).fill("14d")
    page.get_by_label(re.compile(r"^Decay")).select_option("half_life")
    page.get_by_label("over").fill("7d")
    page.get_by_role("button", name="Add rule to the YAML").click()
    expect(page.locator("#builder-result")).to_contain_text("to group engagement")
    rule = (
        load_model_text(page.get_by_label("Model YAML").input_value())
        .groups["engagement"]
        .rules[-1]
    )
    assert (rule.points, rule.max_points, rule.within) == (3, 9, 14 * 86400)
    assert rule.decay is not None and rule.decay.seconds == 7 * 86400
    # a wrong field is said, and the text is left as it was
    text = page.get_by_label("Model YAML").input_value()
    page.get_by_label(re.compile(r"^Window")).fill("2 months")
    page.get_by_role("button", name="Add rule to the YAML").click()
    expect(page.locator("#builder-result [role=alert]")).to_contain_text("Not added. the window")
    assert page.get_by_label("Model YAML").input_value() == text


def test_suggestions_and_the_reference_of_the_key_at_the_cursor(new_page, live: Live):
    page = new_page("viewer@example.com")
    page.goto(f"/models/edit?name={MODEL}")
    editor = page.get_by_label("Model YAML")
    editor.fill("name: x\ngroups:\n  fit:\n    rules:\n      - name: A\n        when: {coun")
    editor.press("End")
    editor.type("t")  # a keystroke, as typing does
    options = page.locator("#suggest li")
    expect(options.first).to_have_text("country")
    editor.press("Enter")
    assert editor.input_value().endswith("when: {country: ")
    editor.type("{gt")
    expect(page.locator("#suggest")).to_contain_text("gte")
    editor.press("Escape")
    expect(page.locator("#suggest")).to_be_hidden()
    link = page.locator("#construct-ref")
    expect(link).to_have_text("Reference: when")
    page.goto(link.get_attribute("href"))
    heading = page.locator("h3#property--a-condition-on-the-contacts-properties")
    expect(heading).to_be_visible()
    live.shot(page, "reference")
    expect(page.locator("h2#conditions")).to_be_attached()


def test_the_editor_and_the_reference_fit_a_390px_phone(browser, live: Live):
    context = browser.new_context(viewport=PHONE, base_url=live.url, device_scale_factor=1)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, "admin@example.com", PASSWORDS["admin@example.com"])
        for path in (f"/models/edit?name={MODEL}", "/reference/model"):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            assert page.evaluate(WIDTH) <= 390, f"{path}: {page.evaluate(WIDEST)}"
        page.goto(f"/models/edit?name={MODEL}")
        page.get_by_label("events the contact did").check()  # the longer form
        assert page.evaluate(WIDTH) <= 390, page.evaluate(WIDEST)
        width = page.locator("#editor").evaluate("el => el.getBoundingClientRect().width")
        assert 300 < width <= 390  # the editor keeps the screen's width
        live.shot(page, "phone-builder", full=True)
    finally:
        context.close()
