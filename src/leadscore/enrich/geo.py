"""Countries (ISO 3166) and IP address → country.

Country names and codes are read with ``pycountry``: the alpha-2, alpha-3 and
numeric codes, the English name, official name and common name, and their
translations shipped with pycountry in French, German, Spanish, Italian, Dutch
and Portuguese. Matching ignores case, accents, dots and punctuation
("france", "FRA", "Allemagne", "U.S.A.", "Korea, Republic of"). A few everyday
names that are not ISO names are added in :data:`ALIASES` ("UK", "England",
"Holland", …).

IP addresses are read with the standard ``ipaddress`` module and located with
``iptocc`` (the Regional Internet Registries' allocation data, shipped in the
wheel): the country an address block is registered to. Private, loopback and
unassigned addresses have no country.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

LANGUAGES = ("fr", "de", "es", "it", "nl", "pt")
ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "america": "US",
    "united states of america": "US",
    "holland": "NL",
    "korea": "KR",
    "south korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "vietnam": "VN",
    "ivory coast": "CI",
    "czech republic": "CZ",
    "turkey": "TR",
    "uae": "AE",
}
_PUNCT = re.compile(r"[^0-9a-z]+")


def country_key(text: str) -> str:
    """The matching form of a country name: no accents, case, dots or punctuation."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()
    folded = folded.replace(".", "").replace("'", "")
    folded = _PUNCT.sub(" ", folded).strip()
    if folded.startswith("the "):
        folded = folded[4:]
    return folded


def _variants(name: str) -> list[str]:
    out = [name]
    if ", " in name:  # "Korea, Republic of" -> "Republic of Korea"
        head, _, tail = name.partition(", ")
        out.append(f"{tail} {head}")
    return out


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    import gettext

    import pycountry

    index: dict[str, str] = {}

    def add(name: str | None, code: str) -> None:
        if name:
            for variant in _variants(name):
                index.setdefault(country_key(variant), code)

    countries = sorted(pycountry.countries, key=lambda c: c.alpha_2)
    for c in countries:
        index[c.alpha_2.lower()] = c.alpha_2
        index[c.alpha_3.lower()] = c.alpha_2
        index.setdefault(c.numeric, c.alpha_2)
    for c in countries:
        for attr in ("name", "official_name", "common_name"):
            add(getattr(c, attr, None), c.alpha_2)
    for key, code in ALIASES.items():
        index.setdefault(key, code)
    for lang in LANGUAGES:
        try:
            tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:
            continue
        for c in countries:
            for attr in ("name", "official_name", "common_name"):
                english = getattr(c, attr, None)
                if english:
                    add(tr.gettext(english), c.alpha_2)
    return index


@lru_cache(maxsize=65536)
def normalize_country(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a country name or code, or None if unknown."""
    key = country_key(value)
    if not key:
        return None
    return _index().get(key)


def country_facts(value: Any) -> dict[str, Any]:
    """``country`` (alpha-2), ``country_raw`` (when changed) and ``country_valid``."""
    if value is None:
        return {}
    text = str(value).strip()
    if not text:
        return {}
    code = normalize_country(text)
    if code is None:
        return {"country_valid": False}
    out: dict[str, Any] = {"country": code, "country_valid": True}
    if code != text:
        out["country_raw"] = text
    return out


def _ip_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")  # what ipaddress accepts, no leading 0


def ip_valid(text: str) -> bool:
    if _IPV4.fullmatch(text):
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def ip_lookup(texts: Sequence[str]) -> list[tuple[bool, str | None]]:
    """(valid, country code) for many addresses at once (the batch lookup of iptocc)."""
    from iptocc import country_code

    valid = [ip_valid(t) for t in texts]
    good = [t for t, ok in zip(texts, valid, strict=True) if ok]
    codes = iter(country_code(good) if good else [])
    return [(ok, next(codes) if ok else None) for ok in valid]


def ip_countries(texts: Sequence[str]) -> list[str | None]:
    """Country codes for many addresses at once; None for invalid or private ones."""
    return [code for _, code in ip_lookup(texts)]


def ip_facts(value: Any) -> dict[str, Any]:
    """``ip_valid`` and ``ip_country`` for one address (empty when missing)."""
    text = _ip_text(value)
    if text is None:
        return {}
    if not ip_valid(text):
        return {"ip_valid": False}
    out: dict[str, Any] = {"ip_valid": True}
    code = ip_countries([text])[0]
    if code:
        out["ip_country"] = code
    return out
