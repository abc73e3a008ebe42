"""A whole table: the same values as one contact at a time, rows in place."""

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.data.io import connect, load_inputs
from leadscore.engine import values as V
from leadscore.enrich import PROPERTY_NAMES, EnrichOptions, enrich_contact, enrich_table

from ..conftest import SHARED_DATA

ROWS = [
    # id, email, phone, country, job_title, ip, company, email_type
    ("c01", "Jean.Dupont@Acme-Industrie.fr", "01 42 68 53 00", "France", "Directeur commercial",
     "90.84.0.1", "", ""),
    ("c02", "bob@gmail.com", "+1 415 555 2671", "", "VP Sales", "", "", ""),
    ("c03", "not-an-email", "abc", "Atlantis", "???", "999.1.1.1", "", ""),
    ("c04", "info@mailinator.com", "06 12 34 56 78", "", "", "81.2.69.142", "", ""),
    ("c05", "sales@acme.com", "", "FR", "PDG", "", "ACME Inc", "business"),
    ("c06", "", "", "usa", "", "", "", ""),
    ("c07", "maria@empresa.es", "612 34 56 78", "España", "Jefe de Ventas", "", "", ""),
    ("c08", "max@firma.de", "030 123456", "Deutschland", "Geschäftsführer", "", "", ""),
    ("c09", "  ", "  ", "  ", "  ", "  ", "", ""),
    ("c10", "jean.dupont@acme-industrie.fr", "01 42 68 53 00", "France", "Directeur commercial",
     "90.84.0.1", "", ""),  # repeats c01: values shared through the distinct maps
    ("c11", "x@yopmail.com", "06 12 34 56 78", "FR", "Student", "10.0.0.1", "", ""),
    ("c12", "a@b", "+33 1 23", "FRA", "Software Engineer", "2a01:e0a::1", "", ""),
]  # fmt: skip
HEADER = ("id", "email", "phone", "country", "job_title", "ip", "company", "email_type")


def write_csv(path: Path, header, rows) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def contacts_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "contacts.csv", HEADER, ROWS)


def rows_of(con, table="contacts") -> list[dict]:
    cur = con.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def as_text(props: dict) -> dict:
    return {k: V.text(v) for k, v in props.items() if V.text(v) is not None}


def test_table_equals_one_contact_at_a_time(contacts_csv):
    inputs = load_inputs(contacts_csv)
    before = rows_of(inputs.con)
    report = enrich_table(inputs.con)
    after = rows_of(inputs.con)
    assert [r["id"] for r in after] == [r[0] for r in ROWS]  # same rows, same order
    for raw, got in zip(before, after, strict=True):
        expected = as_text(enrich_contact(raw))
        assert as_text(got) == expected, raw["id"]
    assert report.rows == len(ROWS)
    # 10 addresses given (c06 and c09 have none); c10 differs from c01 by case only
    assert report.distinct["email"] == 10


def test_columns_are_plain_varchar_and_listed(contacts_csv):
    inputs = load_inputs(contacts_csv)
    report = enrich_table(inputs.con)
    types = dict(
        inputs.con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'contacts'"
        ).fetchall()
    )
    assert set(types.values()) == {"VARCHAR"}
    assert "email_type" not in report.columns_added  # it was there already
    assert "seniority" in report.columns_added
    assert "email_deliverable" not in types  # only with the DNS check
    assert set(report.columns_added) <= set(PROPERTY_NAMES)
    temporary = inputs.con.execute(
        "SELECT temporary FROM duckdb_tables() WHERE table_name = 'contacts'"
    ).fetchone()[0]
    assert temporary is True


def test_known_rows_by_hand(contacts_csv):
    inputs = load_inputs(contacts_csv)
    enrich_table(inputs.con)
    got = {r["id"]: r for r in rows_of(inputs.con)}
    assert (got["c01"]["country"], got["c01"]["country_raw"]) == ("FR", "France")
    assert got["c01"]["company"] == "Acme Industrie"
    assert got["c02"]["country"] == "US" and got["c02"]["country_source"] == "phone"
    assert got["c03"]["email_type"] == "invalid" and got["c03"]["email_valid"] == "false"
    assert got["c03"]["country"] == "Atlantis"
    assert got["c04"]["country"] == "GB" and got["c04"]["country_source"] == "ip"
    assert got["c05"]["email_type"] == "business"  # kept, though the address is a role one
    assert got["c05"]["company"] == "ACME Inc"
    assert got["c07"]["phone_e164"] == "+34612345678"
    assert got["c08"]["seniority"] == "c_level"
    assert got["c09"]["email_valid"] is None and got["c09"]["seniority"] is None
    assert got["c12"]["country"] == "FR" and got["c12"]["ip_country"] == "FR"


