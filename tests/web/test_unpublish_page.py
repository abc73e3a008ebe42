"""Unpublishing a model from its page: a confirmation first, then the model is gone
from the lists and the contact pages until a version of it is published again.

The tiny store (helpers.py): three contacts scored by ``tiny`` v1.
"""

from __future__ import annotations

import pytest

from .helpers import client, sign_in, tiny_service


@pytest.fixture
def svc(tmp_path):
    s = tiny_service(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.store.dispose()


def test_unpublish_from_the_models_page_and_publish_again(svc):
    editor = client(svc)
    sign_in(editor, "editor")
    assert 'id="unpublish"' not in editor.get("/models/tiny/versions/1").text
    assert editor.get("/models/tiny/unpublish").status_code == 403

    c = client(svc)
    csrf = sign_in(c, "admin")
    page = c.get("/models/tiny/versions/1").text
    assert 'action="/models/tiny/unpublish"' in page and 'id="unpublish"' in page
    confirm = c.get("/models/tiny/unpublish")
    assert confirm.status_code == 200
    assert '<strong data-testid="unpublish-contacts">3</strong> contacts' in confirm.text

    # posting without the confirmation only asks for it
    r = c.post("/models/tiny/unpublish", data={"csrf": csrf}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/models/tiny/unpublish")
    assert "<h2>tiny</h2>" in c.get("/models").text  # still published
    assert "tiny" in c.get("/dashboard").text

    r = c.post(
        "/models/tiny/unpublish", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, "/models/tiny/versions/1?unpublished=1")
    after = c.get(r.headers["location"]).text
    assert "Unpublished. tiny is unpublished" in after
    assert 'id="unpublish"' not in after and "roll back to v1" in after

    models = c.get("/models").text
    assert "<h2>tiny</h2>" not in models  # not among the models in use
    assert "Unpublished models (1)" in models and "v1 was published" in models
    assert "No model is published yet." in c.get("/dashboard").text
    contact = c.get("/contacts/a").text
    assert 'class="kpi total-tiny"' not in contact  # its score is hidden
    assert c.get("/models/tiny/unpublish").status_code == 409

    # roll back to v1: every contact rescored, the model is back everywhere
    r = c.post(
        "/models/tiny/rollback",
        data={"csrf": csrf, "confirm": "yes", "version": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "<h2>tiny</h2>" in c.get("/models").text
    assert "Unpublished models" not in c.get("/models").text
    shown = 'class="kpi total-tiny" data-testid="total" title="20.0">20<'
    assert shown in c.get("/contacts/a").text
