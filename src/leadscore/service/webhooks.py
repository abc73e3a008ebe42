"""What the service checks about a model's webhook actions before it keeps the model.

* every webhook URL must pass the outgoing-request policy with this service's
  ``outbound_allow`` setting (a literal private, loopback or link-local address
  is refused here, with its line and column; host names are resolved and
  checked again at each delivery);
* a webhook that would go out unsigned (no ``secret_env`` and no
  ``webhook_secret`` setting) is not an error but is reported loudly: a warning
  in the validate, draft and publish answers, a log line at start, and the
  ``Leadscore-Unsigned: true`` header on each such delivery.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ..actions.outbound import OutboundPolicy, UrlRefused
from ..errors import ModelError, Problem
from ..model.schema import ScoringModel, WebhookAction

Path_ = tuple[str | int, ...]
UNSIGNED_HINT = (
    "set the webhook_secret setting (LEADSCORE_WEBHOOK_SECRET) or the action's secret_env, "
    "and verify Leadscore-Signature on the receiver"
)


def webhook_actions(model: ScoringModel) -> Iterator[tuple[Path_, WebhookAction]]:
    """Every webhook action of the model with its path in the YAML."""
    sections: list[tuple[Path_, Any]] = [((), model)]
    if model.account is not None:
        sections.append((("account",), model.account))
    for at, section in sections:
        for i, trig in enumerate(section.triggers):
            for j, action in enumerate(trig.actions):
                if isinstance(action, WebhookAction):
                    yield (*at, "triggers", i, "actions", j, "webhook", "url"), action


def _marks(text: str | None):
    if not text:
        return None
    from ..model.loader import parse_yaml

    try:
        return parse_yaml(text)[1]
    except ModelError:
        return None


def check_webhooks(model: ScoringModel, text: str | None, settings: Any) -> None:
    """Raise a located :class:`ModelError` for webhook URLs the policy refuses."""
    policy = OutboundPolicy.parse(settings.outbound_allow)
    problems = []
    marks = None
    for path, action in webhook_actions(model):
        try:
            policy.check_url(action.url)
        except UrlRefused as exc:
            marks = marks or _marks(text)
            where = (marks.value.get(path) if marks else None) or (None, None)
            problems.append(Problem(path, exc.message, exc.hint, *where))
    if problems:
        raise ModelError(problems)


def unsigned(action: WebhookAction, settings: Any) -> bool:
    if action.secret_env and os.environ.get(action.secret_env):
        return False
    return not settings.webhook_secret


def warnings(model: ScoringModel, settings: Any) -> list[dict[str, Any]]:
    """One warning per webhook action that would be delivered unsigned."""
    out = []
    for path, action in webhook_actions(model):
        if unsigned(action, settings):
            out.append(
                {
                    "path": list(path),
                    "message": f"the webhook to {action.url} goes out unsigned: receivers "
                    "cannot tell it from a forged request",
                    "hint": UNSIGNED_HINT,
                }
            )
    return out


def serve_warnings(settings: Any) -> list[str]:
    """Lines ``leadscore serve`` prints at start about outgoing webhooks."""
    out = []
    if not settings.webhook_secret:
        out.append(
            "Warning: webhook_secret is empty: trigger webhooks without a secret_env go out "
            "UNSIGNED (header Leadscore-Unsigned: true) and receivers cannot tell them from "
            "forged requests; set LEADSCORE_WEBHOOK_SECRET (--webhook-secret)"
        )
    if settings.outbound_allow:
        out.append(
            f"Note: webhooks may reach these internal hosts and networks: "
            f"{settings.outbound_allow} (outbound_allow)"
        )
    return out
