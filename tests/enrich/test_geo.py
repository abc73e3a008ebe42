"""Country names and codes → ISO 3166 alpha-2; IP addresses → country."""

import pytest

from leadscore.enrich.geo import country_facts, ip_countries, ip_facts, normalize_country


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("France", "FR"), ("france", "FR"), ("FRA", "FR"), ("FR", "FR"), ("fr", "FR"),
        (" France ", "FR"), ("250", "FR"), ("République française", "FR"),
        ("Allemagne", "DE"), ("Deutschland", "DE"), ("Germany", "DE"),
        ("España", "ES"), ("Espagne", "ES"), ("Spain", "ES"),
        ("United States", "US"), ("USA", "US"), ("U.S.A.", "US"), ("États-Unis", "US"),
        ("United Kingdom", "GB"), ("UK", "GB"), ("Royaume-Uni", "GB"), ("England", "GB"),
        ("Suisse", "CH"), ("Schweiz", "CH"), ("Belgique", "BE"), ("België", "BE"),
        ("the Netherlands", "NL"), ("Pays-Bas", "NL"), ("Holland", "NL"),
        ("Korea, Republic of", "KR"), ("South Korea", "KR"),
        ("Côte d'Ivoire", "CI"), ("India", "IN"), ("Brasil", "BR"), ("Vietnam", "VN"),
    ],
)  # fmt: skip
def test_country_names_and_codes(text, code):
    assert normalize_country(text) == code


def test_country_facts_keep_the_original_when_changed():
    assert country_facts("france") == {
        "country": "FR",
        "country_valid": True,
        "country_raw": "france",
    }
    assert country_facts("FR") == {"country": "FR", "country_valid": True}


@pytest.mark.parametrize(
    "text", ["Atlantis", "Select", "unknown", "Asia/Pacific Region", "XX", "12", "?", "Europe"]
)
def test_unknown_countries_are_marked_not_guessed(text):
    assert country_facts(text) == {"country_valid": False}


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("81.2.69.142", "GB"),
        ("90.84.0.1", "FR"),
        ("2001:4860:4860::8888", "US"),
        (" 2a01:e0a::1 ", "FR"),
    ],
)
def test_ip_country(ip, country):
    assert ip_facts(ip) == {"ip_valid": True, "ip_country": country}


@pytest.mark.parametrize("ip", ["10.0.0.1", "192.168.1.20", "127.0.0.1", "::1"])
def test_private_addresses_have_no_country(ip):
    assert ip_facts(ip) == {"ip_valid": True}


@pytest.mark.parametrize("ip", ["999.1.1.1", "1.2.3", "localhost", "8.8.8.8.8", "::g", "N/A"])
def test_malformed_addresses_are_invalid(ip):
    assert ip_facts(ip) == {"ip_valid": False}


def test_batch_lookup_keeps_order_and_skips_invalid():
    assert ip_countries(["81.2.69.142", "bad", "8.8.8.8", "10.0.0.1"]) == ["GB", None, "US", None]


@pytest.mark.parametrize(
    "text",
    ["1.2.3.4", "01.2.3.4", "1.2.3.04", "256.1.1.1", "0.0.0.0", "255.255.255.255", "1.2.3.4\n",
     "1.2.3.4.", "١.2.3.4", "::ffff:1.2.3.4", "fe80::1%eth0"],
)  # fmt: skip
def test_ip_validity_agrees_with_the_standard_library(text):
    import ipaddress

    from leadscore.enrich.geo import ip_valid

    try:
        ipaddress.ip_address(text)
        expected = True
    except ValueError:
        expected = False
    assert ip_valid(text) is expected
