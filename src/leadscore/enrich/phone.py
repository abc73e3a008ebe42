"""Phone numbers: validity, kind of line, country and formats (``phonenumbers``).

A number written with its country code (``+33 …`` or ``0033 …`` read from a
known country) is read as it is; a national number (``01 23 45 67 89``) is read
in the contact's country (its normalised ``country``). A national number with no
country to read it in cannot be checked: ``phone_valid`` is false and
``phone_type`` is ``no_country``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

TYPE_NAMES = {
    "FIXED_LINE": "fixed",
    "MOBILE": "mobile",
    "FIXED_LINE_OR_MOBILE": "fixed_or_mobile",
    "TOLL_FREE": "toll_free",
    "PREMIUM_RATE": "premium_rate",
    "SHARED_COST": "shared_cost",
    "VOIP": "voip",
    "PERSONAL_NUMBER": "personal",
    "PAGER": "pager",
    "UAN": "uan",
    "VOICEMAIL": "voicemail",
    "UNKNOWN": "unknown",
}
MAX_LENGTH = 64  # longer text is not a phone number; phonenumbers refuses past 250


@lru_cache(maxsize=1)
def _type_names() -> dict[int, str]:
    import phonenumbers as pn

    return {getattr(pn.PhoneNumberType, k): v for k, v in TYPE_NAMES.items()}


@lru_cache(maxsize=131072)
def _facts(text: str, region: str | None) -> tuple[tuple[str, Any], ...]:
    import phonenumbers as pn

    invalid = (("phone_valid", False), ("phone_type", "invalid"))
    if len(text) > MAX_LENGTH or not any(ch.isdigit() for ch in text):
        return invalid
    try:
        number = pn.parse(text, region)
    except pn.NumberParseException as exc:
        if exc.error_type == pn.NumberParseException.INVALID_COUNTRY_CODE and region is None:
            return (("phone_valid", False), ("phone_type", "no_country"))
        return invalid
    except Exception:  # anything phonenumbers cannot read is an invalid number
        return invalid
    # phonenumbers' is_valid_number is "the number's type in its region is known":
    # asking for the type once gives both, at half the cost
    found = pn.number_type(number)
    if found == pn.PhoneNumberType.UNKNOWN:
        return invalid
    kind = _type_names().get(found, "unknown")
    return (
        ("phone_valid", True),
        ("phone_type", kind),
        ("phone_country", pn.region_code_for_number(number)),
        ("phone_e164", pn.format_number(number, pn.PhoneNumberFormat.E164)),
        ("phone_international", pn.format_number(number, pn.PhoneNumberFormat.INTERNATIONAL)),
    )


def phone_facts(value: Any, region: str | None = None) -> dict[str, Any]:
    """The phone properties for one number, read in ``region`` (ISO alpha-2) when national."""
    if value is None:
        return {}
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number column read as float: 33612345678.0
    text = str(value).strip()
    if not text:
        return {}
    region = region.upper() if region and len(region) == 2 and region.isalpha() else None
    return dict(_facts(text, region))
