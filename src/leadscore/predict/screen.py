"""Which property columns may teach a model or give points: the screen of ``train`` and
``suggest``.

:func:`screen` leaves out the columns whose values name a record rather than
describe it: ids, names, e-mail addresses, phone numbers, and any text column
with more than :data:`MAX_CATEGORIES` distinct values (companies, free text,
times written as text). What is learned from such values fits the file it was
learned from and says nothing about the next contacts (a "Schmidt" or a
company name is not a reason to buy). Each left-out column gets a stated
reason; ``keep`` overrides the screen for named columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..engine import values as V
from .features import EVENT_PREFIX
from .table import IDENTIFIER_MIN_DISTINCT, NUMERIC_SHARE, Table, category_key

#: a text column with more distinct values than this is left out (high cardinality)
MAX_CATEGORIES = 50
#: name-based screens apply to columns with at least this many distinct values (so a
#: yes/no flag such as "Do Not Email" stays)
NAME_SCREEN_MIN_DISTINCT = 10
IDENTIFIER_NAME = re.compile(r"(^|_)(id|uuid|guid|key|number|no)$")
PERSONAL_NAME = re.compile(
    r"^((first|last|full|given|family|middle|sur|nick|user|contact|company|account)_?)?name$"
)
CONTACT_DETAIL = re.compile(
    r"(^|_)(e_?mail|email_address|phone|phone_number|mobile|telephone|fax|address|street|"
    r"postcode|zip|zip_code|ip|ip_address)$"
)


def _normalised(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


def screen(table: Table, keep: Sequence[str] = ()) -> dict[str, str]:
    """The property columns of ``table`` that should not give points, with the reason."""
    reasons: dict[str, str] = {}
    for column, raw in table.items():
        if column in keep or column.startswith(EVENT_PREFIX):
            continue
        present = [v for v in raw if not V.is_missing(v)]
        if not present:
            reasons[column] = "always empty"
            continue
        numbers = [x for x in (V.number(v) for v in present) if x is not None]
        numeric = len(numbers) >= NUMERIC_SHARE * len(present)
        distinct = len(set(numbers)) if numeric else len({category_key(v) for v in present})
        key = _normalised(column)
        named = distinct >= NAME_SCREEN_MIN_DISTINCT
        if named and IDENTIFIER_NAME.search(key):
            reasons[column] = (
                f"an identifier by its name ({distinct} distinct values): it names a "
                "record, it does not describe one"
            )
        elif named and PERSONAL_NAME.search(key):
            reasons[column] = (
                f"a name ({distinct} distinct values): who someone is called says nothing "
                "about whether the next contacts buy"
            )
        elif named and CONTACT_DETAIL.search(key):
            reasons[column] = (
                f"a contact detail ({distinct} distinct values): e-mail addresses, phone "
                "numbers and addresses are one per person"
            )
        elif numeric:
            if (
                distinct == len(numbers) >= IDENTIFIER_MIN_DISTINCT
                and float(np.mod(numbers, 1).max()) == 0
            ):
                reasons[column] = "identifier-like (every value a distinct whole number)"
        elif distinct > MAX_CATEGORIES:
            reasons[column] = (
                f"high cardinality ({distinct} distinct values, more than {MAX_CATEGORIES}): "
                "rules on its values would fit this file, not the next contacts"
            )
    return reasons
