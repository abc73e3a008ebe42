"""Differential test for accounts: random account sections, contact rules reading
account fields, and populations of accounts and contacts; the SQL engines must give
exactly what the in-process evaluator gives, for contacts and for accounts."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

from leadscore.errors import ModelError
from leadscore.model import load_model

from .account_strategies import account_models, account_populations
from .strategies import AS_OF, ATTRS, PROPS
from .support import run_all_accounts

SETTINGS = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
CONTACT_PROPS = [*PROPS, "email", "account_id"]


def _model(raw):
    try:
        return load_model(raw)
    except ModelError as exc:
        # the strategy makes loops now and then (a roll-up of what reads its account): valid
        # models only, and only loops may be refused
        assert all("a loop" in p.message for p in exc.problems), exc
        assume(False)


@settings(max_examples=120, **SETTINGS)
@given(raw=account_models(), data=account_populations())
def test_duckdb_accounts_equal_inprocess(raw, data):
    contacts, events, accounts = data
    run_all_accounts([_model(raw)], contacts, events, accounts, CONTACT_PROPS, ATTRS, as_of=AS_OF)


@pytest.mark.postgres
@settings(max_examples=25, **SETTINGS)
@given(raw=account_models(), data=account_populations())
def test_postgres_accounts_equal_inprocess(pg_url, raw, data):
    contacts, events, accounts = data
    run_all_accounts(
        [_model(raw)], contacts, events, accounts, CONTACT_PROPS, ATTRS, as_of=AS_OF, pg_url=pg_url
    )


@pytest.mark.spark
@pytest.mark.slow
@settings(max_examples=3, phases=[Phase.explicit, Phase.generate], **SETTINGS)
@given(raw=account_models(), data=account_populations(max_contacts=4, max_events=8))
def test_spark_accounts_equal_inprocess(spark, raw, data):
    contacts, events, accounts = data
    run_all_accounts(
        [_model(raw)], contacts, events, accounts, CONTACT_PROPS, ATTRS, as_of=AS_OF, spark=spark
    )
