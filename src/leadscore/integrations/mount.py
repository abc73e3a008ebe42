"""Mounting the integrations on the scoring service: ``install(app)``.

``leadscore serve`` calls :func:`install` (through the service's extension
list). It reads the integrations config from the file named by the
``LEADSCORE_INTEGRATIONS`` environment variable (none: tracking on, no hooks,
no CRM), builds a connector per configured CRM (its token must be in the
environment), and mounts the router with the service as the sink. The sync
log route needs an API key with the ``read`` scope.

What it leaves on ``app.state.integrations``:

* ``crm_delivery``: a callable ``(system, payload)`` that writes a
  ``crm: {system: ...}`` trigger action's payload to that CRM, raising
  :class:`~.http.CrmError` so the outbox retries;
* ``sync_log``, ``config``, ``forwarder``, ``visitors``.

A GDPR erase in the service (``Service.on_erase``) makes them forget the
contact too: see :class:`Forget`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .config import IntegrationsConfig, load_config
from .crm import CrmSync, SyncLog
from .crm.forward import CrmForwarder, CrmTriggerDelivery
from .router import build_router
from .tracking import InMemoryVisitorStore

ENV_CONFIG = "LEADSCORE_INTEGRATIONS"


def connectors(config: IntegrationsConfig) -> dict[str, Any]:
    """One connector per CRM section in the config (tokens read from the environment)."""
    out: dict[str, Any] = {}
    if config.crm.hubspot is not None:
        from .crm.hubspot import HubSpotConnector

        out["hubspot"] = HubSpotConnector.from_config(config.crm.hubspot)
    if config.crm.pipedrive is not None:
        from .crm.pipedrive import PipedriveConnector

        out["pipedrive"] = PipedriveConnector.from_config(config.crm.pipedrive)
    return out


def install(
    app: Any,
    config: IntegrationsConfig | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> None:
    """Mount ``POST /hooks/{source}``, ``GET /t.js``, ``POST /t`` and the sync log."""
    from ..service.deps import require
    from .service_sink import ServiceSink

    env = os.environ if env is None else env
    svc = app.state.service
    if config is None:
        path = getattr(svc.settings, "values", {}).get("integrations") or env.get(ENV_CONFIG)
        config = load_config(path or None)
    log = SyncLog()
    syncs = {name: CrmSync(conn, log=log) for name, conn in connectors(config).items()}
    forwarder = CrmForwarder(list(syncs.values()), background=True) if syncs else None
    visitors: Any = InMemoryVisitorStore()
    if config.tracking.visitor_store:
        from .tracking.sqlite_store import SqliteVisitorStore

        visitors = SqliteVisitorStore(config.tracking.visitor_store)
    reasons = max(
        [s.reasons for s in (config.crm.hubspot, config.crm.pipedrive) if s is not None] or [3]
    )
    app.include_router(
        build_router(
            config,
            ServiceSink(svc, reasons=reasons),
            visitors=visitors,
            sync_log=log,
            on_scores=forwarder,
            protect=[require("read")],
        )
    )
    svc.on_erase.append(Forget(visitors, log, list(syncs.values()), forwarder))
    app.state.integrations = {
        "config": config,
        "sync_log": log,
        "crm_delivery": CrmTriggerDelivery(syncs),
        "forwarder": forwarder,
        "visitors": visitors,
    }


class Forget:
    """What a GDPR erase of a contact removes from the integrations: the browsers linked
    to its e-mail (so their next hits wait as anonymous ones instead of re-creating the
    contact), its CRM sync log entries and sync state (after the CRM writes already
    queued for it are done). The CRM's own record is the CRM's to erase."""

    def __init__(self, visitors: Any, log: SyncLog, syncs: list[CrmSync], forwarder: Any):
        self.visitors, self.log, self.syncs, self.forwarder = visitors, log, syncs, forwarder

    def __call__(self, erased: Any) -> None:
        self.visitors.forget(erased.email, erased.visitors)
        if self.forwarder is not None:
            self.forwarder.flush()
        self.log.forget(erased.contact_id)
        for sync in self.syncs:
            sync.state.forget(erased.contact_id)
            forget = getattr(sync.connector, "forget", None)  # e.g. an e-mail -> id cache
            if callable(forget):
                forget(erased.email)
