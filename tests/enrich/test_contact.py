"""One contact: the documented properties, fill-only, never an exception."""

from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.engine import values as V
from leadscore.enrich import EnrichOptions, enrich_contact


def test_a_french_lead():
    out = enrich_contact(
        {
            "id": "c1",
            "email": "Jean.Dupont@Acme-Industrie.fr",
            "phone": "01 42 68 53 00",
            "country": "France",
            "job_title": "Directeur commercial",
            "ip": "90.84.0.1",
        }
    )
    assert out == {
        "id": "c1",
        "email": "Jean.Dupont@Acme-Industrie.fr",
        "phone": "01 42 68 53 00",
        "country": "FR",
        "country_raw": "France",
        "country_valid": True,
        "country_source": "contact",
        "job_title": "Directeur commercial",
        "ip": "90.84.0.1",
        "email_valid": True,
        "email_normalized": "jean.dupont@acme-industrie.fr",
        "email_domain": "acme-industrie.fr",
        "email_type": "business",
        "company": "Acme Industrie",
        "company_domain": "acme-industrie.fr",
        "phone_valid": True,
        "phone_type": "fixed",
        "phone_country": "FR",
        "phone_e164": "+33142685300",
        "phone_international": "+33 1 42 68 53 00",
        "ip_valid": True,
        "ip_country": "FR",
        "seniority": "director",
        "function": "sales",
    }


def test_the_input_is_not_changed():
    contact = {"email": "a@gmail.com"}
    enrich_contact(contact)
    assert contact == {"email": "a@gmail.com"}


def test_existing_values_are_kept():
    out = enrich_contact(
        {
            "email": "info@mailinator.com",
            "email_type": "business",  # what the CRM says wins
            "company": "Mailinator Inc",
            "job_title": "CEO",
            "seniority": "founder",
        }
    )
    assert out["email_type"] == "business"
    assert out["email_valid"] is True  # added: it was missing
    assert out["company"] == "Mailinator Inc"
    assert out["seniority"] == "founder"
    assert out["function"] == "executive"


def test_blank_values_count_as_missing_and_are_filled():
    out = enrich_contact({"email": "jane@airbus.com", "company": "  ", "email_type": ""})
    assert out["company"] == "Airbus"
    assert out["email_type"] == "business"


def test_country_is_replaced_by_its_code_and_the_original_kept():
    out = enrich_contact({"country": "Deutschland", "phone": "030 123456"})
    assert out["country"] == "DE"
    assert out["country_raw"] == "Deutschland"
    assert out["phone_country"] == "DE"  # read in the contact's country


def test_unknown_country_is_left_as_given():
    out = enrich_contact({"country": "Atlantis"})
    assert out["country"] == "Atlantis"
    assert out["country_valid"] is False
    assert "country_raw" not in out


def test_missing_country_comes_from_phone_then_ip():
    assert enrich_contact({"phone": "+49 151 23456789", "ip": "8.8.8.8"})["country"] == "DE"
    out = enrich_contact({"ip": "8.8.8.8"})
    assert (out["country"], out["country_source"]) == ("US", "ip")
    no_fill = enrich_contact({"ip": "8.8.8.8"}, EnrichOptions(fill_country=False))
    assert "country" not in no_fill


def test_free_mail_gives_no_company():
    out = enrich_contact({"email": "jane@gmail.com"})
    assert "company" not in out and "company_domain" not in out


def test_input_names_can_be_chosen():
    options = EnrichOptions(email=("courriel",), job_title=("poste",), country=("pays",))
    out = enrich_contact({"courriel": "x@gmail.com", "poste": "PDG", "pays": "Belgique"}, options)
    assert out["email_type"] == "free"
    assert out["seniority"] == "c_level"
    assert out["country"] == "BE"


def test_malformed_inputs_give_clear_values():
    out = enrich_contact(
        {"email": "jean@", "phone": "n/a", "ip": "300.1.1.1", "country": "?", "job_title": "-"}
    )
    assert out["email_valid"] is False and out["email_type"] == "invalid"
    assert out["phone_valid"] is False and out["phone_type"] == "invalid"
    assert out["ip_valid"] is False
    assert out["country_valid"] is False
    assert "seniority" not in out


def test_empty_contact_gets_nothing():
    assert enrich_contact({}) == {}
    out = enrich_contact({"email": None, "phone": float("nan")})
    assert set(out) == {"email", "phone"}


values = st.one_of(
    st.none(), st.text(max_size=40), st.integers(), st.floats(allow_nan=True),
    st.booleans(), st.emails().map(str),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={k: values for k in ("email", "phone", "ip", "country", "job_title", "company")},
    )
)
def test_never_raises(contact):
    out = enrich_contact(contact)
    for key, value in contact.items():
        if key != "country" and not V.is_missing(value):
            assert out[key] is value or out[key] == value


def test_an_update_recomputes_what_came_from_the_changed_inputs():
    from leadscore.enrich import enrich_on_upsert, forget_derived

    before = enrich_contact({"email": "jane@gmail.com", "phone": "+49 151 23456789",
                             "job_title": "CEO"})  # fmt: skip
    assert (before["email_type"], before["country"], before["country_source"]) == (
        "free",
        "DE",
        "phone",
    )
    updated = {**before, "email": "jane@airbus.com", "phone": "+33 6 12 34 56 78"}
    assert enrich_contact(updated)["email_type"] == "free"  # fill-only keeps the stale value
    forgotten = forget_derived(updated, ["email", "phone"])
    assert "email_type" not in forgotten and "country" not in forgotten
    assert forgotten["seniority"] == "c_level"  # the title did not change
    after = enrich_on_upsert(updated, changed=["email", "phone"]).properties
    assert (after["email_type"], after["company"], after["country"]) == ("business", "Airbus",
                                                                         "FR")  # fmt: skip
    # a value given with the update wins over the recomputed one
    given = enrich_on_upsert({**updated, "email_type": "partner"},
                             changed=["email", "email_type"]).properties  # fmt: skip
    assert given["email_type"] == "partner"