def test_input_columns_match_whatever_their_case(tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        ("Prospect ID", "Country", "Email"),
        [("1", "India", "a@gmail.com"), ("2", "unknown", "")],
    )
    inputs = load_inputs(path, id_column="Prospect ID")
    report = enrich_table(inputs.con)
    assert report.inputs["country"] == "Country" and report.inputs["email"] == "Email"
    got = rows_of(inputs.con)
    assert got[0]["Country"] == "IN" and got[0]["country_raw"] == "India"
    assert got[1]["Country"] == "unknown" and got[1]["country_valid"] == "false"


def test_options_choose_inputs_and_country_fill(tmp_path):
    path = write_csv(
        tmp_path / "c.csv", ("id", "courriel", "tel"), [("1", "x@gmail.com", "+49 151 23456789")]
    )
    inputs = load_inputs(path)
    enrich_table(
        inputs.con, options=EnrichOptions(email=("courriel",), phone=("tel",), fill_country=False)
    )
    (row,) = rows_of(inputs.con)
    assert row["email_type"] == "free" and row["phone_country"] == "DE"
    assert row["country"] is None


def test_table_without_any_input_column(tmp_path):
    path = write_csv(tmp_path / "c.csv", ("id", "score"), [("1", "3"), ("2", "4")])
    inputs = load_inputs(path)
    report = enrich_table(inputs.con)
    assert report.rows == 2
    assert rows_of(inputs.con)[0]["email_type"] is None


def test_a_table_that_does_not_exist():
    from leadscore.errors import UsageError

    with pytest.raises(UsageError, match="no table"):
        enrich_table(connect(), "nope")


@pytest.mark.skipif(
    not (SHARED_DATA / "x_education_leads.csv").exists(), reason="shared data not present"
)
def test_real_countries_of_the_x_education_leads(tmp_path):
    con = connect()
    con.execute(
        'CREATE TEMP TABLE contacts AS SELECT "Prospect ID" AS id, Country AS country FROM '
        f"read_csv('{SHARED_DATA / 'x_education_leads.csv'}', all_varchar = true)"
    )
    enrich_table(con)
    counts = dict(con.execute("SELECT country_valid, count(*) FROM contacts GROUP BY 1").fetchall())
    # 9,240 leads: 2,461 without a country; "unknown" (5) and "Asia/Pacific Region" (2)
    # are not countries; every other name is recognised
    assert counts == {None: 2461, "false": 7, "true": 9240 - 2461 - 7}
    top = con.execute(
        "SELECT country, count(*) FROM contacts WHERE country_valid = 'true' "
        "GROUP BY 1 ORDER BY 2 DESC LIMIT 3"
    ).fetchall()
    assert top == [("IN", 6492), ("US", 69), ("AE", 53)]


POOL = {
    "email": ["jane@airbus.com", "JANE@Airbus.com ", "x@gmail.com", "info@acme.io", "a@b",
              "x@yopmail.com", "\u00a0", "jean@société.fr", "Jean <jean@acme.fr>"],
    "phone": ["01 42 68 53 00", "+49 151 23456789", "06 12 34 56 78", "abc", "+1 202 456 1111",
              "\u2003", "0033 1 42 68 53 00"],
    "country": ["France", "FR", "de", "Atlantis", "usa", " ", "Royaume-Uni", "\u3000FR"],
    "job_title": ["CEO", "Directeur commercial", "---", "Jefe de Ventas", "\t"],
    "ip": ["8.8.8.8", "10.0.0.1", "bad", "2a01:e0a::1", " 81.2.69.142 "],
}  # fmt: skip


def cell(name):
    return st.one_of(st.none(), st.sampled_from(POOL[name]), st.text(max_size=12))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({k: cell(k) for k in POOL}), min_size=1, max_size=12))
def test_table_equals_one_contact_at_a_time_on_generated_rows(rows):
    import pyarrow as pa

    con = connect()
    table = pa.table({"id": [f"c{i}" for i in range(len(rows))],
                      **{k: [r[k] for r in rows] for k in POOL}})  # fmt: skip
    con.register("src", table)
    con.execute("CREATE TEMP TABLE contacts AS SELECT * FROM src")
    before = rows_of(con)
    enrich_table(con)
    for raw, got in zip(before, rows_of(con), strict=True):
        assert as_text(got) == as_text(enrich_contact(raw)), raw


def test_deliverability_column_with_the_opt_in(contacts_csv):
    from leadscore.enrich import DeliverabilityCheck

    class Fake(DeliverabilityCheck):
        def _lookup(self, domain):
            return domain != "acme-industrie.fr"

    inputs = load_inputs(contacts_csv)
    enrich_table(inputs.con, options=EnrichOptions(check_deliverability=True),
                 deliverability=Fake())  # fmt: skip
    got = {r["id"]: r["email_deliverable"] for r in rows_of(inputs.con)}
    assert got["c01"] == "false" and got["c02"] == "true"
    assert got["c03"] == "false"  # an invalid address cannot be delivered
    assert got["c06"] is None  # no address
