"""/docs and /redoc render in Chromium with every request off the machine refused."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _offline(page) -> list[str]:
    """Refuse, and list, every request to a host other than this machine."""
    blocked: list[str] = []

    def route(r):
        if urlsplit(r.request.url).hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.context.route("**/*", route)
    return blocked


def test_swagger_ui_lists_the_operations_offline(new_page):
    page = new_page()
    blocked = _offline(page)
    page.goto("/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    expect(page.get_by_text("/v1/events", exact=True).first).to_be_visible()
    assert blocked == []


def test_redoc_shows_the_reference_offline(new_page):
    page = new_page()
    blocked = _offline(page)
    page.goto("/redoc")
    expect(page.get_by_text("/v1/events").first).to_be_attached()
    assert blocked == []
