"""Tiny contacts/events files and models for the evaluate tests."""

from __future__ import annotations

import csv
from pathlib import Path

from leadscore.model import load_model


def write_csv(path: Path, rows: list[dict]) -> Path:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_model(path: Path, text: str) -> Path:
    path.write_text(text)
    load_model(path)  # fail early when a test model is wrong
    return path


# Four converters (c1-c4, outcome on 2026-03-10) and four others (c5-c8, no outcome time).
# Everyone viewed a page on 2026-03-01. After converting, each converter submitted the
# onboarding form: on 2026-03-11, except c4 whose form is at the very outcome time.
LEAK_CONTACTS = [
    {
        "id": f"c{i}",
        "won": "1" if i <= 4 else "0",
        "won_at": "2026-03-10T09:00:00Z" if i <= 4 else "",
    }
    for i in range(1, 9)
]
LEAK_EVENTS = [
    {
        "contact_id": f"c{i}",
        "event_id": f"v{i}",
        "type": "page_view",
        "ts": "2026-03-01T10:00:00Z",
        "form_id": "",
    }
    for i in range(1, 9)
] + [
    {
        "contact_id": f"c{i}",
        "event_id": f"f{i}",
        "type": "form_submit",
        "ts": "2026-03-10T09:00:00Z" if i == 4 else "2026-03-11T10:00:00Z",
        "form_id": "onboarding",
    }
    for i in range(1, 5)
]
LEAKY_MODEL = """
name: leaky
groups:
  engagement:
    rules:
      - name: Onboarding form
        on: {type: form_submit, form_id: onboarding}
        points: 50
      - name: Any page
        on: {type: page_view}
        points: 5
thresholds:
  - stage: MQL
    when: {total: {gte: 50}}
default_stage: lead
"""
