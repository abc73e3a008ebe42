"""Exports: scores with their top reasons as CSV/Parquet, and the "score changed" webhook.

The "score changed" payload is flat on purpose: no-code tools (Zapier, Make,
n8n) map top-level fields in one click. One POST per change::

    {
      "event": "score.changed",
      "id": "3f1c...",                    # the same on every retry: drop repeats
      "occurred_at": "2026-03-01T12:00:00+00:00",
      "contact_id": "c_42", "contact_email": "ann@acme.example",
      "model": "b2b-saas",
      "total": 62.5, "previous_total": 40.0, "delta": 22.5,
      "grade": "A", "stage": "MQL", "previous_stage": "lead", "stage_changed": true,
      "excluded": false,
      "reasons": "Demo request +40; Decision maker +15; Pricing page +7.5"
    }

It is signed like every leadscore webhook (``Leadscore-Signature: v1=<hex>``,
HMAC-SHA256 of ``"<Leadscore-Timestamp>.<body>"``) when a secret is set.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ..actions.outbound import OutboundPolicy, UrlRefused, guarded_client
from ..actions.webhook import DeliveryFailed, post
from ..data.io import load_inputs, output_format, write_rows
from ..engine.inprocess import score_contact
from ..errors import LeadscoreError
from ..model import ScoringModel
from .crm.base import ScoreUpdate, top_reasons
from .events import LeadEvent

log = logging.getLogger("leadscore.integrations.exports")

EXPORT_COLUMNS = [
    "contact_id",
    "email",
    "model",
    "total",
    "grade",
    "stage",
    "excluded",
    "top_reasons",
]


def score_rows(
    models: Sequence[ScoringModel],
    contacts: str | Path,
    events: str | Path | None,
    as_of: datetime,
    *,
    reasons: int = 3,
    keep: Sequence[str] = (),
) -> tuple[list[dict[str, Any]], list[str], Any]:
    """Score every contact in-process; one row per contact and model with its top reasons.

    ``keep`` lists contact properties copied to the rows when present (e.g. the
    CRM id properties, so a sync can match records without a lookup).
    """
    inputs = load_inputs(contacts, events)
    kept = [k for k in keep if k in inputs.properties]
    rows = []
    for contact, evs in inputs.contact_rows():
        for model in models:
            res = score_contact(model, contact, evs, as_of=as_of)
            row = {
                "contact_id": contact["id"],
                "email": (contact.get("email") or None),
                "model": model.name,
                "total": res.total,
                "grade": res.grade,
                "stage": res.stage,
                "excluded": res.excluded,
                "top_reasons": "; ".join(top_reasons(res, reasons)),
            }
            row.update({k: contact.get(k) for k in kept})
            rows.append(row)
    return rows, [*EXPORT_COLUMNS, *kept], inputs.con


def export_scores(
    models: Sequence[ScoringModel],
    contacts: str | Path,
    events: str | Path | None,
    out: str | Path,
    as_of: datetime,
    *,
    reasons: int = 3,
) -> int:
    """Write scores with reasons to ``out`` (.csv, .parquet or .jsonl); returns rows written."""
    output_format(out)
    rows, columns, con = score_rows(models, contacts, events, as_of, reasons=reasons)
    write_rows(con, rows, columns, out)
    return len(rows)


def updates_from_rows(
    rows: Sequence[dict[str, Any]],
    at: datetime,
    *,
    model: str | None = None,
    id_property: str | None = None,
) -> list[ScoreUpdate]:
    """Score rows (from :func:`score_rows` or an exported file) as CRM updates."""
    names = sorted({r["model"] for r in rows if r.get("model")})
    chosen = model or (names[0] if names else None)
    out = []
    for r in rows:
        if chosen and r.get("model") not in (None, chosen):
            continue
        reasons = r.get("top_reasons") or ""
        out.append(
            ScoreUpdate(
                contact_id=str(r["contact_id"]),
                email=(str(r["email"]).strip().lower() if r.get("email") else None),
                external_id=(str(r[id_property]) if id_property and r.get(id_property) else None),
                total=float(r["total"]),
                grade=r.get("grade") or None,
                stage=r.get("stage") or None,
                reasons=tuple(x.strip() for x in str(reasons).split(";") if x.strip()),
                model=r.get("model") or chosen,
                at=at,
            )
        )
    return out


def score_changed_payload(
    *,
    contact_id: str,
    email: str | None,
    model: str,
    score: dict[str, Any],
    previous: dict[str, Any] | None,
    reasons: Sequence[str],
    at: datetime,
) -> dict[str, Any]:
    """The flat "score changed" payload (see the module docstring)."""
    total = float(score.get("total") or 0)
    prev_total = (
        float(previous["total"]) if previous and previous.get("total") is not None else None
    )
    prev_stage = previous.get("stage") if previous else None
    ident = hashlib.sha256(
        json.dumps([contact_id, model, total, score.get("stage"), at.isoformat()]).encode()
    ).hexdigest()[:32]
    return {
        "event": "score.changed",
        "id": ident,
        "occurred_at": at.isoformat(),
        "contact_id": contact_id,
        "contact_email": email,
        "model": model,
        "total": total,
        "previous_total": prev_total,
        "delta": round(total - prev_total, 6) if prev_total is not None else None,
        "grade": score.get("grade"),
        "stage": score.get("stage"),
        "previous_stage": prev_stage,
        "stage_changed": previous is None or prev_stage != score.get("stage"),
        "excluded": bool(score.get("excluded")),
        "reasons": "; ".join(reasons),
    }


class ScoreChangedWebhook:
    """A listener that posts the "score changed" payload when a contact's score moves.

    ``min_delta`` skips small moves (0: every change). Deliveries that fail are
    logged and dropped: durable retried deliveries are the trigger outbox's job.
    The URL follows the service's outgoing-request policy: public addresses only,
    unless ``allow`` lists hosts or CIDRs (the ``outbound_allow`` setting's form).
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str = "",
        min_delta: float = 0.0,
        client: httpx.Client | None = None,
        allow: str = "",
    ):
        policy = OutboundPolicy.parse(allow)
        try:
            url = policy.check_url(url)
        except UrlRefused as exc:
            raise LeadscoreError(f"score.changed webhook: {exc.message} ({exc.hint})") from None
        self.url, self.secret, self.min_delta = url, secret, min_delta
        self.client = client or guarded_client(policy, 5.0)
        self._last: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.sent = 0

    def __call__(self, events: Sequence[LeadEvent], results: Sequence[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        for ev, r in zip(events, results, strict=False):
            for name, score in sorted((r.get("scores") or {}).items()):
                cid = str(r.get("contact_id") or ev.contact_key)
                with self._lock:
                    prev = self._last.get((cid, name))
                    self._last[(cid, name)] = dict(score)
                moved = prev is None or abs(float(score["total"]) - float(prev["total"])) > (
                    self.min_delta
                )
                if prev is not None and prev.get("stage") != score.get("stage"):
                    moved = True
                if not moved or (prev is not None and prev == score):
                    continue
                payload = score_changed_payload(
                    contact_id=cid,
                    email=ev.email,
                    model=name,
                    score=score,
                    previous=prev,
                    reasons=(r.get("reasons") or {}).get(name, ()),
                    at=now,
                )
                body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
                try:
                    post(self.client, self.url, body, secret=self.secret, delivery=payload["id"])
                    self.sent += 1
                except DeliveryFailed as exc:
                    log.warning("score.changed webhook to %s failed: %s", self.url, exc)


def fan_out(*listeners: Any):
    """One listener that calls each of ``listeners`` in turn."""

    def listener(events: Sequence[LeadEvent], results: Sequence[dict[str, Any]]) -> None:
        for each in listeners:
            if each is not None:
                each(events, results)

    return listener
