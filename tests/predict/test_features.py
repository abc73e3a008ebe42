"""Event features, point in time, computed in DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from leadscore.data.io import load_inputs
from leadscore.predict import features as F

CONTACTS = """id,country,converted,converted_at
a,FR,1,2026-01-10T00:00:00Z
b,US,0,
c,,0,
"""
EVENTS = """contact_id,event_id,type,ts,url,source
a,1,page_view,2026-01-01T00:00:00Z,/pricing,google
a,2,page_view,2026-01-05T00:00:00Z,/blog,ads
a,3,form_submit,2026-01-12T00:00:00Z,/demo,direct
b,4,page_view,2025-12-01T00:00:00Z,/blog,ads
b,5,email_open,2026-01-20T00:00:00Z,,
b,6,email_open,2026-02-20T00:00:00Z,,
"""
AS_OF = datetime(2026, 1, 31, tzinfo=UTC)


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "c.csv").write_text(CONTACTS)
    (tmp_path / "e.csv").write_text(EVENTS)
    return load_inputs(tmp_path / "c.csv", tmp_path / "e.csv")


def test_plan_picks_properties_types_and_attributes(inputs):
    config = F.plan(inputs, ["converted", "converted_at"], windows=(7, 30))
    assert config.properties == ["country"]
    assert config.event_types == ["page_view", "email_open", "form_submit"]  # most first
    assert (config.page_attribute, config.source_attribute) == ("url", "source")


def test_point_in_time_features_by_hand(inputs):
    config = F.plan(inputs, ["converted", "converted_at"], windows=(7, 30))
    ids, t = F.build(inputs, config, AS_OF, "converted_at")
    assert ids == ["a", "b", "c"]
    col = lambda name: list(np.asarray(t[F.EVENT_PREFIX + name], dtype=float))  # noqa: E731
    # a converted on 01-10: its form_submit of 01-12 comes after and is ignored
    assert col("count") == [2, 2, 0]
    assert col("form_submit") == [0, 0, 0]
    assert col("page_view") == [2, 1, 0]
    assert col("page_view:7d") == [1, 0, 0]  # a: 01-05 is within 7 days of 01-10
    assert col("page_view:30d") == [2, 0, 0]  # b: 12-01 is 61 days before 01-31
    assert col("email_open") == [0, 1, 0]  # b: the 02-20 open is after as_of
    assert col("days_since_last")[:2] == [5, 11]
    assert col("days_since_first")[:2] == [9, 61]
    assert np.isnan(col("days_since_last")[2])  # no events: missing, not zero
    assert col("active_days") == [2, 2, 0]
    assert col("distinct_pages") == [2, 1, 0]
    assert t[F.EVENT_PREFIX + "first_touch_source"] == ["google", "ads", None]
    # the last event that carries a source (b's later e-mail opens carry none)
    assert t[F.EVENT_PREFIX + "last_touch_source"] == ["ads", "ads", None]
    assert t["country"] == ["FR", "US", None]


def test_without_outcome_time_events_up_to_as_of_count(inputs):
    config = F.plan(inputs, ["converted", "converted_at"], windows=(7, 30))
    _, t = F.build(inputs, config, AS_OF)
    assert list(t[F.EVENT_PREFIX + "form_submit"]) == [1, 0, 0]


def test_labels_read_like_reasons():
    assert F.label("event:page_view:30d") == "page_view events in the last 30 days"
    assert F.label("event:days_since_last") == "days since the last event"
    assert F.label("Lead Source") == "Lead Source"
