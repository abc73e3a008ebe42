"""The scoring service with the integrations router mounted, as a deployment would run it.

One line mounts the router (see ``mount``); the CRM forwarder writes score
changes to a CRM (here the local fake HubSpot). Pages under ``/site/`` stand
in for a customer's website that includes ``t.js``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from leadscore.integrations.config import config_from_text
from leadscore.integrations.crm import CrmSync, SyncLog
from leadscore.integrations.crm.forward import CrmForwarder
from leadscore.integrations.crm.hubspot import HubSpotConnector, client_for
from leadscore.integrations.router import build_router
from leadscore.integrations.service_sink import ServiceSink
from leadscore.integrations.tracking import InMemoryVisitorStore
from leadscore.service import create_app, load_settings, versions

MODEL = """\
name: web
groups:
  engagement:
    rules:
      - name: Pricing page
        on: {type: page_view, url: {contains: /pricing}}
        points: 10
        max_points: 30
      - name: Demo request
        on: {type: form_submit, form_id: demo}
        points: 40
thresholds:
  - stage: MQL
    when: {total: {gte: 50}}
default_stage: lead
"""

PAGE = """<!doctype html><html><head><title>{title}</title>
<script async src="/t.js"></script></head><body><h1>{title}</h1>
<a id="next" href="/site/pricing">pricing</a>
<form id="demo" method="post" action="/site/thanks">
  <input type="email" name="email"><input name="company"><button>Book a demo</button>
</form></body></html>"""


def build_stack(tmp_path: Path, hub_url: str, hub_token: str) -> dict[str, Any]:
    settings = load_settings(
        {
            "database": f"sqlite:///{tmp_path / 'store.db'}",
            "outbox_poll_interval": 0,
            "sweep_interval": 0,
        },
        env={},
    )
    app: FastAPI = create_app(settings, workers=False)
    svc = app.state.service
    draft = versions.create_draft(svc, MODEL, {}, "test")
    versions.publish(svc, draft["name"], draft["version"], "test", fire_triggers=False)

    config = config_from_text(
        f"crm:\n  hubspot: {{base_url: '{hub_url}'}}\n"
        "hooks:\n  sendgrid: {kind: sendgrid, require_signature: false}\n"
    )
    hubspot = HubSpotConnector(config.crm.hubspot, client_for(config.crm.hubspot, hub_token))
    log = SyncLog()
    forwarder = CrmForwarder([CrmSync(hubspot, log=log)], background=True)
    visitors = InMemoryVisitorStore()
    # The one line a deployment adds:
    app.include_router(
        build_router(config, ServiceSink(svc), visitors=visitors, sync_log=log, on_scores=forwarder)
    )

    @app.get("/site/{page}", response_class=HTMLResponse, include_in_schema=False)
    def site(page: str) -> str:
        return PAGE.format(title=page)

    @app.post("/site/thanks", response_class=HTMLResponse, include_in_schema=False)
    def thanks() -> str:
        return PAGE.format(title="thanks")

    return {"app": app, "service": svc, "forwarder": forwarder, "visitors": visitors, "log": log}
