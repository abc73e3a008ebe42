"""Enrichment in the service: offline on every contact upsert, outside services after it.

* The built-in **offline** enrichment (``leadscore.enrich``: e-mail, phone, IP,
  country, job title, company) runs inside the upsert's transaction, so the
  contact is scored with the properties it adds; setting ``enrich_offline``
  switches it off.
* **Outside** enrichers (none by default; a YAML file named by the
  ``enrichers`` setting, see :func:`load_enrichers`, or ``enrichers=[...]``
  given to :class:`~leadscore.service.Service` or ``create_app``) run after the upsert
  committed, outside any transaction, so a slow service never holds a lock or
  delays the score. What they add is filled in (existing values win) and the
  contact rescored. One that fails leaves a row in ``enrich_pending``
  (contact, enricher, reason, retry time, tries) and the contact's
  ``enrichment_pending`` property names it; the sweep retries the due ones,
  up to ``enrich_retry_max`` tries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..enrich import Enricher, apply_enrichers, enrich_on_upsert
from ..enrich.remote import PENDING_PROPERTY
from ..store import tables as T

EP = T.enrich_pending.c


HTTP_KEYS = {
    "name", "url", "outputs", "params", "headers_env", "timeout", "cache_ttl",
    "rate_limit", "rate_period", "max_failures", "pause",
}  # fmt: skip


def load_enrichers(path: str, env: Mapping[str, str] | None = None) -> list[Enricher]:
    """Outside enrichers from a YAML file (setting ``enrichers``)::

        enrichers:
          - name: companydata
            url: "https://api.example/companies/{email_domain}"
            outputs: {company: name, employees: metrics.employees}
            headers_env: {Authorization: COMPANYDATA_AUTH}  # values read from the environment
            timeout: 2

    Each entry is an :class:`~leadscore.enrich.HttpEnricher`; secrets stay in the
    environment, named by ``headers_env``.
    """
    import os
    from pathlib import Path

    import yaml

    from ..enrich import HttpEnricher
    from ..errors import UsageError

    env = os.environ if env is None else env
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"enrichers file {path!r} not found; fix the 'enrichers' setting")
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    items = data.get("enrichers") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise UsageError(f"{path}: expected 'enrichers:' with a list of services")
    out: list[Enricher] = []
    for i, item in enumerate(items):
        where = f"{path}: enrichers[{i}]"
        if not isinstance(item, dict):
            raise UsageError(f"{where}: expected a mapping with name, url and outputs")
        unknown = sorted(set(item) - HTTP_KEYS)
        if unknown:
            raise UsageError(
                f"{where}: unknown key(s) {', '.join(unknown)}; known: "
                + ", ".join(sorted(HTTP_KEYS))
            )
        missing = [k for k in ("name", "url", "outputs") if not item.get(k)]
        if missing:
            raise UsageError(f"{where}: missing {', '.join(missing)}")
        url = str(item["url"])
        authority = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
        if "{" in url.split("://", 1)[0] or "{" in authority:
            # contact properties come from users (even the public track key): letting them
            # choose the host would let anyone point the service at an internal address
            raise UsageError(
                f"{where}: the url {url!r} takes its host from a contact property; "
                "placeholders may fill only the path and the query, e.g. "
                "https://api.example/companies/{email_domain}"
            )
        headers = {}
        for header, var in (item.get("headers_env") or {}).items():
            if var not in env:
                raise UsageError(
                    f"{where}: header {header} reads the environment variable {var}, "
                    "which is not set; export it before starting the service"
                )
            headers[header] = env[var]
        kwargs = {k: v for k, v in item.items() if k != "headers_env"}
        try:
            out.append(HttpEnricher(headers=headers, **kwargs))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{where}: {exc}") from None
    return out


class ServiceEnrichment:
    """The service's enrichment: the offline step and the outside enrichers."""

    def __init__(self, settings: Any, enrichers: Sequence[Enricher] = ()):
        self.settings = settings
        path = getattr(settings, "values", {}).get("enrichers")
        self.enrichers = list(enrichers) or (load_enrichers(path) if path else [])
        names = [e.name for e in self.enrichers]
        if len(set(names)) != len(names):
            raise ValueError(f"two outside enrichers share a name: {', '.join(names)}")

    def offline(self, properties: Mapping[str, Any], changed: Iterable[str]) -> dict[str, Any]:
        """The properties with the offline enrichment (what was derived from a changed
        input is derived again); unchanged when the setting is off."""
        if not self.settings.enrich_offline:
            return dict(properties)
        out = enrich_on_upsert(properties, (), changed=changed).properties
        if PENDING_PROPERTY in properties:  # kept until the outside enrichers answer
            out[PENDING_PROPERTY] = properties[PENDING_PROPERTY]
        return out

    def forget(self, properties: Mapping[str, Any]) -> None:
        """Drop what the enrichers keep in memory about an erased contact: the outside
        enrichers' cached answers for it (those with a ``forget``), and the offline
        enrichment's caches of addresses and phone numbers."""
        from ..enrich import forget_cached_values

        forget_cached_values()
        for enricher in self.enrichers:
            forget = getattr(enricher, "forget", None)
            if callable(forget):
                forget(properties)

    # ------------------------------------------------------------ outside services
    def run_outside(
        self,
        svc: Any,
        contact_ids: Sequence[str],
        now: datetime,
        *,
        only: Mapping[str, set[str]] | None = None,
    ) -> dict[str, Any]:
        """Run the outside enrichers on contacts (``only``: which enrichers per contact);
        write what they found, keep failures for retry, rescore. Returns new scores."""
        if not self.enrichers or not contact_ids:
            return {}
        with svc.store.read() as conn:
            rows = conn.execute(
                sa.select(T.contacts.c.id, T.contacts.c.properties).where(
                    T.contacts.c.id.in_(sorted(set(contact_ids)))
                )
            ).all()
        found: dict[str, tuple[list[str], Any]] = {}
        for row in rows:
            wanted = [
                e for e in self.enrichers if only is None or e.name in only.get(row.id, set())
            ]
            if wanted:
                outcome = apply_enrichers(row.properties or {}, wanted, now=lambda: now)
                found[row.id] = ([e.name for e in wanted], outcome)
        if not found:
            return {}

        def work(conn: Any) -> dict[str, Any]:
            touched = []
            for cid in sorted(found):
                tried, outcome = found[cid]
                if self._write(conn, cid, tried, outcome, now):
                    touched.append(cid)
            return svc._rescore(conn, touched, "enrichment", None) if touched else {}

        scored = svc.store.transaction(work)
        svc.notify_outbox()
        return scored

    def _write(self, conn: Any, cid: str, tried: list[str], outcome: Any, now: datetime) -> bool:
        row = conn.execute(sa.select(T.contacts.c.properties).where(T.contacts.c.id == cid)).first()
        if row is None:  # deleted meanwhile
            return False
        failed = {p.enricher: p for p in outcome.pending}
        answered = [n for n in tried if n not in failed]
        if answered:
            conn.execute(
                sa.delete(T.enrich_pending).where(EP.contact_id == cid, EP.enricher.in_(answered))
            )
        attempts = dict(
            conn.execute(sa.select(EP.enricher, EP.attempts).where(EP.contact_id == cid)).all()
        )
        for name, p in failed.items():
            tries = attempts.get(name, 0) + 1
            conn.execute(
                sa.delete(T.enrich_pending).where(EP.contact_id == cid, EP.enricher == name)
            )
            if tries < self.settings.enrich_retry_max:
                conn.execute(
                    sa.insert(T.enrich_pending).values(
                        contact_id=cid,
                        enricher=name,
                        reason=p.reason[:2000],
                        retry_at=p.retry_at,
                        attempts=tries,
                    )
                )
        still = sorted(conn.execute(sa.select(EP.enricher).where(EP.contact_id == cid)).scalars())
        props = dict(row.properties or {})
        before = dict(props)
        for name, value in outcome.added.items():
            if name not in props or props[name] in (None, ""):
                props[name] = value
        if still:
            props[PENDING_PROPERTY] = ",".join(still)
        else:
            props.pop(PENDING_PROPERTY, None)
        if props == before:
            return False
        conn.execute(
            sa.update(T.contacts)
            .where(T.contacts.c.id == cid)
            .values(properties=props, updated_at=now)
        )
        return True

    def retry_due(self, svc: Any, now: datetime, batch: int = 500) -> int:
        """Retry the outside enrichments whose time has come; returns contacts tried."""
        if not self.enrichers:
            return 0
        with svc.store.read() as conn:
            rows = conn.execute(
                sa.select(EP.contact_id, EP.enricher)
                .where(EP.retry_at <= now)
                .order_by(EP.contact_id, EP.enricher)
            ).all()
        known = {e.name for e in self.enrichers}
        only: dict[str, set[str]] = {}
        for r in rows:
            if r.enricher in known:
                only.setdefault(r.contact_id, set()).add(r.enricher)
        ids = sorted(only)
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            self.run_outside(svc, chunk, now, only={c: only[c] for c in chunk})
        return len(ids)
