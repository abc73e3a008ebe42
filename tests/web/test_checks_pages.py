"""The editor's checks and the publish confirmation over HTTP: a save with problems is
"not saved" with the text kept, names the store does not hold are warned about, and
publishing shows its impact before anything changes."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from leadscore.service import versions
from leadscore.service.auth import create_key
from leadscore.service.schemas import ContactIn
from leadscore.service.vocabulary import StoreVocabulary
from leadscore.store import tables as T

from .helpers import TINY_MODEL, client, sign_in, tiny_service
from .test_pages import _total


@pytest.fixture
def svc(tmp_path):
    s = tiny_service(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.store.dispose()


def _versions(svc) -> int:
    with svc.store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(T.model_versions)).scalar_one()


def test_a_save_with_problems_says_not_saved_and_keeps_the_text(svc):
    c = client(svc)
    token = sign_in(c, "admin")
    broken = TINY_MODEL.replace("points: 20", "points: twenty") + "# my own note, kept\n"
    before = _versions(svc)
    r = c.post("/models/drafts", data={"yaml": broken, "csrf": token})
    assert r.status_code == 422
    assert "<strong>Not saved.</strong>" in r.text
    assert "The model has 1 problem, listed beside the editor: fix it" in r.text
    assert html.escape(broken, quote=False) in r.text  # the textarea holds the text as typed
    assert "line 8, column 9" in r.text
    assert _versions(svc) == before


def test_an_impossible_bound_is_a_problem_at_its_line_and_not_saved(svc):
    c = client(svc)
    token = sign_in(c, "admin")
    bad = TINY_MODEL.replace("  fit:\n", "  fit:\n    max: -5\n")
    frag = c.post("/models/validate", data={"yaml": bad, "csrf": token}).text
    assert "line 5" in frag and "max -5 is below 0" in frag
    assert "use 0 or more" in frag
    r = c.post("/models/drafts", data={"yaml": bad, "csrf": token})
    assert r.status_code == 422 and "Not saved." in r.text


def test_a_save_refused_by_the_service_says_not_saved_with_the_reason(svc):
    c = client(svc)
    token = sign_in(c, "admin")
    text = TINY_MODEL + "predicted: {model_dir: nowhere}\n"
    r = c.post("/models/drafts", data={"yaml": text, "csrf": token})
    assert r.status_code == 422, r.text
    assert "Not saved." in r.text and "nowhere" in r.text
    assert html.escape(text, quote=False) in r.text


def test_the_editor_warns_about_names_no_stored_contact_or_event_has(svc):
    c = client(svc)
    token = sign_in(c, "admin")
    typo = TINY_MODEL.replace("when: {email_type: business}", "when: {emial_type: business}")
    frag = c.post("/models/validate", data={"yaml": typo, "csrf": token}).text
    assert "✓ Valid" in frag  # a warning, not a problem: it can be saved
    assert "1 warning" in frag
    assert "property &#39;emial_type&#39; is in no contact of the stored contacts" in frag
    assert "did you mean &#39;email_type&#39;?" in frag
    assert 'data-line="7"' in frag  # the warning's line, a button to go there
    clean = c.post("/models/validate", data={"yaml": TINY_MODEL, "csrf": token}).text
    assert "warning" not in clean
    # the API's validate says the same
    with svc.store.write() as conn:
        key = create_key(conn, "test-read", "read")[1]
    api = c.post(
        "/v1/models/validate", json={"yaml": typo}, headers={"Authorization": f"Bearer {key}"}
    )
    assert api.status_code == 200, api.text
    (w,) = api.json()["warnings"]
    assert w["hint"] == "did you mean 'email_type'?" and w["line"] == 7


def test_the_store_vocabulary_is_read_once_per_ttl(svc):
    now = [0.0]
    vocab = StoreVocabulary(svc.store, svc.settings, ttl=30, clock=lambda: now[0])
    first = vocab.get()
    assert {"email_type", "country"} <= first.properties
    assert first.event_types is None  # no event stored: event names are not checked
    svc.upsert_contacts([ContactIn(id="d", properties={"budget": 10})], "test")
    assert "budget" not in vocab.get().properties  # within the TTL: the names kept
    now[0] = 31.0
    assert "budget" in vocab.get().properties


def test_publish_asks_for_confirmation_with_the_impact_first(svc):
    c = client(svc)
    token = sign_in(c, "admin")
    # business e-mail worth 10: a and c drop below MQL (20)
    draft = versions.create_draft(svc, TINY_MODEL.replace("points: 20", "points: 10"), {}, "test")
    v = draft["version"]
    page = c.get(f"/models/tiny/versions/{v}").text
    assert f'action="/models/tiny/versions/{v}/publish"' in page and 'method="get"' in page
    confirm = c.get(f"/models/tiny/versions/{v}/publish")
    assert confirm.status_code == 200
    text = confirm.text
    assert f"Publish tiny v{v}?" in text
    assert 'data-testid="impact-contacts">3<' in text
    assert 'data-testid="score-changes">2<' in text  # a and c: 20 → 10; b stays 0
    assert 'data-testid="impact-stage-changes">2<' in text
    assert "<strong>2</strong> become lead" in text and "<strong>2</strong> leave MQL" in text
    assert _total(svc, "a") == 20.0  # showing the impact wrote nothing
    r = c.post(
        f"/models/tiny/versions/{v}/publish",
        data={"csrf": token, "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _total(svc, "a") == 10.0
    # the published version has nothing to confirm
    again = c.get(f"/models/tiny/versions/{v}/publish", follow_redirects=False)
    assert again.status_code == 303


def test_only_an_admin_sees_the_confirmation(svc):
    c = client(svc)
    sign_in(c, "editor")
    assert c.get("/models/tiny/versions/1/publish").status_code == 403


def test_event_types_and_attributes_are_checked_against_the_stored_events(svc):
    from leadscore.service.schemas import EventIn

    svc.ingest([EventIn(contact_id="a", type="page_view", attributes={"url": "/pricing"})], "test")
    model = TINY_MODEL.replace(
        "thresholds:",
        "  eng:\n    rules:\n"
        "      - name: Pricing\n"
        "        on: {type: page_veiw, urll: {contains: /pricing}}\n"
        "        points: 5\n"
        "thresholds:",
    )
    vocab = StoreVocabulary(svc.store, svc.settings)
    found = versions.validate(model, svc.settings, vocab.get())
    assert found["valid"], found
    by_path = {w["path"]: w for w in found["warnings"]}
    assert by_path["groups.eng.rules[0].on.type"]["hint"] == "did you mean 'page_view'?"
    assert "in no event of the stored events" in by_path["groups.eng.rules[0].on.type"]["message"]
    assert by_path["groups.eng.rules[0].on.urll"]["hint"] == "did you mean 'url'?"
    assert by_path["groups.eng.rules[0].on.type"]["line"] == 12
