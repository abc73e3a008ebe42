"""The integrations config: every problem reported with its line, keys suggested from this file."""

from __future__ import annotations

import pytest

from leadscore.integrations.config import ConfigError, config_from_text


def test_problems_point_at_lines_and_suggest_this_files_keys():
    text = (
        "crm:\n"
        "  hubspot:\n"
        "    batch_size: 500\n"
        "hooks:\n"
        "  form-a: {kind: form, emial_field: e}\n"
        "  b: {kind: typeform}\n"
        "tracking: {consent_required: maybe}\n"
    )
    with pytest.raises(ConfigError) as err:
        config_from_text(text, "int.yaml")
    lines = str(err.value).splitlines()
    assert lines[0] == "the integrations config has 4 problems:"
    assert lines[1].startswith("  int.yaml:3:5: crm.hubspot.batch_size: 500 is out of range")
    assert "int.yaml:5:" in lines[2] and "did you mean 'email_field'?" in lines[2]
    assert "int.yaml:6:" in lines[3] and "'sendgrid', 'mailgun', 'form'" in lines[3]
    assert "int.yaml:7:" in lines[4] and "consent_required" in lines[4]


def test_defaults_and_secrets_only_by_environment_variable_name():
    c = config_from_text("crm:\n  pipedrive: {}\n", "int.yaml")
    assert c.crm.pipedrive.token_env == "PIPEDRIVE_TOKEN" and c.crm.hubspot is None
    assert c.crm.pipedrive.fields.score == "Lead score"
    with pytest.raises(ConfigError, match="token_env"):
        config_from_text("crm:\n  hubspot: {token_env: 'pat-na1-abc def'}\n", "int.yaml")
