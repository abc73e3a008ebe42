"""Model versions: drafts, validation, test on a contact, impact, publish, rollback, diff."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..data.checks import Vocabulary, unknown_names
from ..errors import ModelError
from ..model.schema import ScoringModel
from ..store import tables as T
from . import stages
from .accounts import FullRescore, account_aware, score_contact_at
from .core import Service, audit, utcnow
from .predicted import check_model_dir
from .problems import ApiProblem
from .published import UNPUBLISHED, Published, model_from_text
from .rollups import forget
from .scoring import load_inputs, predictions, score_one
from .webhooks import check_webhooks, warnings
from .writes import Writing

MV = T.model_versions.c
SCORE_DIGITS = 1
"""Totals equal once rounded to this many decimals (as pages show them) are the same
score for the impact's "change score" count: decay alone moves a total a little."""


def parse(text: str, max_bytes: int) -> ScoringModel:
    """Parse YAML text a client sent (at most ``max_bytes``); a ModelError (with
    located problems) becomes a 422 problem."""
    return model_from_text(text, max_bytes=max_bytes)


def version_row(conn: sa.Connection, name: str, version: int) -> Any:
    row = conn.execute(
        sa.select(T.model_versions).where(MV.name == name, MV.version == version)
    ).first()
    if row is None:
        known = (
            conn.execute(sa.select(MV.version).where(MV.name == name).order_by(MV.version))
            .scalars()
            .all()
        )
        hint = (
            f"versions of {name!r}: {', '.join(map(str, known))}"
            if known
            else "create it with POST /v1/models"
        )
        raise ApiProblem(404, f"no version {version} of model {name!r}; {hint}")
    return row


def describe(row: Any, *, with_yaml: bool = False) -> dict[str, Any]:
    out = {
        "name": row.name,
        "version": row.version,
        "status": row.status,
        "author": row.author,
        "created_at": row.created_at,
        "published_at": row.published_at,
        "hysteresis": (row.options or {}).get("hysteresis", {}),
    }
    if with_yaml:
        out["yaml"] = row.yaml
    return out


def create_draft(svc: Service, text: str, hysteresis: dict[str, float], actor: str) -> dict:
    model = parse(text, svc.settings.max_model_bytes)
    check_webhooks(model, text, svc.settings)
    # a declared trained model must load, from the service's models folder only
    check_model_dir(model, svc.models.models_root, text)
    unknown = sorted(set(hysteresis) - {t.name for t in model.triggers})
    if unknown:
        raise ApiProblem(
            422,
            f"hysteresis names unknown trigger(s) {', '.join(unknown)}; the "
            f"model's triggers: {', '.join(t.name for t in model.triggers) or 'none'}",
            kind="validation",
        )
    in_model = {t.name: t.hysteresis for t in model.triggers if t.hysteresis is not None}
    clash = sorted(n for n in hysteresis if n in in_model and in_model[n] != hysteresis[n])
    if clash:
        raise ApiProblem(
            422,
            f"hysteresis for {', '.join(clash)} is set in the model already "
            f"({', '.join(f'{n}: {in_model[n]:g}' for n in clash)}); change the trigger's "
            "'hysteresis:' key in the YAML and leave it out of the request body",
            kind="validation",
        )
    now = utcnow()
    with svc.store.write() as conn:
        last = (
            conn.execute(sa.select(sa.func.max(MV.version)).where(MV.name == model.name)).scalar()
            or 0
        )
        conn.execute(
            sa.insert(T.model_versions).values(
                name=model.name,
                version=last + 1,
                yaml=text,
                status="draft",
                options={"hysteresis": hysteresis},
                author=actor,
                created_at=now,
            )
        )
        audit(conn, actor, "model.draft", f"{model.name}@{last + 1}", at=now)
        row = version_row(conn, model.name, last + 1)
    found = warnings(model, svc.settings) + data_warnings(model, text, svc.vocabulary.get())
    return {**describe(row), "warnings": found}


def _pub(svc: Service, row: Any) -> Published:
    return Published(
        row.name,
        row.version,
        svc.models.parse(row.id, row.yaml),
        row.options or {},
        svc.models.models_root,
    )


