"""Pipedrive connector against the local fake: field names, person search, cursors, limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadscore.integrations.config import PipedriveConfig
from leadscore.integrations.crm import CrmSync, ScoreUpdate
from leadscore.integrations.crm.pipedrive import PipedriveConnector, client_for
from leadscore.integrations.http import CrmAuthError, CrmError

from .fakes import FakeClock, FakePipedrive

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture()
def pd():
    with FakePipedrive() as server:
        yield server


def connector(server, clock=None, token=None, **cfg):
    config = PipedriveConfig(base_url=server.url, **cfg)
    client = client_for(config, token or server.token, clock=clock or FakeClock())
    return PipedriveConnector(config, client)


def test_field_names_are_resolved_across_pages_and_persons_patched_by_email(pd):
    pd.page_cap = 2  # personFields comes back two at a time
    ann = pd.add_person("Ann", "ann@acme.example")
    bob = pd.add_person("Bob", "bob@acme.example")
    sync = CrmSync(connector(pd))
    report = sync.push(
        [
            ScoreUpdate("c1", 72.25, T0, email="ann@acme.example", grade="A", stage="MQL",
                        reasons=("Demo request +40",)),
            ScoreUpdate("c2", 5, T0, external_id=str(bob)),
            ScoreUpdate("c3", 9, T0, email="nobody@acme.example"),
        ]
    )  # fmt: skip
    assert (report.written, report.failed) == (2, 1)
    assert pd.persons[ann]["custom_fields"] == {
        "a" * 40: "72.2",
        "b" * 40: "A",
        "c" * 40: "MQL",
        "d" * 40: "Demo request +40",
    }
    assert pd.persons[bob]["custom_fields"]["a" * 40] == "5"
    starts = [r["query"]["start"] for r in pd.requests if r["path"] == "/api/v1/personFields"]
    assert starts == ["0", "2", "4"]
    search = next(r for r in pd.requests if r["path"] == "/api/v2/persons/search")
    assert search["query"]["term"] == "ann@acme.example" and search["query"]["fields"] == "email"
    assert all("api_token" not in r["query"] for r in pd.requests)  # token only in a header


def test_an_unknown_field_name_says_how_to_create_it(pd):
    pd.add_person("Ann", "ann@acme.example")
    sync = CrmSync(connector(pd, fields={"score": "Scoring", "grade": None, "stage": None,
                                          "reasons": None}))  # fmt: skip
    with pytest.raises(CrmError, match=r"no person field named 'Scoring'.*Data fields"):
        sync.push([ScoreUpdate("c1", 1, T0, email="ann@acme.example")])


def test_429_waits_for_the_reset_header_when_there_is_no_retry_after(pd):
    pid = pd.add_person("Ann", "ann@acme.example")
    clock = FakeClock()
    pd.fail_next(429, 2, x_ratelimit_reset="7")
    report = CrmSync(
        connector(
            pd, clock, fields={"score": "a" * 40, "grade": None, "stage": None, "reasons": None}
        )
    ).push([ScoreUpdate("c1", 10, T0, external_id=str(pid))])
    assert report.written == 1 and pd.writes[pid] == [{"a" * 40: "10"}]
    assert [s for s in clock.sleeps if s == 7.0] == [7.0, 7.0]


def test_a_wrong_token_is_an_auth_error_without_the_token(pd):
    with pytest.raises(CrmAuthError) as err:
        connector(pd, token="pd-wrong-token-xyz").fields  # noqa: B018
    assert "401" in str(err.value) and "pd-wrong-token-xyz" not in str(err.value)


def test_import_follows_next_cursor(pd):
    pd.page_cap = 2
    for i in range(5):
        pd.add_person(f"P{i}", f"P{i}@Acme.example")
    people = list(connector(pd).contacts())
    assert [p.email for p in people] == [f"p{i}@acme.example" for i in range(5)]
    assert people[0].properties == {"name": "P0", "email": "p0@acme.example", "pipedrive_id": "1"}
    cursors = [r["query"].get("cursor") for r in pd.requests if r["path"] == "/api/v2/persons"]
    assert cursors == [None, "2", "4"]


def test_an_erased_address_is_looked_up_again_not_remembered(pd):
    pd.add_person("Ann", "ann@acme.example")
    conn = connector(pd)
    sync = CrmSync(conn)
    sync.push([ScoreUpdate("c1", 10, T0, email="ann@acme.example")])
    searches = lambda: sum(r["path"] == "/api/v2/persons/search" for r in pd.requests)  # noqa: E731
    assert searches() == 1
    conn.forget("Ann@Acme.example")  # what a GDPR erase in the service calls
    sync.state.forget("c1")
    sync.push([ScoreUpdate("c1", 20, T0, email="ann@acme.example")])
    assert searches() == 2  # the person id was not kept for the erased address
