"""E-mail addresses: validity, normal form, domain and kind, from the packaged lists."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadscore.enrich.email import ROLE_LOCAL_PARTS, DeliverabilityCheck, email_facts, is_role


@pytest.mark.parametrize(
    ("email", "kind", "domain"),
    [
        ("jean.dupont@airbus.com", "business", "airbus.com"),
        ("Marie.Curie@Sanofi.FR", "business", "sanofi.fr"),
        ("someone@gmail.com", "free", "gmail.com"),
        ("someone@googlemail.com", "free", "googlemail.com"),
        ("jdupont@orange.fr", "free", "orange.fr"),
        ("jdupont@free.fr", "free", "free.fr"),
        ("max.mustermann@web.de", "free", "web.de"),
        ("someone@yahoo.co.uk", "free", "yahoo.co.uk"),
        ("someone@hotmail.com", "free", "hotmail.com"),
        ("throwaway@mailinator.com", "disposable", "mailinator.com"),
        ("x@guerrillamail.com", "disposable", "guerrillamail.com"),
        ("x@yopmail.com", "disposable", "yopmail.com"),
        ("x@eu.mailinator.com", "disposable", "eu.mailinator.com"),  # a parent domain is listed
        ("info@airbus.com", "role", "airbus.com"),
        ("sales@acme.io", "role", "acme.io"),
        ("contact@societe.fr", "role", "societe.fr"),
        ("Vertrieb@firma.de", "role", "firma.de"),
        ("ventas@empresa.es", "role", "empresa.es"),
        ("sales-emea@acme.io", "role", "acme.io"),
        ("info+newsletter@acme.io", "role", "acme.io"),
        ("info@gmail.com", "role", "gmail.com"),  # role before free
        ("info@mailinator.com", "disposable", "mailinator.com"),  # disposable before role
    ],
)
def test_kinds(email, kind, domain):
    facts = email_facts(email)
    assert facts["email_valid"] is True
    assert facts["email_type"] == kind
    assert facts["email_domain"] == domain


def test_normal_form_is_lower_case_without_display_name_or_spaces():
    assert email_facts("  Jean.Dupont@Airbus.COM ")["email_normalized"] == "jean.dupont@airbus.com"
    facts = email_facts("Jean Dupont <Jean.Dupont@airbus.com>")
    assert facts["email_normalized"] == "jean.dupont@airbus.com"


def test_international_domain_is_given_in_ascii():
    facts = email_facts("jean@société.fr")
    assert facts["email_valid"] is True
    assert facts["email_domain"] == "xn--socit-esab.fr"
    assert facts["email_normalized"] == "jean@société.fr"


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "jean.dupont@",
        "@airbus.com",
        "jean dupont@airbus.com",
        "jean..dupont@airbus.com",
        "jean@@airbus.com",
        "jean@airbus",
        "jean@airbus..com",
        "jean@-airbus.com",
        "a" * 300 + "@airbus.com",
        "jean@" + "a" * 300 + ".com",
        "\x00@x.com",
        "N/A",
        "12345",
    ],
)
def test_malformed_addresses_are_invalid_not_errors(email):
    assert email_facts(email) == {"email_valid": False, "email_type": "invalid"}


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_address_adds_nothing(value):
    assert email_facts(value) == {}


def test_role_list_is_small_and_matches_only_whole_words():
    assert "info" in ROLE_LOCAL_PARTS
    assert is_role("info") and is_role("INFO.paris")
    assert not is_role("informatique.jean")  # "info" inside a word is not a role
    assert not is_role("jean.sales")  # only a leading word counts


def test_deliverability_is_opt_in_and_cached(monkeypatch):
    from email_validator import EmailUndeliverableError

    calls = []

    def fake(domain, domain_i18n, timeout=None, dns_resolver=None):
        calls.append(domain)
        if domain == "no-mx.example":
            raise EmailUndeliverableError("no MX")
        return {"mx": [(10, "mx.airbus.com")]}

    monkeypatch.setattr("email_validator.deliverability.validate_email_deliverability", fake)
    assert "email_deliverable" not in email_facts("a@airbus.com")
    assert calls == []
    check = DeliverabilityCheck()
    assert email_facts("a@airbus.com", check)["email_deliverable"] is True
    assert email_facts("b@airbus.com", check)["email_deliverable"] is True
    assert email_facts("a@no-mx.example", check)["email_deliverable"] is False
    assert email_facts("broken", check)["email_deliverable"] is False
    assert calls == ["airbus.com", "no-mx.example"]  # once per domain


def test_dns_failure_is_unknown_not_an_error(monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no resolver")

    monkeypatch.setattr("email_validator.deliverability.validate_email_deliverability", broken)
    assert email_facts("a@airbus.com", DeliverabilityCheck())["email_deliverable"] is None


PLAIN_CASES = [
    "Jean.Dupont@Airbus.COM", "a@b", "a..b@x.com", ".a@x.com", "a.@x.com", "a@x..com",
    "a@-x.com", "a@x-.com", "a@x.c", "a@x.123", "a@localhost", "a@x.local", "a@test",
    "a@x.invalid", "o'brien@x.ie", "a+b@x.io", "a@" + "b" * 64 + ".com",
    "a@" + "b" * 63 + ".com", "a" * 65 + "@x.com", "a" * 64 + "@x.com", "a@x.com.",
    "a@xn--socit-esab.fr", "a@xn--zz.fr", "a@x_y.com", "a@" + ("b" * 60 + ".") * 4 + "com",
]  # fmt: skip


@pytest.mark.parametrize("address", PLAIN_CASES)
def test_plain_address_shortcut_agrees_with_email_validator(address):
    from leadscore.enrich.email import _full, _parse

    assert _parse(address) == _full(address)


@settings(max_examples=120, deadline=None)
@given(st.one_of(st.emails(), st.from_regex(r"\A[a-zA-Z0-9.+_-]{0,70}@[a-zA-Z0-9.-]{0,70}\Z")))
def test_plain_address_shortcut_agrees_on_generated_addresses(address):
    from leadscore.enrich.email import _full, _parse

    assert _parse(address) == _full(address)
