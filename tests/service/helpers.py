"""Shared pieces of the service tests: a model, a webhook receiver, an SMTP sink, stores."""

from __future__ import annotations

import json
import socketserver
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import sqlalchemy as sa

SECRET = "test-secret"

MODEL = """\
name: demo
groups:
  fit:
    rules:
      - name: Target country
        when: {{country: FR}}
        points: 20
  engagement:
    rules:
      - name: Pricing page
        on: {{type: page_view, url: {{contains: /pricing}}}}
        points: 10
      - name: Demo request
        on: {{type: form_submit}}
        points: 30
exclusions:
  - name: Competitor
    when: {{email: {{ends_with: "@rival.example"}}}}
grades: {{fit: {{A: 20, B: 10}}}}
thresholds:
  - stage: MQL
    when: {{total: {{gte: 50}}}}
default_stage: lead
triggers:
  - name: Tell sales
    on: {{enters: MQL}}
    actions:
      - webhook: {{url: "{url}"}}
"""


def model_yaml(url: str = "http://127.0.0.1:9/hook", **replace: str) -> str:
    text = MODEL.format(url=url)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


class Receiver:
    """A local webhook receiver: records every POST; answers ``status`` (200 by default)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.received.append(
                        {
                            "headers": dict(self.headers),
                            "body": body,
                            "json": json.loads(body or b"null"),
                            "path": self.path,
                        }
                    )
                    status = outer.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keys(self) -> list[str]:
        with self.lock:
            return [r["headers"]["Leadscore-Delivery"] for r in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A minimal SMTP server on 127.0.0.1 that keeps the messages it gets."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 sink ready\r\n")
                data_mode, lines = False, []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    text = line.decode("utf-8", "replace").rstrip("\r\n")
                    if data_mode:
                        if text == ".":
                            outer.messages.append("\n".join(lines))
                            data_mode, lines = False, []
                            self.wfile.write(b"250 queued\r\n")
                        else:
                            lines.append(text)
                        continue
                    verb = text.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.wfile.write(b"250 sink\r\n")
                    elif verb == "DATA":
                        data_mode = True
                        self.wfile.write(b"354 go ahead\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def postgres_database(server_url: str, prefix: str) -> str:
    """A fresh database on the test server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def postgres_schema(database_url: str) -> str:
    """A fresh schema in a database, as a URL whose connections use it."""
    schema = "t_" + uuid.uuid4().hex[:10]
    engine = sa.create_engine("postgresql+psycopg://" + database_url.split("://", 1)[1])
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return database_url + f"?options=-csearch_path%3D{schema}"
