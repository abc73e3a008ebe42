"""End to end in headless Chromium: browse, submit a form, become an MQL, reach the CRM.

Runs Debian's chromium over the DevTools protocol against the scoring service
with the integrations router mounted, served by uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn

from leadscore.store import tables as T

from .cdp import CHROMIUM, Browser
from .fakes import FakeHubSpot
from .stack import build_stack

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError("condition not met in time")


@pytest.fixture()
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} is absent: the browser end-to-end test did NOT run; "
            "install Debian's chromium (apt-get install -y chromium)"
        )
    b = Browser()
    yield b
    b.close()


@pytest.fixture()
def served(tmp_path):
    with FakeHubSpot() as hub:
        stack = build_stack(tmp_path, hub.url, hub.token)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(stack["app"], host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_until(lambda: server.started, 15)
        stack.update(hub=hub, base=f"http://127.0.0.1:{port}")
        yield stack
        server.should_exit = True
        thread.join(timeout=10)
        stack["forwarder"].close()
        stack["service"].store.dispose()


def test_visitor_browses_submits_the_demo_form_and_the_crm_gets_the_mql(browser, served):
    base, visitors, hub, svc = served["base"], served["visitors"], served["hub"], served["service"]
    browser.goto(f"{base}/site/home")
    wait_until(lambda: visitors.stats()["waiting_hits"] == 1)
    browser.goto(f"{base}/site/pricing")
    wait_until(lambda: visitors.stats()["waiting_hits"] == 2)
    browser.goto(f"{base}/site/pricing?plan=pro")
    wait_until(lambda: visitors.stats()["waiting_hits"] == 3)
    assert "ls_aid=" in browser.evaluate("document.cookie")
    with svc.store.read() as conn:  # still anonymous: nothing in the store
        assert conn.execute(sa.select(sa.func.count()).select_from(T.contacts)).scalar() == 0

    browser.evaluate(
        "document.querySelector('input[type=email]').value = 'ann@acme.example';"
        "document.querySelector('form').requestSubmit(); true"
    )
    wait_until(lambda: hub._by_email("ann@acme.example") in hub.writes)
    # the thank-you page is viewed by a now known visitor: its view goes to the contact
    browser.wait_for("location.pathname === '/site/thanks'")

    def stored_events() -> int:
        with svc.store.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(T.events)).scalar()

    wait_until(lambda: stored_events() == 5)
    served["forwarder"].flush()

    with svc.store.read() as conn:
        contact = conn.execute(sa.select(T.contacts)).one()
        events = conn.execute(
            sa.select(T.events.c.type, T.events.c.attributes).order_by(T.events.c.ts)
        ).all()
        score = conn.execute(sa.select(T.scores)).one()
    assert contact.email == "ann@acme.example"
    seen = [(e.type, e.attributes["url"].removeprefix(base)) for e in events]
    assert seen[:3] == [
        ("page_view", "/site/home"),
        ("page_view", "/site/pricing"),
        ("page_view", "/site/pricing?plan=pro"),
    ]
    # the submit's beacon and the thank-you page's may reach the server in either order
    assert sorted(seen[3:]) == [
        ("form_submit", "/site/pricing?plan=pro"),
        ("page_view", "/site/thanks"),
    ]
    assert next(e for e in events if e.type == "form_submit").attributes["form_id"] == "demo"
    assert len({e.attributes["visitor_id"] for e in events}) == 1
    assert (score.total, score.stage) == (60.0, "MQL")  # 2 x pricing 10 + demo 40
    # one write: the thank-you view changed no score, so nothing more was sent
    (write,) = hub.writes[hub._by_email("ann@acme.example")]
    assert write["leadscore_stage"] == "MQL" and write["leadscore_score"] == "60"
    assert visitors.stats() == {"linked": 1, "waiting_visitors": 0, "waiting_hits": 0}


def test_do_not_track_in_the_browser_sends_nothing_and_sets_no_cookie(browser, served):
    base, visitors = served["base"], served["visitors"]
    browser.call("Page.enable")
    browser.call(
        "Page.addScriptToEvaluateOnNewDocument",
        source="Object.defineProperty(navigator, 'doNotTrack', {get: () => '1'});",
    )
    browser.goto(f"{base}/site/home")
    browser.evaluate(
        "document.querySelector('input[type=email]').value = 'dnt@acme.example';"
        "document.querySelector('form').requestSubmit(); true"
    )
    browser.wait_for("location.pathname === '/site/thanks'")
    time.sleep(0.5)  # a beacon, had one been sent, would have arrived by now
    assert visitors.stats() == {"linked": 0, "waiting_visitors": 0, "waiting_hits": 0}
    assert "ls_aid" not in (browser.evaluate("document.cookie") or "")
