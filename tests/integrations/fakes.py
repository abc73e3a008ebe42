"""Local stand-ins for the parts of the HubSpot and Pipedrive APIs the connectors call.

Built from the public API documentation: request and answer shapes, paging
(HubSpot ``paging.next.after``, Pipedrive ``additional_data.next_cursor`` and
v1 ``pagination``), auth headers, 429 with ``Retry-After`` and 5xx. Each
server runs on 127.0.0.1 in a thread; ``script`` holds statuses to answer
before doing real work (a 429 storm, an outage), ``requests`` what came in.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeClock:
    """Monotonic time that advances only when someone sleeps; records the sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.sleeps.append(seconds)
            self.t += seconds

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)


class FakeApi:
    token = "secret-token-123"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: deque[tuple[int, dict[str, str]]] = deque()
        self.chaos: Any = None  # callable(request number) -> (status, headers) or None
        self.page_cap = 100
        self.lock = threading.Lock()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, count: int = 1, **headers: str) -> None:
        for _ in range(count):
            self.script.append((status, {k.replace("_", "-"): v for k, v in headers.items()}))

    def authorized(self, headers: Any) -> bool:
        raise NotImplementedError

    def handle(self, method: str, path: str, query: dict[str, str], body: Any):
        raise NotImplementedError

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _go(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                with api.lock:
                    api.requests.append(
                        {"method": method, "path": parts.path, "query": query, "body": body}
                    )
                    scripted = api.script.popleft() if api.script else None
                    if scripted is None and api.chaos is not None:
                        scripted = api.chaos(len(api.requests))
                    if scripted is not None:
                        status, headers, answer = scripted[0], scripted[1], {"message": "nope"}
                    elif not api.authorized(self.headers):
                        status, headers = 401, {}
                        answer = {"status": "error", "message": "Authentication missing."}
                    else:
                        status, answer = api.handle(method, parts.path, query, body)
                        headers = {}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._go("GET")

            def do_POST(self) -> None:
                self._go("POST")

            def do_PATCH(self) -> None:
                self._go("PATCH")

        return Handler


class FakeHubSpot(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.contacts: dict[str, dict[str, Any]] = {}  # id -> properties
        self.events: dict[str, list[dict[str, Any]]] = {}  # contact id -> events
        self.writes: dict[str, list[dict[str, str]]] = {}  # id -> each write's properties
        self.email_events: list[dict[str, Any]] = []
        self.known_properties = {
            "email", "firstname", "lastname", "company", "jobtitle", "country",
            "leadscore_score", "leadscore_grade", "leadscore_stage", "leadscore_reasons",
        }  # fmt: skip
        self._next = 1000

    def add_contact(self, **props: str) -> str:
        self._next += 1
        cid = str(self._next)
        self.contacts[cid] = dict(props)
        return cid

    def authorized(self, headers: Any) -> bool:
        return headers.get("authorization") == f"Bearer {self.token}"

    def _by_email(self, email: str) -> str | None:
        return next((i for i, p in self.contacts.items() if p.get("email") == email), None)

    def _bad_props(self, inputs: list[dict[str, Any]]):
        for i in inputs:
            for k in i.get("properties", {}):
                if k not in self.known_properties:
                    return 400, {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": f'Property "{k}" does not exist',
                    }
        return None

    def handle(self, method: str, path: str, query: dict[str, str], body: Any):
        if method == "POST" and path == "/crm/v3/objects/contacts/batch/upsert":
            inputs = body["inputs"]
            if len(inputs) > 100:
                return 400, {"status": "error", "message": "at most 100 inputs"}
            ids = [i["id"] for i in inputs]
            if len(set(ids)) != len(ids):
                return 400, {"status": "error", "message": "Duplicate IDs found in batch input"}
            bad = self._bad_props(inputs)
            if bad:
                return bad
            results = []
            for i in inputs:
                assert i["idProperty"] == "email"
                cid = self._by_email(i["id"]) or self.add_contact(email=i["id"])
                self.contacts[cid].update(i["properties"])
                self.writes.setdefault(cid, []).append(dict(i["properties"]))
                results.append({"id": cid, "properties": dict(self.contacts[cid])})
            return 200, {"status": "COMPLETE", "results": results}
        if method == "POST" and path == "/crm/v3/objects/contacts/batch/update":
            inputs = body["inputs"]
            bad = self._bad_props(inputs)
            if bad:
                return bad
            results, errors = [], []
            for i in inputs:
                if i["id"] not in self.contacts:
                    errors.append(
                        {"status": "error", "category": "OBJECT_NOT_FOUND",
                         "message": "Object not found", "context": {"ids": [i["id"]]}}
                    )  # fmt: skip
                    continue
                self.contacts[i["id"]].update(i["properties"])
                self.writes.setdefault(i["id"], []).append(dict(i["properties"]))
                results.append({"id": i["id"], "properties": dict(self.contacts[i["id"]])})
            return (207 if errors else 200), {
                "status": "COMPLETE", "results": results, "errors": errors
            }  # fmt: skip
        if method == "GET" and path == "/crm/v3/objects/contacts":
            limit = min(int(query.get("limit", 10)), self.page_cap)
            wanted = query.get("properties", "").split(",")
            ids = sorted(self.contacts, key=int)
            start = int(query.get("after", 0))
            page = [i for i in ids if int(i) > start][:limit]
            out = {
                "results": [
                    {"id": i, "properties": {k: self.contacts[i].get(k) for k in wanted}}
                    for i in page
                ]
            }
            if page and page[-1] != ids[-1]:
                out["paging"] = {"next": {"after": page[-1], "link": "?after=" + page[-1]}}
            return 200, out
        if method == "GET" and path == "/events/v3/events/":
            evs = self.events.get(query["objectId"], [])
            limit = int(query.get("limit", 100))
            start = int(query.get("after", 0))
            page = evs[start : start + limit]
            out = {"results": page}
            if start + limit < len(evs):
                out["paging"] = {"next": {"after": str(start + limit)}}
            return 200, out
        if method == "GET" and path == "/email/public/v1/events":
            limit = min(int(query.get("limit", 100)), self.page_cap)
            start = int(query.get("offset", 0))
            page = self.email_events[start : start + limit]
            more = start + limit < len(self.email_events)
            return 200, {"events": page, "hasMore": more, "offset": str(start + limit)}
        return 404, {"status": "error", "message": f"no route {method} {path}"}


class FakePipedrive(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.persons: dict[int, dict[str, Any]] = {}
        self.person_fields = [
            {"key": "name", "name": "Name"},
            {"key": "a" * 40, "name": "Lead score"},
            {"key": "b" * 40, "name": "Lead grade"},
            {"key": "c" * 40, "name": "Lead stage"},
            {"key": "d" * 40, "name": "Lead reasons"},
        ]
        self.writes: dict[int, list[dict[str, Any]]] = {}
        self._next = 0

    def add_person(self, name: str, email: str) -> int:
        self._next += 1
        self.persons[self._next] = {
            "id": self._next, "name": name, "custom_fields": {},
            "emails": [{"value": email, "primary": True, "label": "work"}],
        }  # fmt: skip
        return self._next

    def authorized(self, headers: Any) -> bool:
        return headers.get("x-api-token") == self.token

    def handle(self, method: str, path: str, query: dict[str, str], body: Any):
        if method == "GET" and path == "/api/v1/personFields":
            start = int(query.get("start", 0))
            limit = min(int(query.get("limit", 100)), self.page_cap)
            page = self.person_fields[start : start + limit]
            more = start + limit < len(self.person_fields)
            pagination = {"start": start, "limit": limit, "more_items_in_collection": more}
            if more:
                pagination["next_start"] = start + limit
            return 200, {"success": True, "data": page,
                         "additional_data": {"pagination": pagination}}  # fmt: skip
        if method == "GET" and path == "/api/v2/persons/search":
            term = query["term"]
            items = [
                {"result_score": 1.0, "item": {"id": p["id"], "name": p["name"]}}
                for p in self.persons.values()
                if any(e["value"] == term for e in p["emails"])
            ]
            return 200, {"success": True, "data": {"items": items}}
        if method == "GET" and path == "/api/v2/persons":
            limit = min(int(query.get("limit", 100)), self.page_cap)
            ids = sorted(self.persons)
            start = int(query.get("cursor", 0))
            page = [i for i in ids if i > start][:limit]
            nxt = str(page[-1]) if page and page[-1] != ids[-1] else None
            return 200, {"success": True, "data": [self.persons[i] for i in page],
                         "additional_data": {"next_cursor": nxt}}  # fmt: skip
        if method == "PATCH" and path.startswith("/api/v2/persons/"):
            pid = int(path.rsplit("/", 1)[1])
            if pid not in self.persons:
                return 404, {"success": False, "error": "Person not found"}
            keys = {f["key"] for f in self.person_fields}
            for k in body.get("custom_fields", {}):
                if k not in keys:
                    return 400, {"success": False, "error": f"Unknown custom field {k}"}
            self.persons[pid]["custom_fields"].update(body["custom_fields"])
            self.writes.setdefault(pid, []).append(dict(body["custom_fields"]))
            return 200, {"success": True, "data": self.persons[pid]}
        return 404, {"success": False, "error": f"no route {method} {path}"}
