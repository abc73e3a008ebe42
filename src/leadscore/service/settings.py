"""Every setting of the service, declared once.

Each :class:`Setting` has a name, a type, a default and a help line; the
environment variable (``LEADSCORE_<NAME>``), the ``leadscore serve`` flag
(``--name-with-dashes``) and the settings table in ``docs/service.md`` are all
derived from this list.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

ENV_PREFIX = "LEADSCORE_"


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, raw: Any) -> Any:
        if raw is None or (isinstance(raw, self.type) and not isinstance(raw, str)):
            value = raw
        elif self.type is bool:
            low = str(raw).strip().lower()
            if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise UsageError(
                    f"setting {self.name} ({self.env}) needs true or false, got {raw!r}"
                )
            value = low in ("1", "true", "yes", "on")
        else:
            try:
                value = self.type(raw)
            except (TypeError, ValueError):
                raise UsageError(
                    f"setting {self.name} ({self.env}) needs a {self.type.__name__}, got {raw!r}"
                ) from None
        if self.choices and value not in self.choices:
            raise UsageError(
                f"setting {self.name} ({self.env}) is one of {', '.join(self.choices)}; "
                f"got {value!r}"
            )
        return value


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database",
        str,
        "sqlite:///leadscore.db",
        "Store URL: sqlite:///file.db (default) or postgresql://user@host:port/db.",
    ),
    Setting("host", str, "127.0.0.1", "Interface the HTTP server listens on."),
    Setting("port", int, 8000, "Port the HTTP server listens on."),
    Setting(
        "migrate_on_start", bool, True, "Apply pending schema migrations when the service starts."
    ),
    Setting(
        "unknown_contacts",
        str,
        "create",
        "What an event for an unknown contact does: create the contact, or refuse the event.",
        ("create", "refuse"),
    ),
    Setting("max_body_bytes", int, 2_000_000, "Largest request body accepted (413 above)."),
    Setting(
        "max_import_bytes",
        int,
        200_000_000,
        "Largest file the web app's import page takes, in bytes (413 above); the upload is "
        "streamed to a temporary file, never held in memory.",
    ),
    Setting("max_batch", int, 1000, "Most events or contacts in one batch request."),
    Setting(
        "max_adjustment_points",
        float,
        100.0,
        "Largest manual adjustment accepted, up or down, in points, by the API and the "
        "web app's contact page (an adjustment of 0 is refused).",
    ),
    Setting(
        "max_model_bytes",
        int,
        1_000_000,
        "Largest model YAML accepted by validation and by a new draft, in UTF-8 bytes.",
    ),
    Setting(
        "models_root",
        str,
        "",
        "Folder of the trained models a model's predicted.model_dir names (a path inside "
        "it); empty: the folder models next to the SQLite database file, or in the "
        "working directory on PostgreSQL.",
    ),
    Setting(
        "webhook_secret",
        str,
        "",
        "Default HMAC-SHA256 signing secret of trigger webhooks (an action's secret_env "
        "overrides it).",
    ),
    Setting("webhook_timeout", float, 5.0, "Seconds to wait for a webhook receiver."),
    Setting(
        "outbound_allow",
        str,
        "",
        "Hosts and CIDRs (comma-separated) that webhooks may reach although they are private, "
        "loopback or link-local, e.g. 10.0.0.0/8,hooks.internal (empty: public addresses only).",
    ),
    Setting("delivery_max_attempts", int, 8, "Tries before a trigger delivery is dead-lettered."),
    Setting(
        "delivery_backoff_base",
        float,
        2.0,
        "First retry delay in seconds; doubles each try, with jitter.",
    ),
    Setting("delivery_backoff_max", float, 3600.0, "Longest delay between two tries, seconds."),
    Setting(
        "outbox_poll_interval",
        float,
        1.0,
        "Seconds between two looks at the trigger outbox (0 disables the worker).",
    ),
    Setting(
        "sweep_interval",
        float,
        300.0,
        "Seconds between two time-based rescoring sweeps (0 disables the sweep).",
    ),
    Setting(
        "sweep_in_database",
        bool,
        True,
        "Score the time sweep's pages with one query in the store's database where the "
        "model allows it (PostgreSQL); false: every page is scored in Python.",
    ),
    Setting(
        "max_clock_skew",
        float,
        3600.0,
        "Seconds an event's ts may lie ahead of the service's clock: such an event is "
        "stored as happening when it arrives; one further ahead is refused (422).",
    ),
    Setting(
        "trigger_hysteresis",
        float,
        0.0,
        "Default hysteresis band in points: a trigger re-arms only once the contact would "
        "stay out of the stage even with this many more points.",
    ),
    Setting(
        "integrations",
        str,
        "",
        "Integrations config file: CRM connectors (needed by crm actions), inbound hooks, "
        "tracking (empty: tracking only, no CRM).",
    ),
    Setting(
        "enrich_offline",
        bool,
        True,
        "Run the built-in offline enrichment (e-mail, phone, IP, country, job title, "
        "company) when a contact is created or updated.",
    ),
    Setting(
        "enrichers",
        str,
        "",
        "YAML file of outside enrichment services (HTTP JSON APIs) run after each contact "
        "upsert (empty: none).",
    ),
    Setting(
        "enrich_retry_max",
        int,
        5,
        "Tries of an outside enricher that failed before the contact's retry is dropped.",
    ),
    Setting(
        "login_max_failures",
        int,
        5,
        "Wrong passwords for one web account before its sign-ins back off (0: never).",
    ),
    Setting(
        "login_address_max_failures",
        int,
        10,
        "Wrong passwords from one client address (IPv6: its /64) before its sign-ins "
        "back off (0: never).",
    ),
    Setting(
        "login_backoff_base",
        float,
        30.0,
        "Seconds a sign-in counter stays locked at its limit; doubles with each further "
        "wrong password. Attempts while locked get 429 and their password is not checked.",
    ),
    Setting(
        "login_account_backoff_max",
        float,
        300.0,
        "Longest lock-out of one account, seconds (short, so a guesser cannot keep the "
        "real user out).",
    ),
    Setting(
        "login_address_backoff_max",
        float,
        3600.0,
        "Longest lock-out of one client address, seconds.",
    ),
    Setting("smtp_host", str, "", "SMTP server for e-mail actions (empty: e-mail disabled)."),
    Setting("smtp_port", int, 25, "SMTP port."),
    Setting("smtp_from", str, "leadscore@localhost", "Sender address of e-mail actions."),
    Setting("smtp_user", str, "", "SMTP user name (empty: no login)."),
    Setting("smtp_password", str, "", "SMTP password."),
    Setting("smtp_starttls", bool, False, "Use STARTTLS on the SMTP connection."),
)
BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def with_(self, **changes: Any) -> Settings:
        return Settings({**self.values, **changes})


def load_settings(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Defaults, then environment variables, then explicit overrides (CLI flags)."""
    env = os.environ if env is None else env
    overrides = overrides or {}
    unknown = set(overrides) - set(BY_NAME)
    if unknown:
        raise UsageError(f"unknown settings: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for s in SETTINGS:
        raw: Any = s.default
        if s.env in env:
            raw = env[s.env]
        if overrides.get(s.name) is not None:
            raw = overrides[s.name]
        values[s.name] = s.parse(raw)
    return Settings(values)


def settings_markdown() -> str:
    """The settings table for the docs."""
    lines = [
        "| setting | flag | environment | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        default = repr(s.default) if s.type is str else str(s.default)
        extra = f" One of: {', '.join(s.choices)}." if s.choices else ""
        lines.append(f"| `{s.name}` | `{s.flag}` | `{s.env}` | `{default}` | {s.help}{extra} |")
    return "\n".join(lines)
