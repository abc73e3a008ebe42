"""The demo seeder fills a store that the API then serves."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from leadscore.service import create_app, load_settings
from leadscore.service.demo import seed_demo

from .helpers import model_yaml


def test_seed_demo_then_serve(tmp_path: Path):
    model = tmp_path / "demo.yaml"
    model.write_text(model_yaml("https://hooks.example/leadscore"))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("id,email,country\nc1,ann@acme.example,FR\nc2,bob@acme.example,DE\n")
    events = tmp_path / "events.csv"
    events.write_text(
        "contact_id,event_id,type,ts,url\n"
        "c1,e1,form_submit,2026-01-01T00:00:00Z,\n"
        "c1,e2,page_view,2026-01-02T00:00:00Z,/pricing\n"
        "c2,e3,page_view,2026-01-02T00:00:00Z,/careers\n"
    )
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    out = seed_demo(url, model, contacts, events)
    assert (out["contacts"], out["events"], out["model"], out["version"]) == (2, 3, "demo", 1)
    again = seed_demo(url, model, contacts, events)  # idempotent on events
    assert again["version"] == 2
    app = create_app(
        load_settings({"database": url, "outbox_poll_interval": 0, "sweep_interval": 0}, env={})
    )
    with TestClient(app) as client:
        h = {"Authorization": f"Bearer {out['token']}"}
        page = client.get("/v1/contacts", headers=h).json()
        # c1: FR 20 + demo 30 + pricing 10 = 60 (MQL); c2: 0
        assert [(i["id"], i["score"]["total"], i["score"]["stage"]) for i in page["items"]] == [
            ("c1", 60.0, "MQL"),
            ("c2", 0.0, "lead"),
        ]
        assert client.get("/v1/contacts/c1", headers=h).json()["events"] == 2
        assert client.get("/v1/deliveries", headers=h).json()["total"] == 0
