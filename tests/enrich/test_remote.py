"""Outside services: a local HTTP server that answers, is slow, fails and rate-limits."""

import contextlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from leadscore.engine.inprocess import score_contact
from leadscore.enrich.remote import (
    PENDING_PROPERTY,
    Enricher,
    HttpEnricher,
    Unavailable,
    apply_enrichers,
)
from leadscore.model import load_model

from ..conftest import EXAMPLES

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Handler(BaseHTTPRequestHandler):
    hits: dict  # path -> count, set per server

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        url = urlparse(self.path)
        self.server.hits[url.path] = self.server.hits.get(url.path, 0) + 1
        query = parse_qs(url.query)
        if url.path == "/company":
            domain = query.get("domain", [""])[0]
            if domain == "acme.com":
                return self._json(
                    200, {"name": "Acme", "metrics": {"employees": 120}, "tags": ["saas"]}
                )
            return self._json(404, {"error": "unknown"})
        if url.path == "/slow":
            time.sleep(1.0)
            return self._json(200, {"name": "Late"})
        if url.path == "/fail":
            return self._json(500, {"error": "boom"})
        if url.path == "/limited":
            self.send_response(429)
            self.send_header("Retry-After", "30")
            self.end_headers()
            return None
        if url.path == "/text":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not json</html>")
            return None
        return self._json(404, {})

    def _json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # the client may have given up waiting (the slow case): that is the point
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.hits = {}
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def base(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def company_api(server, clock, **kw) -> HttpEnricher:
    return HttpEnricher(
        name="company-api",
        url=base(server) + "/company",
        params={"domain": "email_domain"},
        outputs={"company": "name", "employees": "metrics.employees", "tags": "tags"},
        clock=clock,
        **kw,
    )


def test_answer_is_mapped_and_cached(server):
    clock = Clock()
    api = company_api(server, clock, cache_ttl=60)
    contact = {"email_domain": "acme.com"}
    assert api.enrich(contact) == {"company": "Acme", "employees": 120}  # lists are skipped
    assert api.enrich(contact) == {"company": "Acme", "employees": 120}
    assert server.hits["/company"] == 1
    clock.t += 61  # the cached answer has expired
    api.enrich(contact)
    assert server.hits["/company"] == 2


def test_not_found_adds_nothing_and_is_cached(server):
    api = company_api(server, Clock())
    assert api.enrich({"email_domain": "nobody.example"}) == {}
    assert api.enrich({"email_domain": "nobody.example"}) == {}
    assert server.hits["/company"] == 1


def test_missing_input_makes_no_call(server):
    api = company_api(server, Clock())
    assert api.enrich({"email": "x@gmail.com"}) == {}
    assert api.enrich({"email_domain": "  "}) == {}
    assert server.hits == {}


def test_url_placeholders_are_quoted(server):
    api = HttpEnricher(name="x", url=base(server) + "/v1/{email}", outputs={})
    assert api.request_url({"email": "a b@c.com"}).endswith("/v1/a%20b%40c.com")


def test_slow_service_times_out_and_is_marked_for_retry(server):
    slow = HttpEnricher(
        name="slow",
        url=base(server) + "/slow",
        outputs={"company": "name"},
        timeout=0.2,
        clock=Clock(),
    )
    outcome = apply_enrichers({"id": "c1"}, [slow], now=lambda: NOW)
    assert outcome.added == {}
    assert outcome.properties == {"id": "c1", PENDING_PROPERTY: "slow"}
    (pending,) = outcome.pending
    assert pending.enricher == "slow"
    assert "no answer within 0.2s" in pending.reason
    assert pending.retry_at == NOW + timedelta(seconds=slow.pause)


def test_failing_service_is_paused_after_repeated_failures(server):
    clock = Clock()
    api = HttpEnricher(
        name="flaky",
        url=base(server) + "/fail",
        outputs={"company": "name"},
        max_failures=3,
        pause=60,
        clock=clock,
    )
    for _ in range(3):
        with pytest.raises(Unavailable, match="HTTP 500"):
            api.enrich({})
    assert server.hits["/fail"] == 3
    with pytest.raises(Unavailable, match="paused") as info:
        api.enrich({})
    assert info.value.retry_after == pytest.approx(60)
    assert server.hits["/fail"] == 3  # no call while paused
    clock.t += 61
    with pytest.raises(Unavailable, match="HTTP 500"):
        api.enrich({})
    assert server.hits["/fail"] == 4


def test_service_rate_limit_429_is_honoured(server):
    clock = Clock()
    api = HttpEnricher(name="limited", url=base(server) + "/limited", outputs={}, clock=clock)
    with pytest.raises(Unavailable, match="429") as info:
        api.enrich({})
    assert info.value.retry_after == 30
    with pytest.raises(Unavailable, match="paused"):
        api.enrich({})
    assert server.hits["/limited"] == 1
    clock.t += 31
    with pytest.raises(Unavailable, match="429"):
        api.enrich({})
    assert server.hits["/limited"] == 2


def test_own_rate_limit_never_waits(server):
    clock = Clock()
    api = company_api(server, clock, rate_limit=2, rate_period=1.0)
    api.enrich({"email_domain": "a.example"})
    api.enrich({"email_domain": "b.example"})
    with pytest.raises(Unavailable, match="rate limit") as info:
        api.enrich({"email_domain": "c.example"})
    assert info.value.retry_after == pytest.approx(0.5)
    assert server.hits["/company"] == 2
    assert api.enrich({"email_domain": "a.example"}) == {}  # cached answers need no token
    clock.t += 0.5  # one token back
    api.enrich({"email_domain": "c.example"})
    assert server.hits["/company"] == 3


def test_refused_connection_and_bad_json_are_failures(server):
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    gone = HttpEnricher(
        name="gone", url=f"http://127.0.0.1:{port}/company", outputs={}, clock=Clock()
    )
    with pytest.raises(Unavailable, match="cannot connect"):
        gone.enrich({})


def test_not_json_is_a_failure(server):
    api = HttpEnricher(name="html", url=base(server) + "/text", outputs={}, clock=Clock())
    with pytest.raises(Unavailable, match="not JSON"):
        api.enrich({})


def test_scoring_goes_on_with_what_is_known_then_catches_up(server):
    model = load_model(EXAMPLES / "b2b_saas.yaml")
    clock = Clock()
    good = company_api(server, clock)
    down = HttpEnricher(
        name="verifier", url=base(server) + "/fail", outputs={"x": "y"}, clock=clock
    )
    contact = {"id": "c1", "email_domain": "acme.com", "country": "FR"}
    first = apply_enrichers(contact, [down, good], now=lambda: NOW)
    assert first.properties[PENDING_PROPERTY] == "verifier"
    assert first.added == {"company": "Acme", "employees": 120}
    result = score_contact(model, first.properties, as_of=NOW)
    # by hand: target country 10 + 50-500 employees 15 + company filled 2
    assert result.groups["fit"] == 27
    up = HttpEnricher(
        name="verifier",
        url=base(server) + "/company",
        params={"domain": "email_domain"},
        outputs={"industry": "name"},
        clock=clock,
    )
    second = apply_enrichers(first.properties, [up, good], now=lambda: NOW)
    assert PENDING_PROPERTY not in second.properties
    assert second.properties["company"] == "Acme"


def test_existing_properties_are_kept(server):
    outcome = apply_enrichers(
        {"email_domain": "acme.com", "company": "ACME SAS"}, [company_api(server, Clock())]
    )
    assert outcome.properties["company"] == "ACME SAS"
    assert outcome.added == {"employees": 120}


def test_any_object_with_name_and_enrich_is_an_enricher():
    class Static:
        name = "static"

        def enrich(self, contact):
            return {"industry": "Software"}

    assert isinstance(Static(), Enricher)
    assert apply_enrichers({}, [Static()]).properties == {"industry": "Software"}


def test_upsert_runs_offline_enrichment_then_outside_services(server):
    from leadscore.enrich import enrich_on_upsert

    clock = Clock()
    api = company_api(server, clock)
    down = HttpEnricher(name="verifier", url=base(server) + "/fail", outputs={"x": "y"},
                        clock=clock)  # fmt: skip
    outcome = enrich_on_upsert({"id": "c1", "email": "Jane@Acme.com", "company": ""},
                               [api, down], now=lambda: NOW)  # fmt: skip
    props = outcome.properties
    assert props["email_domain"] == "acme.com"  # offline, read by the company API
    assert props["company"] == "Acme"  # offline from the domain name, kept (fill-only)
    assert props["employees"] == 120  # from the outside service
    assert props[PENDING_PROPERTY] == "verifier"
    assert outcome.added["email_type"] == "business" and outcome.added["employees"] == 120
    assert [p.enricher for p in outcome.pending] == ["verifier"]
