"""Backtest data that is already in memory (the service's stored history).

:func:`inputs_from_records` builds the same ``contacts`` and ``events`` tables as
:func:`leadscore.data.io.load_inputs` does from files, so a backtest or an
impact preview runs on rows read from a database exactly as on files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa

from ..data.io import Inputs, connect
from ..engine import values as V
from ..errors import DataError

EVENT_CORE = ("contact_id", "event_id", "type", "ts")


def _text(value: Any) -> str | None:
    return None if V.is_missing(value) else V.text(value)


def inputs_from_records(
    contacts: Iterable[Mapping[str, Any]],
    events: Iterable[Mapping[str, Any]] = (),
) -> Inputs:
    """Contacts (each with ``id``) and events (``contact_id``, ``type``, ``ts``,
    optional ``event_id`` and attributes) as an :class:`Inputs`."""
    contacts = list(contacts)
    events = list(events)
    props: list[str] = []
    for c in contacts:
        if V.is_missing(c.get("id")):
            raise DataError("a contact has no 'id'", hint="every contact needs an id")
        props += [k for k in c if k != "id" and k not in props]
    ids = [str(c["id"]) for c in contacts]
    if len(set(ids)) != len(ids):
        raise DataError("contact ids appear more than once", hint="each contact id must be unique")
    con = connect()
    ctable = pa.table(
        {"id": pa.array(ids, pa.string())}
        | {p: pa.array([_text(c.get(p)) for c in contacts], pa.string()) for p in props}
    )
    con.register("__contacts", ctable)
    con.execute("CREATE TEMP TABLE contacts AS SELECT * FROM __contacts")
    con.unregister("__contacts")
    attrs: list[str] = []
    for e in events:
        attrs += [k for k in e if k not in EVENT_CORE and k != "id" and k not in attrs]
    times: list[datetime] = []
    for i, e in enumerate(events):
        try:
            times.append(V.timestamp(e.get("ts")))
        except V.TimestampError as exc:
            raise DataError(str(exc), row=i + 1, column="ts") from None
    etable = pa.table(
        {
            "contact_id": pa.array([_text(e.get("contact_id")) for e in events], pa.string()),
            "event_id": pa.array(
                [_text(e.get("event_id", e.get("id"))) for e in events], pa.string()
            ),
            "type": pa.array([_text(e.get("type")) for e in events], pa.string()),
            "ts": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
        | {a: pa.array([_text(e.get(a)) for e in events], pa.string()) for a in attrs}
    )
    con.register("__events", etable)
    con.execute("CREATE TEMP TABLE events AS SELECT * FROM __events")
    con.unregister("__events")
    known = set(ids)
    return Inputs(
        con=con,
        properties=props,
        attributes=attrs,
        n_contacts=len(ids),
        n_events=len(events),
        orphan_events=sum(1 for e in events if _text(e.get("contact_id")) not in known),
        has_events=bool(events),
    )
