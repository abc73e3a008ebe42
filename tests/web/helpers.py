"""A tiny store with hand-computable scores, and a signed-in test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from leadscore.service import Service, create_app, load_settings, versions
from leadscore.service.schemas import ContactIn
from leadscore.web import users

# Business e-mail: 20 points; MQL from 20. Ties are broken by contact id, descending.
TINY_MODEL = """name: tiny
scale: {min: 0, max: 100}
groups:
  fit:
    rules:
      - name: Business email
        when: {email_type: business}
        points: 20
thresholds:
  - stage: MQL
    when: {total: {gte: 20}}
default_stage: lead
"""
CONTACTS = {
    "a": {"email_type": "business", "country": "FR", "source": "Events", "last_name": "Arnaud"},
    "b": {"email_type": "free", "country": "US", "source": "Referral", "last_name": "Brown"},
    "c": {"email_type": "business", "country": "US", "source": "Events", "last_name": "Chen"},
}
PASSWORD = "a-long-password"


def tiny_service(url: str) -> Service:
    settings = load_settings({"database": url, "sweep_interval": 0, "outbox_poll_interval": 0})
    svc = Service(settings)
    svc.upsert_contacts(
        [ContactIn(id=cid, properties=props) for cid, props in CONTACTS.items()], "test"
    )
    draft = versions.create_draft(svc, TINY_MODEL, {}, "test")
    versions.publish(svc, "tiny", draft["version"], "test", fire_triggers=False)
    with svc.store.write() as conn:
        for role in users.ROLES:
            users.create_user(conn, f"{role}@example.com", PASSWORD, role)
    return svc


def client(svc: Service) -> TestClient:
    return TestClient(create_app(svc.settings, service=svc, workers=False))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(c: TestClient, role: str) -> str:
    """Sign in as the user with this role; returns the session's CSRF token."""
    token = csrf_of(c.get("/login").text)
    r = c.post(
        "/login",
        data={"csrf": token, "email": f"{role}@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(c.get("/leads").text)


NOW = datetime.now(UTC)
