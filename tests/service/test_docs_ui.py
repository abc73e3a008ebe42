"""/docs and /redoc load their viewers from the service itself, never from a CDN."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from leadscore.service import create_app, load_settings

TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    app = create_app(
        load_settings({"database": f"sqlite:///{folder / 'd.db'}"}, env={}), workers=False
    )
    with TestClient(app) as c:
        yield c
    app.state.service.store.dispose()


def _urls(html: str) -> list[str]:
    found = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    found += re.findall(r"""(?:url|spec-url)\s*:\s*["']([^"']+)["']""", html)
    found += re.findall(r"""spec-url\s*=\s*["']([^"']+)["']""", html)
    return found


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_reference_no_other_host(client, page):
    r = client.get(page)
    assert r.status_code == 200
    html = r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert not re.search(r"(https?:)?//[a-z0-9]", html, re.I), re.findall(r"\S*//\S*", html)
    urls = _urls(html)
    assert any(u.endswith(".js") for u in urls) and "/openapi.json" in urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        kind = next(v for k, v in TYPES.items() if url.endswith(k))
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])


def test_the_viewers_are_the_real_bundles(client):
    swagger = client.get("/docs-assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in swagger.text and len(swagger.content) > 500_000
    redoc = client.get("/docs-assets/redoc.standalone.js")
    assert "Redoc" in redoc.text and len(redoc.content) > 500_000
    assert client.get("/docs/oauth2-redirect").status_code == 200
