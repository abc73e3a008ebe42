"""The outgoing-request policy: URL form, refused addresses, resolution at delivery.

Every test stays on loopback: targets the policy refuses are checked with a
recorder of connection attempts that must stay empty.
"""

from __future__ import annotations

import socket

import pytest

from leadscore.actions import outbound
from leadscore.actions.outbound import OutboundPolicy, UrlRefused, guarded_client
from leadscore.actions.webhook import DeliveryFailed, post
from leadscore.errors import ModelError, UsageError
from leadscore.model import load_model

from ..service.helpers import Receiver, model_yaml

REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:22/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://10.0.0.5/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://localhost:8000/hook",
]
ODD_SPELLINGS = [
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://127.000.000.001/hook",
    "http://0x7f.0.0.1/hook",
]


@pytest.fixture
def attempts(monkeypatch) -> list:
    """Every TCP connection the process tries to open (and lets through)."""
    seen: list = []
    real = socket.create_connection

    def record(address, *args, **kwargs):
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", record)
    return seen


@pytest.mark.parametrize("url", REFUSED)
def test_internal_targets_are_refused_by_default(url):
    with pytest.raises(UrlRefused, match="may not reach") as err:
        OutboundPolicy().check_url(url)
    assert "outbound_allow" in err.value.hint


@pytest.mark.parametrize("url", [*ODD_SPELLINGS, "http://user:pass@crm.example/hook"])
def test_odd_host_spellings_and_userinfo_are_refused_when_the_model_is_read(url):
    with pytest.raises(ModelError) as err:
        load_model(model_yaml(url))
    (problem,) = err.value.problems  # only the real problem: no "actions: must not be empty"
    assert problem.path[-1] == "url" and problem.line == 28
    assert problem.hint


def test_a_refused_url_reports_one_problem_not_an_empty_actions_list():
    with pytest.raises(ModelError) as err:
        load_model(model_yaml("ftp://crm.example/hook"))
    assert [p.message for p in err.value.problems] == [
        "'ftp://crm.example/hook' is not an http(s) URL"
    ]


def test_upper_case_scheme_and_host_are_accepted_and_normalised():
    model = load_model(model_yaml("HTTP://CRM.Example:8080/Hooks/MQL?A=1"))
    assert model.triggers[0].actions[0].url == "http://crm.example:8080/Hooks/MQL?A=1"


def test_the_allow_list_takes_hosts_and_cidrs():
    policy = OutboundPolicy.parse("127.0.0.1, 10.0.0.0/8 hooks.internal")
    assert policy.check_url("http://127.0.0.1:9/hook") == "http://127.0.0.1:9/hook"
    assert policy.check_url("http://10.2.3.4/hook")
    assert policy.check_url("http://HOOKS.internal/hook") == "http://hooks.internal/hook"
    with pytest.raises(UrlRefused):
        policy.check_url("http://169.254.169.254/")
    with pytest.raises(UsageError, match="outbound_allow"):
        OutboundPolicy.parse("not a host!")


@pytest.mark.parametrize("url", [*REFUSED[:4], "http://0x7f000001/hook"])
def test_a_refused_literal_target_is_never_connected_to(url, attempts):
    client = guarded_client(OutboundPolicy(), 2.0)
    with pytest.raises(DeliveryFailed) as err:
        post(client, url, b"{}", secret="s", delivery="d1")
    assert err.value.reason == "blocked" and err.value.permanent
    assert attempts == []


def test_a_host_name_resolving_to_a_refused_address_is_never_connected_to(monkeypatch, attempts):
    # DNS rebinding: one of the answers is the metadata address; refused as a whole.
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["203.0.113.9", "169.254.169.254"])
    client = guarded_client(OutboundPolicy(), 2.0)
    with pytest.raises(DeliveryFailed) as err:
        post(client, "http://hooks.example/mql", b"{}", secret="s", delivery="d1")
    assert err.value.reason == "blocked"
    assert "169.254" not in str(err.value)  # says why, without the address
    assert attempts == []


def test_the_connection_goes_to_the_checked_address_with_the_host_header_kept(
    monkeypatch, attempts
):
    receiver = Receiver()
    try:
        port = receiver.server.server_address[1]
        monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
        client = guarded_client(OutboundPolicy.parse("127.0.0.0/8"), 2.0)
        assert (
            post(client, f"http://hooks.test:{port}/hook", b"{}", secret="s", delivery="d") == 200
        )
        assert attempts == [("127.0.0.1", port)]
        assert receiver.received[0]["headers"]["Host"] == f"hooks.test:{port}"
    finally:
        receiver.close()


def test_failures_are_classified_without_the_raw_error(attempts):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = guarded_client(OutboundPolicy.parse("127.0.0.1"), 2.0)
    with pytest.raises(DeliveryFailed) as err:
        post(client, f"http://127.0.0.1:{port}/hook", b"{}", secret="s", delivery="d")
    assert err.value.reason == "refused" and not err.value.permanent
    assert str(err.value) == "refused: the receiver refused the connection"


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS receiver on 127.0.0.1 whose certificate names hooks.test only."""
    import shutil
    import ssl
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=hooks.test", "-addext", "subjectAltName=DNS:hooks.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


def test_tls_is_checked_against_the_host_name_not_the_address(monkeypatch, tls_receiver):
    import ssl

    port, cert = tls_receiver
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
    trusted = ssl.create_default_context(cafile=str(cert))
    client = guarded_client(OutboundPolicy.parse("127.0.0.1"), 5.0, verify=trusted)
    assert post(client, f"https://hooks.test:{port}/h", b"{}", secret="s", delivery="d") == 204
    # the same certificate does not name the address: refused, classified as tls
    with pytest.raises(DeliveryFailed) as err:
        post(client, f"https://127.0.0.1:{port}/h", b"{}", secret="s", delivery="d")
    assert err.value.reason == "tls"
    # a certificate nobody vouches for: refused by default
    with pytest.raises(DeliveryFailed) as err:
        post(
            guarded_client(OutboundPolicy.parse("127.0.0.1"), 5.0),
            f"https://hooks.test:{port}/h", b"{}", secret="s", delivery="d",
        )  # fmt: skip
    assert err.value.reason == "tls"
