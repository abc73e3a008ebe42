"""Differential test: random models, contacts and events; the SQL engines must give
exactly what the in-process evaluator gives (floats to 1e-9)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from leadscore.errors import ModelError
from leadscore.model import load_model

from .strategies import AS_OF, ATTRS, PROPS, models, populations
from .support import run_all

SETTINGS = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


def _model(raw):
    try:
        return load_model(raw)
    except ModelError as exc:  # the strategy should only make valid models
        raise AssertionError(f"invalid generated model: {exc}") from None


@settings(max_examples=30, **SETTINGS)
@given(raw=models(), data=populations(), own=st.booleans())
def test_duckdb_equals_inprocess(raw, data, own):
    contacts, events = data
    run_all(
        [_model(raw)],
        contacts,
        events,
        PROPS,
        ATTRS,
        as_of=AS_OF,
        as_of_column="own_as_of" if own else None,
    )


@pytest.mark.postgres
@settings(max_examples=20, **SETTINGS)
@given(raw=models(), data=populations(), own=st.booleans())
def test_postgres_and_duckdb_equal_inprocess(pg_url, raw, data, own):
    contacts, events = data
    run_all(
        [_model(raw)],
        contacts,
        events,
        PROPS,
        ATTRS,
        as_of=AS_OF,
        as_of_column="own_as_of" if own else None,
        pg_url=pg_url,
    )


@settings(max_examples=8, **SETTINGS)
@given(raws=st.lists(models(), min_size=2, max_size=2), data=populations())
def test_several_models_at_once(raws, data):
    contacts, events = data
    ms = [_model({**r, "name": f"m{i}"}) for i, r in enumerate(raws)]
    run_all(ms, contacts, events, PROPS, ATTRS, as_of=AS_OF)


@pytest.mark.spark
@pytest.mark.slow
@settings(max_examples=3, phases=[Phase.explicit, Phase.generate], **SETTINGS)
@given(raw=models(), data=populations(max_contacts=4, max_events=10))
def test_spark_equals_inprocess(spark, raw, data):
    contacts, events = data
    run_all(
        [_model(raw)],
        contacts,
        events,
        PROPS,
        ATTRS,
        as_of=AS_OF,
        as_of_column="own_as_of",
        spark=spark,
    )
