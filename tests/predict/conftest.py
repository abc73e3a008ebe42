"""Small synthetic contacts and events with a known signal, and the real data set."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from ..conftest import SHARED_DATA

X_EDUCATION = SHARED_DATA / "x_education_leads.csv"
#: columns the sales team fills in after contact (see the data README)
X_LEAKING = (
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
    "Last Activity",
    "Last Notable Activity",
)
END = datetime(2026, 3, 1, tzinfo=UTC)


def tiny_table(n: int = 240, seed: int = 0) -> tuple[dict[str, list], np.ndarray]:
    """Country drives conversion, employees helps, source is noise with gaps."""
    rng = np.random.default_rng(seed)
    country = rng.choice(["FR", "US", "DE", "BR"], size=n)
    employees = rng.integers(1, 1000, size=n)
    source = rng.choice(["ads", "seo", None], size=n)
    logit = -1.0 + 2.0 * (country == "FR") + 1.5 * (employees > 500)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    table = {
        "country": list(country),
        "employees": [str(e) for e in employees],
        "source": list(source),
    }
    return table, y


def write_csvs(folder: Path, contacts: list[dict], events: list[dict]) -> tuple[Path, Path]:
    """contacts.csv and events.csv in ``folder``, a header from each first row."""
    folder.mkdir(parents=True, exist_ok=True)
    cpath, epath = folder / "contacts.csv", folder / "events.csv"
    for path, rows in ((cpath, contacts), (epath, events)):
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return cpath, epath


def write_synthetic(
    folder: Path, n: int = 300, seed: int = 0, prefix: str = "c"
) -> tuple[Path, Path]:
    """Contacts (with `converted`, `converted_at`) and events whose page views and
    demo requests drive conversion; events after conversion are there too."""
    rng = np.random.default_rng(seed)
    contacts, events = [], []
    eid = 0
    for i in range(n):
        cid = f"{prefix}{i:04d}"
        country = str(rng.choice(["FR", "US", "DE"]))
        interest = rng.random()
        views = int(rng.poisson(1 + 6 * interest))
        demo = rng.random() < interest * 0.6
        p = 0.1 + 0.6 * interest + (0.2 if country == "FR" else 0.0)
        converted = rng.random() < min(p, 0.95)
        conv_at = END - timedelta(days=int(rng.integers(1, 20))) if converted else None
        contacts.append(
            {
                "id": cid,
                "country": country,
                "plan": str(rng.choice(["a", "b"])),
                "converted": int(converted),
                "converted_at": conv_at.isoformat() if conv_at else "",
            }
        )
        base = (conv_at or END) - timedelta(days=60)
        for _ in range(views):
            eid += 1
            ts = base + timedelta(hours=int(rng.integers(0, 24 * 59)))
            events.append(
                {
                    "event_id": f"e{eid}",
                    "contact_id": cid,
                    "type": "page_view",
                    "ts": ts.isoformat(),
                    "url": f"/p{int(rng.integers(0, 5))}",
                    "source": str(rng.choice(["ads", "seo"])),
                }
            )
        if demo:
            eid += 1
            ts = (conv_at or END) - timedelta(days=2)
            events.append(
                {
                    "event_id": f"e{eid}",
                    "contact_id": cid,
                    "type": "form_submit",
                    "ts": ts.isoformat(),
                    "url": "/demo",
                    "source": "direct",
                }
            )
        if converted:
            eid += 1
            events.append(
                {
                    "event_id": f"e{eid}",
                    "contact_id": cid,
                    "type": "purchase",
                    "ts": conv_at.isoformat(),
                    "url": "/checkout",
                    "source": "direct",
                }
            )
    return write_csvs(folder, contacts, events)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> tuple[Path, Path]:
    return write_synthetic(tmp_path_factory.mktemp("predict-data"))


@pytest.fixture(scope="session")
def x_education() -> Path:
    if not X_EDUCATION.exists():
        pytest.skip(
            f"the shared data set {X_EDUCATION} is absent: the X Education tests did NOT run"
        )
    return X_EDUCATION
