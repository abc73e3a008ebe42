"""The integrations configuration: one YAML file, validated, errors with line numbers.

Example (every key optional but the sections you use)::

    crm:
      hubspot:
        token_env: HUBSPOT_TOKEN           # the private-app token is read from here
        properties: {score: leadscore_score, grade: leadscore_grade,
                     stage: leadscore_stage, reasons: leadscore_reasons}
      pipedrive:
        token_env: PIPEDRIVE_TOKEN
        fields: {score: "Lead score", stage: "Lead stage"}   # names or 40-hex keys
    hooks:
      sendgrid: {kind: sendgrid, verification_key_env: SENDGRID_WEBHOOK_KEY}
      mailgun: {kind: mailgun, signing_key_env: MAILGUN_SIGNING_KEY}
      contact-form:
        kind: form
        secret_env: FORM_HOOK_SECRET
        email_field: your-email
        form_id: contact-sales
        properties: {company: company, job: job_title}
    tracking: {consent_required: true}

Secrets are never written in this file: only the names of the environment
variables that hold them.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import LeadscoreError, ModelError, Problem
from ..model.loader import parse_yaml, problems_from_validation

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ConfigError(LeadscoreError):
    """The integrations file is invalid; lists every problem with its line."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(
            f"the integrations config has {n} problem{'s' if n != 1 else ''}:\n"
            + "\n".join(f"  {p}" for p in self.problems)
        )


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreFields(Frozen):
    """Where score, grade, stage and reasons go in the CRM (null: not written)."""

    score: str | None = "leadscore_score"
    grade: str | None = "leadscore_grade"
    stage: str | None = "leadscore_stage"
    reasons: str | None = "leadscore_reasons"

    def items(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.model_dump().items() if v]


class PipedriveFields(ScoreFields):
    """Pipedrive person fields by name (resolved to keys) or by 40-character key."""

    score: str | None = "Lead score"
    grade: str | None = "Lead grade"
    stage: str | None = "Lead stage"
    reasons: str | None = "Lead reasons"


HUBSPOT_EVENT_TYPES = {
    "e_visited_page": "page_view",
    "e_submitted_form": "form_submit",
    "e_opened_email": "email_open",
    "e_clicked_email": "email_click",
    "e_registered_for_webinar": "webinar_registered",
    "e_attended_webinar": "webinar_attended",
}


HUBSPOT_EMAIL_EVENT_TYPES = {
    "SENT": "email_sent",
    "DELIVERED": "email_delivered",
    "OPEN": "email_open",
    "CLICK": "email_click",
    "BOUNCE": "email_bounce",
    "DROPPED": "email_dropped",
    "SPAMREPORT": "spam_report",
}


class CrmCommon(Frozen):
    token_env: str = Field(pattern=ENV_NAME)
    base_url: str = Field(pattern=r"^https?://")
    model: str | None = Field(default=None, description="model whose score is written")
    reasons: int = Field(default=3, ge=0, le=10, description="top reasons written")
    requests_per_second: float = Field(gt=0, le=1000)
    burst: int = Field(default=10, ge=1, le=1000)
    max_attempts: int = Field(default=8, ge=1, le=50)
    max_retry_after_s: float = Field(default=120, gt=0)
    deadline_s: float = Field(default=900, gt=0)
    timeout_s: float = Field(default=30, gt=0)
    import_properties: dict[str, str] = Field(
        default_factory=dict, description="CRM property -> leadscore property"
    )

    def token(self) -> str:
        value = os.environ.get(self.token_env, "")
        if not value:
            raise LeadscoreError(
                f"the environment variable {self.token_env} is not set; export the CRM "
                f"token there (the config file names it with token_env)"
            )
        return value


class HubSpotConfig(CrmCommon):
    token_env: str = Field(default="HUBSPOT_TOKEN", pattern=ENV_NAME)
    base_url: str = Field(default="https://api.hubapi.com", pattern=r"^https?://")
    # Private apps: 100 requests per 10 s (Free/Starter); stay a little under.
    requests_per_second: float = Field(default=9.0, gt=0, le=1000)
    batch_size: int = Field(default=100, ge=1, le=100)
    properties: ScoreFields = ScoreFields()
    match_on: Literal["email", "id"] = "email"
    id_property: str = Field(
        default="hubspot_id", description="leadscore property holding the HubSpot id"
    )
    import_properties: dict[str, str] = Field(
        default_factory=lambda: {
            "email": "email",
            "firstname": "first_name",
            "lastname": "last_name",
            "company": "company",
            "jobtitle": "job_title",
            "country": "country",
            "phone": "phone",
            "industry": "industry",
            "lifecyclestage": "lifecycle_stage",
        }
    )
    event_types: dict[str, str] = Field(default_factory=lambda: dict(HUBSPOT_EVENT_TYPES))
    email_event_types: dict[str, str] = Field(
        default_factory=lambda: dict(HUBSPOT_EMAIL_EVENT_TYPES),
        description="marketing e-mail event type -> leadscore type (empty: not imported)",
    )


