"""The editor's checks and the publish confirmation in headless Chromium: what an
admin sees when a model has a typo or an impossible bound, and before publishing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from leadscore.service import versions
from leadscore.store import tables as T

from .conftest import Live
from .test_browser import MODEL, _published

pytestmark = pytest.mark.browser


def _count_versions(live: Live) -> int:
    with live.service.store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(T.model_versions)).scalar_one()


def _published_text(live: Live) -> str:
    with live.service.store.read() as conn:
        return versions.version_row(conn, MODEL, _published(live)).yaml


def test_a_typo_is_warned_with_did_you_mean_and_a_bad_bound_is_not_saved(new_page, live: Live):
    text = _published_text(live)
    assert "when: {email_type: business}" in text
    page = new_page("admin@example.com")
    page.goto(f"/models/edit?name={MODEL}")
    editor = page.get_by_label("Model YAML")
    typo = text.replace("when: {email_type: business}", "when: {emial_type: business}", 1)
    editor.fill(typo)
    warning = page.locator("#problems ul.warnings li").filter(has_text="emial_type")
    expect(warning).to_contain_text("is in no contact of the stored contacts")
    expect(warning).to_contain_text("did you mean 'email_type'?")
    expect(page.locator("#problems .ok")).to_be_visible()  # a warning: still valid
    line = 1 + typo.splitlines().index(next(x for x in typo.splitlines() if "emial_type" in x))
    warning.locator("button.goto").click()  # to the line the warning is about
    assert (
        page.evaluate(
            "() => { const a = document.getElementById('yaml');"
            " return a.value.slice(0, a.selectionStart).split('\\n').length; }"
        )
        == line
    )
    # an impossible bound: a problem, and saving says "not saved" and keeps the text
    negative = re.sub(r"(\n  fit:\n(?:    .*\n)*?)    max: \d+", r"\1    max: -60", text, count=1)
    assert "max: -60" in negative
    negative += "# a note of mine\n"
    editor.fill(negative)
    expect(page.locator("#problems")).to_contain_text("max -60 is below 0")
    before = _count_versions(live)
    page.get_by_role("button", name="Save draft").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not saved.")
    expect(alert).to_contain_text("Your text is kept below")
    assert page.get_by_label("Model YAML").input_value() == negative
    assert _count_versions(live) == before
    live.shot(page, "editor-not-saved")


def test_publish_shows_the_impact_and_waits_for_confirmation(new_page, live: Live):
    before = _published(live)
    text = _published_text(live)
    lower = text.replace("when: {total: {gte: 50}}", "when: {total: {gte: 35}}")
    assert lower != text
    draft = versions.create_draft(live.service, lower, {}, "test")["version"]
    expected = versions.impact(live.service, MODEL, draft)
    assert expected["entering"].get("MQL", 0) > 0  # a lower threshold makes new MQLs
    page = new_page("admin@example.com")
    page.goto(f"/models/{MODEL}/versions/{draft}")
    page.get_by_role("button", name=f"Publish v{draft}").click()
    page.wait_for_url(re.compile(rf"/versions/{draft}/publish\??$"))
    expect(page.get_by_role("heading", name=f"Publish {MODEL} v{draft}?")).to_be_visible()
    assert page.get_by_test_id("impact-contacts").inner_text() == str(expected["contacts"])
    assert page.get_by_test_id("score-changes").inner_text() == str(expected["score_changes"])
    assert page.get_by_test_id("impact-stage-changes").inner_text() == str(
        expected["stage_changes"]
    )
    become = page.get_by_test_id("entering-MQL").inner_text()
    assert become == f"{expected['entering']['MQL']} become MQL"
    live.shot(page, "publish-confirm", full=True)
    assert _published(live) == before  # seeing the impact changed nothing
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(re.compile(rf"/versions/{draft}$"))
    assert _published(live) == before
    page.get_by_role("button", name=f"Publish v{draft}").click()
    page.get_by_role("button", name=f"Confirm: publish v{draft}").click()
    page.wait_for_url(re.compile(r"published=1"))
    assert _published(live) == draft
    # back to the version the other tests expect
    versions.rollback(live.service, MODEL, before, "test", fire_triggers=False)
    assert _published(live) == before
