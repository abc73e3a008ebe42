"""Storing and scoring never run on the event loop: while one tracking hit or hook
is being scored (slowly: a large contact, a heavy model), the server still answers
everything else, ``/health`` included."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from leadscore.integrations import InMemorySink
from leadscore.integrations.config import config_from_text
from leadscore.integrations.events import LeadEvent
from leadscore.integrations.router import build_router


class SlowSink(InMemorySink):
    """A sink whose ingest blocks until released (it stands for a slow rescoring)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def ingest(self, events: Sequence[LeadEvent]) -> list[dict[str, Any]]:
        self.entered.set()
        assert self.release.wait(30), "the test never released the ingest"
        return super().ingest(events)


def _app(sink: SlowSink) -> FastAPI:
    app = FastAPI()
    config = config_from_text(
        "tracking: {consent_required: false}\n"
        "hooks:\n  forms: {kind: form, email_field: email, form_id_field: form_id}\n"
    )
    app.include_router(build_router(config, sink))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


TRACK = {
    "path": "/t",
    "content": json.dumps(
        {"v": "visitor-0001", "id": "h0000001", "t": "form_submit", "e": "ann@acme.example"}
    ),
    "headers": {"Content-Type": "text/plain"},
}
FORM = {
    "path": "/hooks/forms",
    "content": json.dumps({"email": "ann@acme.example", "form_id": "demo"}),
    "headers": {"Content-Type": "application/json"},
}


@pytest.mark.parametrize("request_", [TRACK, FORM], ids=["track", "form-hook"])
def test_health_answers_while_a_hit_is_being_scored(request_):
    sink = SlowSink()
    answers: dict[str, int] = {}
    # One client in a ``with`` block: every request runs on one event loop, as in a server.
    with TestClient(_app(sink)) as client:
        _race(client, sink, request_, answers)
    assert answers["slow"] in (200, 202)
    assert len(sink.events) == 1


def _race(client: TestClient, sink: SlowSink, request_: dict, answers: dict[str, int]) -> None:

    def slow() -> None:
        r = client.post(request_["path"], content=request_["content"], headers=request_["headers"])
        answers["slow"] = r.status_code

    worker = threading.Thread(target=slow)
    worker.start()
    try:
        assert sink.entered.wait(10), "the hit never reached the sink"
        probe = threading.Thread(
            target=lambda: answers.setdefault("health", client.get("/health").status_code)
        )
        probe.start()
        probe.join(5)
        assert answers.get("health") == 200, "/health waited for the scoring to finish"
    finally:
        sink.release.set()
        worker.join(10)