class PipedriveConfig(CrmCommon):
    token_env: str = Field(default="PIPEDRIVE_TOKEN", pattern=ENV_NAME)
    base_url: str = Field(default="https://api.pipedrive.com", pattern=r"^https?://")
    # Token-based budget per 2 s window depends on the plan; 8/s is safe on every plan.
    requests_per_second: float = Field(default=8.0, gt=0, le=1000)
    fields: PipedriveFields = PipedriveFields()
    id_property: str = Field(default="pipedrive_id")
    import_properties: dict[str, str] = Field(
        default_factory=lambda: {"name": "name", "org_name": "company", "job_title": "job_title"}
    )


class CrmSection(Frozen):
    hubspot: HubSpotConfig | None = None
    pipedrive: PipedriveConfig | None = None


class SendGridHook(Frozen):
    kind: Literal["sendgrid"]
    verification_key_env: str | None = Field(default=None, pattern=ENV_NAME)
    require_signature: bool = True
    tolerance_s: int = Field(default=600, ge=1)


class MailgunHook(Frozen):
    kind: Literal["mailgun"]
    signing_key_env: str | None = Field(default=None, pattern=ENV_NAME)
    require_signature: bool = True
    tolerance_s: int = Field(default=600, ge=1)


class FormHook(Frozen):
    kind: Literal["form"]
    secret_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="HMAC-SHA256 key of X-Leadscore-Signature"
    )
    email_field: str = "email"
    form_id: str | None = None
    form_id_field: str | None = None
    event_id_field: str | None = None
    event_type: str = "form_submit"
    properties: dict[str, str] = Field(
        default_factory=dict, description="payload field -> contact property"
    )
    attributes: dict[str, str] = Field(
        default_factory=dict, description="payload field -> event attribute"
    )


Hook = Annotated[SendGridHook | MailgunHook | FormHook, Field(discriminator="kind")]


class TrackingConfig(Frozen):
    enabled: bool = True
    consent_required: bool = False
    cookie: str = Field(default="ls_aid", pattern=r"^[A-Za-z0-9_]+$")
    cookie_days: int = Field(default=390, ge=1, le=800)
    max_pending_hits: int = Field(default=500, ge=1, description="anonymous hits kept per visitor")
    allowed_origins: tuple[str, ...] = ()
    visitor_store: str | None = Field(
        default=None, description="SQLite file keeping visitors across restarts (none: memory)"
    )


class IntegrationsConfig(Frozen):
    crm: CrmSection = CrmSection()
    hooks: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")], Hook] = Field(
        default_factory=dict
    )
    tracking: TrackingConfig = TrackingConfig()
    max_body_bytes: int = Field(default=1_000_000, ge=1024)


def config_from_text(text: str, source: str | None = None) -> IntegrationsConfig:
    try:
        data, marks = parse_yaml(text, source)
    except ModelError as exc:
        raise ConfigError(exc.problems) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [Problem((), "the file is a mapping with crm, hooks, tracking", None, 1, 1, source)]
        )
    try:
        return IntegrationsConfig.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation(exc, data, marks, source)
        raise ConfigError([_config_hint(p) for p in problems]) from None


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for cls in (IntegrationsConfig, CrmSection, HubSpotConfig, PipedriveConfig, ScoreFields,
                SendGridHook, MailgunHook, FormHook, TrackingConfig):  # fmt: skip
        words |= set(cls.model_fields)
    return sorted(words)


def _config_hint(p: Problem) -> Problem:
    """Suggest this file's own keys for a misspelt key (not the model language's)."""
    if not p.message.startswith("unknown key "):
        return p
    key = p.message.removeprefix("unknown key ").strip("'\"")
    close = difflib.get_close_matches(key, _vocabulary(), 1, 0.6)
    hint = f"did you mean {close[0]!r}?" if close else None
    return Problem(p.path, p.message, hint, p.line, p.column, p.source)


def load_config(path: str | Path | None) -> IntegrationsConfig:
    """Read the file (``None``: the defaults: no hooks, tracking on, no CRM)."""
    if path is None:
        return IntegrationsConfig()
    p = Path(path)
    if not p.exists():
        raise LeadscoreError(f"integrations config {str(p)!r} does not exist")
    return config_from_text(p.read_text(encoding="utf-8"), str(p))


def env_secret(name: str | None) -> str | None:
    return os.environ.get(name) or None if name else None


def as_dict(config: IntegrationsConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")