def test_on_contact(
    svc: Service, name: str, version: int, contact_id: str, as_of: datetime | None
) -> dict[str, Any]:
    """Score one contact, named by its id or its e-mail address, under a version."""
    as_of = as_of or utcnow()
    with svc.store.read() as conn:
        pub = _pub(svc, version_row(conn, name, version))
        inputs = load_inputs(conn, [contact_id], as_of=as_of)
        if contact_id not in inputs[0] and "@" in contact_id:
            found = conn.execute(
                sa.select(T.contacts.c.id).where(
                    sa.func.lower(T.contacts.c.email) == contact_id.strip().lower()
                )
            ).scalar()
            if found is not None:
                contact_id = found
                inputs = load_inputs(conn, [contact_id], as_of=as_of)
        if contact_id not in inputs[0]:
            raise ApiProblem(
                404, f"no contact {contact_id!r}: give a contact's id or its e-mail address"
            )
        adj = score_contact_at(conn, pub, contact_id, inputs, as_of)
        current = conn.execute(
            sa.select(T.scores).where(
                T.scores.c.contact_id == contact_id, T.scores.c.model_name == name
            )
        ).first()
    return {
        "model": name,
        "version": version,
        "contact_id": contact_id,
        "as_of": as_of,
        "total": adj.total,
        "grade": adj.result.grade,
        "stage": adj.stage,
        "excluded": adj.result.excluded,
        "exclusion_reasons": list(adj.result.exclusion_reasons),
        "groups": adj.result.groups,
        "breakdown": adj.breakdown,
        "current": None
        if current is None
        else {
            "version": current.version,
            "total": current.total,
            "grade": current.grade,
            "stage": current.stage,
        },
    }


