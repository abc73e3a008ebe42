"""Checks of a model against the data it will score: names the model reads that no
contact or event has.

A property typo (``emial_type``) is valid language, so validation accepts it, and the
rule silently never fires. :func:`unknown_names` compares what a model reads
(:func:`leadscore.model.reads.references`) with the properties, event types and
event attributes the data holds, and says "did you mean" from the real names. The CLI
(``validate``, ``score``, ``backtest``) and the service's model editor print these as
warnings: the model is not refused, since the data may simply not have them yet.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from ..engine.folding import fold
from ..enrich.properties import PROPERTY_NAMES
from ..errors import Problem
from ..model.loader import locate
from ..model.reads import Reference, references
from ..model.schema import ScoringModel
from .io import Inputs

SHOWN_NAMES = 8
"""How many of the data's real names a warning lists when none is close."""


@dataclass(frozen=True)
class Vocabulary:
    """The names data holds. ``None``: not known (no such data), so not checked."""

    properties: frozenset[str] | None = None
    event_types: frozenset[str] | None = None
    attributes: frozenset[str] | None = None
    where: str = "the data"
    events_where: str | None = None
    """How to name the events, when not as ``where``."""
    enrich_hint: str | None = None
    """Set when enrichment was not applied: the fix for a missing enrichment property."""


def vocabulary(
    properties: Iterable[str] | None = None,
    event_types: Iterable[str] | None = None,
    attributes: Iterable[str] | None = None,
    *,
    where: str = "the data",
    events_where: str | None = None,
    enrich_hint: str | None = None,
) -> Vocabulary:
    """A :class:`Vocabulary`; an empty collection counts as unknown (nothing to compare)."""

    def known(names: Iterable[str] | None) -> frozenset[str] | None:
        out = frozenset(str(n) for n in names) if names is not None else None
        return out or None

    return Vocabulary(
        known(properties),
        known(event_types),
        known(attributes),
        where=where,
        events_where=events_where,
        enrich_hint=enrich_hint,
    )


def _hint(name: str, real: Collection[str], what: str) -> str:
    close = difflib.get_close_matches(name, sorted(real), 1, 0.6)
    if not close:  # case or spelling apart: compare folded too
        folded = {fold(r): r for r in sorted(real)}
        again = difflib.get_close_matches(fold(name), sorted(folded), 1, 0.6)
        close = [folded[again[0]]] if again else []
    if close:
        return f"did you mean {close[0]!r}?"
    shown = sorted(real)[:SHOWN_NAMES]
    more = ", …" if len(real) > SHOWN_NAMES else ""
    return f"check the spelling; the {what} there are: {', '.join(shown)}{more}"


def unknown_names(
    model: ScoringModel, vocab: Vocabulary, *, text: str | None = None, source: str | None = None
) -> list[Problem]:
    """One warning per name the model reads that the data does not hold (each name
    once, at its first place; located in ``text`` when it is given)."""
    out: list[tuple[Reference, str, str]] = []
    seen: set[tuple[str, str]] = set()
    events = vocab.events_where or vocab.where
    types = {fold(t) for t in vocab.event_types} if vocab.event_types is not None else None
    for ref in references(model):
        if (ref.kind, ref.name) in seen:
            continue
        seen.add((ref.kind, ref.name))
        if ref.kind == "property" and vocab.properties is not None:
            if ref.name in vocab.properties:
                continue
            if ref.name in PROPERTY_NAMES and vocab.enrich_hint is not None:
                out.append(
                    (
                        ref,
                        f"property {ref.name!r} is added by enrichment, which was not "
                        f"applied: no contact in {vocab.where} has it, so rule "
                        f"{ref.rule!r} never matches on it",
                        vocab.enrich_hint,
                    )
                )
                continue
            message = (
                f"property {ref.name!r} is in no contact of {vocab.where}: rule "
                f"{ref.rule!r} never matches on it"
            )
            out.append((ref, message, _hint(ref.name, vocab.properties, "properties")))
        elif ref.kind == "event_type" and types is not None and vocab.event_types is not None:
            if fold(ref.name) in types:
                continue
            message = (
                f"event type {ref.name!r} is in no event of {events}: rule "
                f"{ref.rule!r} never fires on it"
            )
            out.append((ref, message, _hint(ref.name, vocab.event_types, "event types")))
        elif ref.kind == "attribute" and vocab.attributes is not None:
            if ref.name in vocab.attributes:
                continue
            message = (
                f"event attribute {ref.name!r} is in no event of {events}: rule "
                f"{ref.rule!r} never matches on it"
            )
            out.append((ref, message, _hint(ref.name, vocab.attributes, "event attributes")))
    marks = locate(text, [r.path for r, _, _ in out]) if text is not None else [None] * len(out)
    return [
        Problem(ref.path, message, hint, *(mark or (None, None)), source=source)
        for (ref, message, hint), mark in zip(out, marks, strict=True)
    ]


ENRICH_HINT = (
    "pass --enrich to add the enrichment properties, or enrich the file first with "
    "`leadscore enrich --contacts FILE --out FILE`"
)


def inputs_vocabulary(
    inputs: Inputs, *, enriched: bool, where: str, events_where: str | None = None
) -> Vocabulary:
    """The names loaded contacts and events hold (``where``, ``events_where``: how to
    name the contacts and the events)."""
    types: list[str] | None = None
    if inputs.has_events:
        rows = inputs.con.execute(
            "SELECT DISTINCT CAST(type AS VARCHAR) FROM events WHERE type IS NOT NULL"
        ).fetchall()
        types = [r[0] for r in rows]
    return vocabulary(
        inputs.properties,
        types,
        inputs.attributes if inputs.has_events else None,
        where=where,
        events_where=events_where,
        enrich_hint=None if enriched else ENRICH_HINT,
    )
