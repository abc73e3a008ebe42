"""A running service with sample data, three users, and headless Chromium driving it.

The service runs in a thread on 127.0.0.1 (uvicorn, SQLite in a temporary
folder). The browser is Debian's Chromium, driven by Playwright; no browser is
ever downloaded. Screenshots go to a temporary folder, or to the folder named
by ``LEADSCORE_WEB_SCREENSHOTS`` (``docs/img`` refreshes the documentation's).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadscore.service import Service, create_app, load_settings
from leadscore.web import users
from leadscore.web.sample import seed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORDS = {
    "admin@example.com": "admin-password-1",
    "editor@example.com": "editor-password-1",
    "viewer@example.com": "viewer-password-1",
}
SAMPLE_CONTACTS = 150
VIEWPORT = {"width": 1366, "height": 768}


@dataclass
class Live:
    url: str
    service: Service
    shots: Path

    def shot(self, page, name: str, *, full: bool = False) -> Path:
        path = self.shots / f"web-{name}.png"
        page.screenshot(path=str(path), full_page=full)
        return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(svc: Service, folder: Path) -> Iterator[Live]:
    """The service's app served by uvicorn in a thread on 127.0.0.1 until the block ends."""
    import uvicorn

    app = create_app(svc.settings, service=svc, workers=False)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    shots = Path(os.environ.get("LEADSCORE_WEB_SCREENSHOTS") or folder / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        yield Live(f"http://127.0.0.1:{port}", svc, shots)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        svc.store.dispose()


def web_settings(folder: Path):
    return load_settings(
        {
            "database": f"sqlite:///{folder / 'store.db'}",
            "sweep_interval": 0,
            "outbox_poll_interval": 0,
        }
    )


def add_users(svc: Service) -> None:
    with svc.store.write() as conn:
        for email, password in PASSWORDS.items():
            users.create_user(conn, email, password, email.split("@")[0])


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("web")
    svc = Service(web_settings(folder))
    seed(svc, SAMPLE_CONTACTS, weeks=6)
    add_users(svc)
    with serve(svc, folder) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium): the web app's "
            "browser tests did NOT run"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]'): browser tests skipped")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser, live: Live):
    yield from pages(browser, live)


def pages(browser, live: Live, passwords: dict[str, str] = PASSWORDS) -> Iterator:
    """A maker of signed-in browser pages on ``live``; closes them afterwards."""
    contexts = []

    def make(email: str | None = None):
        context = browser.new_context(viewport=VIEWPORT, base_url=live.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if email is not None:
            sign_in(page, email, passwords[email])
        return page

    yield make
    for c in contexts:
        c.close()


def sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
