"""The polite HTTP client: token bucket, Retry-After forms, bounded retries."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from leadscore.integrations.config import PipedriveConfig
from leadscore.integrations.crm import CrmSync, ScoreUpdate
from leadscore.integrations.crm.pipedrive import PipedriveConnector, client_for
from leadscore.integrations.http import RateLimiter, retry_after_seconds

from .fakes import FakeClock, FakePipedrive

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_token_bucket_lets_a_burst_through_then_spaces_requests():
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=10, clock=clock)
    waits = [limiter.acquire() for _ in range(25)]
    assert waits[:10] == [0.0] * 10  # the burst
    assert all(abs(w - 0.1) < 1e-9 for w in waits[10:])  # then one every 1/rate s
    assert abs(clock.t - 1.5) < 1e-9  # 15 requests past the burst at 10/s


def test_retry_after_in_seconds_as_a_date_or_from_a_reset_header():
    assert retry_after_seconds({"retry-after": "7"}, NOW) == 7.0
    date = "Thu, 01 Jan 2026 00:00:30 GMT"
    assert retry_after_seconds({"retry-after": date}, NOW) == 30.0
    assert retry_after_seconds({"retry-after": "soon"}, NOW) is None
    assert retry_after_seconds({"x-ratelimit-reset": "2"}, NOW, "x-ratelimit-reset") == 2.0
    assert retry_after_seconds({}, NOW, "x-ratelimit-reset") is None


def test_pipedrive_429_storm_every_person_patched_once_with_the_latest_values():
    rng = random.Random(3)
    with FakePipedrive() as pd:
        ids = [pd.add_person(f"P{i}", f"p{i}@acme.example") for i in range(60)]

        def chaos(n: int):
            if rng.random() < 0.5:
                return 429, ({"Retry-After": "2"} if rng.random() < 0.5 else
                             {"x-ratelimit-reset": "1"})  # fmt: skip
            return None

        pd.chaos = chaos
        config = PipedriveConfig(base_url=pd.url, max_attempts=40)
        conn = PipedriveConnector(config, client_for(config, pd.token, clock=FakeClock()))
        t0 = datetime(2026, 3, 1, tzinfo=UTC)
        updates = [
            ScoreUpdate(f"c{i}", v + i, t0 + timedelta(minutes=v), email=f"p{i}@acme.example")
            for v in (5, 1, 3)
            for i in range(60)
        ]
        report = CrmSync(conn).push(updates)
        assert (report.written, report.failed, report.pending) == (60, 0, 0)
        score_key = "a" * 40
        for i, pid in enumerate(ids):
            assert [w[score_key] for w in pd.writes[pid]] == [str(5 + i)]
        assert conn.client.retries >= 20


def test_a_pipedrive_sync_stopped_midway_resumes_and_writes_each_person_once():
    from leadscore.integrations.crm import SyncState

    with FakePipedrive() as pd:
        ids = [pd.add_person(f"P{i}", f"p{i}@acme.example") for i in range(6)]
        config = PipedriveConfig(base_url=pd.url)
        state = SyncState()
        t0 = datetime(2026, 3, 1, tzinfo=UTC)
        updates = [ScoreUpdate(f"c{i}", 10 + i, t0, external_id=str(p)) for i, p in enumerate(ids)]
        patches = {"n": 0}

        def chaos(n: int):
            last = pd.requests[-1]
            if last["method"] == "PATCH":
                patches["n"] += 1
                if patches["n"] == 4:
                    return 429, {"Retry-After": "3600"}
            return None

        pd.chaos = chaos
        conn = PipedriveConnector(config, client_for(config, pd.token, clock=FakeClock()))
        first = CrmSync(conn, state=state).push(updates)
        assert (first.written, first.failed, first.pending) == (3, 1, 2) and first.stopped
        pd.chaos = None
        conn = PipedriveConnector(config, client_for(config, pd.token, clock=FakeClock()))
        second = CrmSync(conn, state=state).push(updates)
        assert (second.written, second.unchanged) == (3, 3)
        assert [len(pd.writes[p]) for p in ids] == [1] * 6
