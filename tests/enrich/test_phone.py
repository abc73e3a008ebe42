"""Phone numbers from several countries, read in the contact's country."""

import pytest

from leadscore.enrich.phone import phone_facts


@pytest.mark.parametrize(
    ("number", "region", "kind", "country", "e164"),
    [
        ("01 42 68 53 00", "FR", "fixed", "FR", "+33142685300"),
        ("06 12 34 56 78", "FR", "mobile", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", None, "mobile", "FR", "+33612345678"),
        ("0033 1 42 68 53 00", "FR", "fixed", "FR", "+33142685300"),
        ("+33 (0)1 42 68 53 00", None, "fixed", "FR", "+33142685300"),
        ("(202) 456-1111", "US", "fixed_or_mobile", "US", "+12024561111"),
        ("+1 416 555 0199", None, "fixed_or_mobile", "CA", "+14165550199"),
        ("020 7946 0018", "GB", "fixed", "GB", "+442079460018"),
        ("07400 123456", "GB", "mobile", "GB", "+447400123456"),
        ("030 123456", "DE", "fixed", "DE", "+4930123456"),
        ("+49 151 23456789", None, "mobile", "DE", "+4915123456789"),
        ("612 34 56 78", "ES", "mobile", "ES", "+34612345678"),
        ("02 555 12 12", "BE", "fixed", "BE", "+3225551212"),
        ("044 668 18 00", "CH", "fixed", "CH", "+41446681800"),
        ("+91 98765 43210", None, "mobile", "IN", "+919876543210"),
        ("+55 11 91234-5678", None, "mobile", "BR", "+5511912345678"),
        ("0800 123 456", "FR", "toll_free", "FR", "+33800123456"),
    ],
)
def test_valid_numbers(number, region, kind, country, e164):
    facts = phone_facts(number, region)
    assert facts["phone_valid"] is True
    assert facts["phone_type"] == kind
    assert facts["phone_country"] == country
    assert facts["phone_e164"] == e164
    assert facts["phone_international"].startswith("+")


def test_international_format():
    assert phone_facts("0142685300", "FR")["phone_international"] == "+33 1 42 68 53 00"


def test_the_country_code_wins_over_the_default_region():
    assert phone_facts("+44 20 7946 0018", "FR")["phone_country"] == "GB"


def test_number_column_read_as_float():
    assert phone_facts(33612345678.0, "FR")["phone_e164"] == "+33612345678"


@pytest.mark.parametrize(
    ("number", "region"),
    [
        ("abc", "FR"),
        ("12", "FR"),
        ("01 23", "FR"),
        ("+33 1 23", None),
        ("+999 123 456 789", None),
        ("99999999999999999999", "US"),
        ("1" * 300, "FR"),
        ("+", None),
        ("06 12 34 56 78", "ZZ"),  # not a region: read as no region
    ],
)
def test_malformed_numbers_are_invalid_not_errors(number, region):
    facts = phone_facts(number, region)
    assert facts["phone_valid"] is False
    assert facts["phone_type"] in ("invalid", "no_country")
    assert "phone_e164" not in facts


def test_national_number_without_a_country_cannot_be_checked():
    assert phone_facts("06 12 34 56 78", None) == {"phone_valid": False, "phone_type": "no_country"}


@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_number_adds_nothing(value):
    assert phone_facts(value, "FR") == {}


@pytest.mark.parametrize(
    ("number", "region"),
    [("01 42 68 53 00", "FR"), ("+33 1 23", None), ("+800 1234 5678", None),
     ("+882 1234 5678", None), ("0048 773 463 284", "PL"), ("+1 202 456 1111", None),
     ("+44 7911 123456", None), ("00 800 1234 5678", "DE"), ("+999 123 456", None)],
)  # fmt: skip
def test_validity_agrees_with_phonenumbers(number, region):
    import phonenumbers as pn

    try:
        expected = pn.is_valid_number(pn.parse(number, region))
    except pn.NumberParseException:
        expected = False
    assert phone_facts(number, region)["phone_valid"] is expected
