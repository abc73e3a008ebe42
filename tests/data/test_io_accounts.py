"""Reading an accounts file: the id column, every property as text, and the ids
refused with the column and examples named."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadscore.data.io import load_inputs
from leadscore.errors import DataError, UsageError


@pytest.fixture
def contacts(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("id,email\nc1,ann@acme.com\n")
    return path


def test_accounts_from_parquet_with_an_account_id_column(tmp_path, contacts):
    path = tmp_path / "accounts.parquet"
    pq.write_table(
        pa.table(
            {
                "account_id": [2, 1],  # numbers: read as text, as contact ids are
                "domain": ["beta.io", "acme.com"],
                "employees": pa.array([None, 120], pa.int64()),
            }
        ),
        path,
    )
    inputs = load_inputs(contacts, accounts=path)
    assert inputs.has_accounts and inputs.n_accounts == 2
    assert inputs.account_properties == ["domain", "employees"]
    assert list(inputs.account_rows()) == [
        {"id": "1", "domain": "acme.com", "employees": "120"},
        {"id": "2", "domain": "beta.io", "employees": None},
    ]
    types = dict(inputs.con.execute("SELECT column_name, data_type FROM "
                                    "information_schema.columns WHERE table_name = 'accounts'")
                 .fetchall())  # fmt: skip
    assert set(types.values()) == {"VARCHAR"}


def test_accounts_from_json_lines_and_csv(tmp_path, contacts):
    jsonl = tmp_path / "accounts.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in [{"id": "a", "industry": "Software"}]))
    assert list(load_inputs(contacts, accounts=jsonl).account_rows()) == [
        {"id": "a", "industry": "Software"}
    ]
    csv = tmp_path / "accounts.csv"
    csv.write_text("id,account_id,domain\na,x,acme.com\n")  # 'id' wins; account_id is a property
    inputs = load_inputs(contacts, accounts=csv)
    assert list(inputs.account_rows()) == [{"id": "a", "account_id": "x", "domain": "acme.com"}]


def test_no_accounts_no_table(contacts):
    inputs = load_inputs(contacts)
    assert not inputs.has_accounts and inputs.n_accounts == 0
    assert list(inputs.account_rows()) == []


def test_an_accounts_file_without_an_id_column_names_the_columns(tmp_path, contacts):
    path = tmp_path / "accounts.csv"
    path.write_text("name,domain\nAcme,acme.com\n")
    with pytest.raises(DataError) as err:
        load_inputs(contacts, accounts=path)
    message = str(err.value)
    assert "expected 'id' or 'account_id'" in message and "name, domain" in message
    assert str(path) in message


def test_empty_account_ids_name_the_rows_and_the_column(tmp_path, contacts):
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,domain\na1,acme.com\n  ,x.com\na3,y.com\n,z.com\n")
    with pytest.raises(DataError) as err:
        load_inputs(contacts, accounts=path)
    assert err.value.column == "account_id"
    assert "2 account(s) have an empty id (row(s) 2, 4)" in str(err.value)


def test_repeated_account_ids_are_named(tmp_path, contacts):
    path = tmp_path / "accounts.csv"
    path.write_text("id,domain\na1,acme.com\na2,b.com\na1,c.com\na2,d.com\na3,e.com\n")
    with pytest.raises(DataError) as err:
        load_inputs(contacts, accounts=path)
    assert err.value.column == "id"
    assert "'a1' (2 times), 'a2' (2 times)" in str(err.value)


def test_an_unknown_file_type_is_a_usage_error(tmp_path, contacts):
    path = tmp_path / "accounts.xlsx"
    path.write_text("x")
    with pytest.raises(UsageError, match=r"use \.csv, \.parquet or \.jsonl"):
        load_inputs(contacts, accounts=path)