def contact_id_pages(conn: sa.Connection, batch: int):
    """Every stored contact id, in id order, ``batch`` at a time (keyset paging)."""
    last = ""
    while True:
        ids = list(
            conn.execute(
                sa.select(T.contacts.c.id)
                .where(T.contacts.c.id > last)
                .order_by(T.contacts.c.id)
                .limit(batch)
            ).scalars()
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def impact(svc: Service, name: str, version: int, *, batch: int = 1000) -> dict[str, Any]:
    """What publishing this version would change, without writing anything."""
    as_of = utcnow()
    stage_moves: Counter[tuple[Any, Any]] = Counter()
    grade_moves: Counter[tuple[Any, Any]] = Counter()
    contacts_seen = 0
    score_changes = 0
    delta_sum = 0.0
    with svc.store.read() as conn:
        pub = _pub(svc, version_row(conn, name, version))
        for scored in _impact_pages(conn, pub, batch, as_of):
            ids = sorted(scored)
            current = {
                r.contact_id: r
                for r in conn.execute(
                    sa.select(T.scores).where(
                        T.scores.c.contact_id.in_(ids), T.scores.c.model_name == name
                    )
                )
            }
            for cid in ids:
                adj, old = scored[cid], current.get(cid)
                stage_moves[(old.stage if old else None, adj.stage)] += 1
                grade_moves[(old.grade if old else None, adj.result.grade)] += 1
                delta_sum += adj.total - (old.total if old else 0.0)
                score_changes += old is None or round(adj.total, SCORE_DIGITS) != round(
                    old.total, SCORE_DIGITS
                )
                contacts_seen += 1

    def table(moves: Counter) -> list[dict[str, Any]]:
        return [
            {"from": a, "to": b, "contacts": n}
            for (a, b), n in sorted(moves.items(), key=lambda kv: (-kv[1], str(kv[0])))
            if a != b
        ]

    return {
        "model": name,
        "version": version,
        "contacts": contacts_seen,
        "score_changes": score_changes,
        "stage_changes": sum(n for (a, b), n in stage_moves.items() if a != b),
        "entering": _moving(stage_moves, 1),
        "leaving": _moving(stage_moves, 0),
        "grade_changes": sum(n for (a, b), n in grade_moves.items() if a != b),
        "mean_total_change": delta_sum / contacts_seen if contacts_seen else 0.0,
        "stages": table(stage_moves),
        "grades": table(grade_moves),
        "by_stage_after": _count_after(stage_moves),
    }


def _impact_pages(conn: sa.Connection, pub: Published, batch: int, as_of: datetime):
    """Each page of contacts scored under ``pub`` (nothing written), by contact id."""
    if account_aware(pub):  # accounts with all their contacts, then the others
        for results, _ in FullRescore(pub, Writing("impact", as_of), dry=True).run(
            conn, contact_id_pages(conn, batch)
        ):
            if results:
                yield results
        return
    for ids in contact_id_pages(conn, batch):
        contacts, events, adjustments = load_inputs(conn, ids)
        preds = predictions([pub], list(contacts.values()), events, as_of)
        facts = stages.recorded_by(conn, ids, pub.name)
        yield {
            cid: score_one(
                pub,
                contacts[cid],
                events.get(cid, []),
                adjustments.get(cid, []),
                as_of,
                preds.get((pub.name, cid)),
                stage=facts.get(cid),
            )
            for cid in ids
        }


def _moving(moves: Counter, side: int) -> dict[str, int]:
    """Contacts entering (``side`` 1) or leaving (0) each stage, most first."""
    out: Counter[str] = Counter()
    for pair, n in moves.items():
        if pair[0] != pair[1] and pair[side] is not None:
            out[str(pair[side])] += n
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _count_after(moves: Counter) -> dict[str, int]:
    out: Counter[str] = Counter()
    for (_, b), n in moves.items():
        out[str(b)] += n
    return dict(sorted(out.items()))


def publish(
    svc: Service,
    name: str,
    version: int,
    actor: str,
    *,
    fire_triggers: bool,
    cause: str = "publish",
    batch: int = 500,
) -> dict[str, Any]:
    """Publish a version (archiving the one before) and rescore every contact with it.

    Stage changes are recorded in the history; triggers fire only if asked, but
    their state follows the new stages either way.
    """
    now = utcnow()
    with svc.store.read() as conn:
        row = version_row(conn, name, version)
    # the trained model must load, from the models folder only, before anything changes
    check_model_dir(svc.models.parse(row.id, row.yaml), svc.models.models_root, row.yaml)
    with svc.store.write() as conn:
        row = version_row(conn, name, version)
        model = svc.models.parse(row.id, row.yaml)
        check_webhooks(model, row.yaml, svc.settings)  # the allow-list may have changed
        conn.execute(  # the one before, or the one unpublished: the model is back
            sa.update(T.model_versions)
            .where(
                MV.name == name,
                MV.status.in_(["published", UNPUBLISHED]),
                MV.version != version,
            )
            .values(status="archived")
        )
        conn.execute(
            sa.update(T.model_versions)
            .where(MV.id == row.id)
            .values(status="published", published_at=now)
        )
        audit(
            conn,
            actor,
            f"model.{cause}",
            f"{name}@{version}",
            {"fire_triggers": fire_triggers},
            at=now,
        )
        pub = _pub(svc, row)
        rescored = 0
        if pub.model.account is None:  # this version scores no accounts: none is left stale
            for table in (T.account_scores, T.account_trigger_state):
                conn.execute(sa.delete(table).where(table.c.model_name == name))
            forget(conn, model=name)
        # Each page is scored as of its live time (None): an event committed for a
        # contact before its page is locked counts, whatever its time.
        if account_aware(pub):  # accounts with all their contacts, then the others
            options = Writing(
                cause, None, svc.settings.trigger_hysteresis, fire_triggers, {"version": version}
            )
            full = FullRescore(pub, options)
            for _ in full.run(conn, contact_id_pages(conn, batch)):
                pass
            rescored = full.contacts_done
        else:
            for ids in contact_id_pages(conn, batch):
                svc._rescore(
                    conn,
                    ids,
                    cause,
                    None,
                    fire=fire_triggers,
                    models=[pub],
                    detail={"version": version},
                )
                rescored += len(ids)
        moved = conn.execute(
            sa.select(sa.func.count())
            .select_from(T.score_history)
            .where(
                T.score_history.c.model_name == name,
                T.score_history.c.at >= now,
                T.score_history.c.version == version,
                T.score_history.c.cause == cause,
                T.score_history.c.old_stage.is_distinct_from(T.score_history.c.new_stage),
            )
        ).scalar_one()
    svc.notify_outbox()
    return {
        "model": name,
        "version": version,
        "status": "published",
        "rescored": rescored,
        "stage_changes": moved,
        "triggers_fired": fire_triggers,
        "warnings": warnings(pub.model, svc.settings),
    }


def rollback(svc: Service, name: str, version: int, actor: str, *, fire_triggers: bool) -> dict:
    with svc.store.read() as conn:
        row = version_row(conn, name, version)
        if row.status == "published":
            raise ApiProblem(
                409, f"version {version} of {name!r} is already the published one", kind="conflict"
            )
        if row.published_at is None:
            raise ApiProblem(
                409,
                f"version {version} of {name!r} was never published; publish "
                "it instead of rolling back to it",
                kind="conflict",
            )
    return publish(svc, name, version, actor, fire_triggers=fire_triggers, cause="rollback")


def unpublish(svc: Service, name: str, actor: str) -> dict[str, Any]:
    """Unpublish (archive) a model: its published version stops scoring, and the model
    leaves the lists. Its scores, history and trigger state are kept, hidden, and
    come back with the model when one of its versions is published again (a publish
    or a roll back, which rescores every contact)."""
    now = utcnow()
    with svc.store.write() as conn:
        row = conn.execute(
            sa.select(T.model_versions).where(MV.name == name, MV.status == "published")
        ).first()
        if row is None:
            known = conn.execute(
                sa.select(MV.version, MV.status).where(MV.name == name).order_by(MV.version)
            ).all()
            if not known:
                raise ApiProblem(404, f"no model {name!r}; GET /v1/models lists them")
            if any(r.status == UNPUBLISHED for r in known):
                detail = f"model {name!r} is unpublished already; publish a version to restore it"
            else:
                detail = f"model {name!r} has no published version: there is nothing to unpublish"
            raise ApiProblem(409, detail, kind="conflict")
        conn.execute(sa.update(T.model_versions).where(MV.id == row.id).values(status=UNPUBLISHED))
        kept = conn.execute(
            sa.select(sa.func.count()).select_from(T.scores).where(T.scores.c.model_name == name)
        ).scalar_one()
        dropped = drop_pending(conn, name, now)
        target = f"{name}@{row.version}"
        detail = {"scores_kept": kept, "deliveries_dropped": dropped}
        audit(conn, actor, "model.unpublish", target, detail, at=now)
    return {"model": name, "version": row.version, "status": UNPUBLISHED, **detail}


DROPPED = "dropped"
"""A delivery's status when its model was unpublished before it was sent: kept as a
record, never sent (a later publish does not send it either)."""


def drop_pending(conn: sa.Connection, name: str, now: datetime) -> int:
    """Mark the model's deliveries not sent yet as dropped, with why; returns how many."""
    d = T.deliveries.c
    return conn.execute(
        sa.update(T.deliveries)
        .where(d.model_name == name, d.status == "pending")
        .values(
            status=DROPPED,
            last_error=f"unpublished: not sent, model {name!r} was unpublished at "
            f"{now.isoformat()}; publish it again to deliver later crossings",
            next_attempt_at=now,
        )
    ).rowcount


def _rules(model: ScoringModel) -> dict[str, dict[str, Any]]:
    out = {}
    for gname, rule in model.rules():
        out[rule.name] = {"group": gname, **json.loads(rule.model_dump_json())}
    for exc in model.exclusions:
        out[exc.name] = {"group": "exclusions", **json.loads(exc.model_dump_json())}
    return out


def diff(svc: Service, name: str, a: int, b: int) -> dict[str, Any]:
    with svc.store.read() as conn:
        ra, rb = version_row(conn, name, a), version_row(conn, name, b)
    ma, mb = svc.models.parse(ra.id, ra.yaml), svc.models.parse(rb.id, rb.yaml)
    rules_a, rules_b = _rules(ma), _rules(mb)
    changed = sorted(n for n in set(rules_a) & set(rules_b) if rules_a[n] != rules_b[n])
    section = {}
    for key in ("scale", "grades", "thresholds", "triggers", "total", "default_stage", "predicted"):
        va, vb = getattr(ma, key), getattr(mb, key)
        if va != vb:
            section[key] = True
    return {
        "model": name,
        "from": a,
        "to": b,
        "rules_added": sorted(set(rules_b) - set(rules_a)),
        "rules_removed": sorted(set(rules_a) - set(rules_b)),
        "rules_changed": changed,
        "sections_changed": sorted(section),
        "unified": "".join(
            difflib.unified_diff(
                ra.yaml.splitlines(keepends=True),
                rb.yaml.splitlines(keepends=True),
                fromfile=f"{name}@{a}",
                tofile=f"{name}@{b}",
            )
        ),
    }


def validate(text: str, settings: Any, vocab: Vocabulary | None = None) -> dict[str, Any]:
    """Whether the text is a valid model under the service's settings (size limit,
    webhook targets). Nothing is loaded: a ``predicted.model_dir`` is checked for its
    shape only (any read-scope key may validate). With ``vocab`` (the store's names,
    ``svc.vocabulary.get()``), the warnings name each property, event type and event
    attribute the model reads that no stored contact or event holds."""
    try:
        model = parse(text, settings.max_model_bytes)
        check_webhooks(model, text, settings)
    except ModelError as exc:
        return {"valid": False, "problems": [p.to_dict() for p in exc.problems]}
    return {
        "valid": True,
        "problems": [],
        "name": model.name,
        "groups": list(model.groups),
        "triggers": [t.name for t in model.triggers],
        "warnings": warnings(model, settings) + data_warnings(model, text, vocab),
    }


def data_warnings(model: ScoringModel, text: str, vocab: Vocabulary | None) -> list[dict]:
    """The names the model reads that the store's contacts and events do not hold
    (located in ``text``, with "did you mean"); none without ``vocab``."""
    if vocab is None:
        return []
    return [p.to_dict() for p in unknown_names(model, vocab, text=text)]
