"""The clinic's VAPID keys: written once, read from the instance folder, and no sending without a real subject."""

import logging
import os

import pytest

from aftercare import create_app
from aftercare.push import vapid


@pytest.fixture
def instance_app(tmp_path, database_url, monkeypatch):
    """An app as `flask` starts it (no test config): its instance folder under tmp_path."""
    for key in vapid.SETTINGS:
        monkeypatch.delenv(f"AFTERCARE_{key}", raising=False)
    monkeypatch.setenv("AFTERCARE_ENV", "development")
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", database_url)

    def make():
        from flask import Flask

        monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
        return create_app()

    return make


def test_generate_writes_a_key_pair_once_and_never_over_it(instance_app, tmp_path):
    app = instance_app()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["vapid", "generate", "--subject", "mailto:it@example-clinic.org"])
    assert first.exit_code == 0, first.output
    path = tmp_path / "instance" / "vapid.env"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    written = path.read_text()
    settings = vapid.load_file(str(tmp_path / "instance"))
    assert f"AFTERCARE_VAPID_PUBLIC_KEY={settings['VAPID_PUBLIC_KEY']}" in first.output
    assert f"Public key (browsers subscribe with it): {settings['VAPID_PUBLIC_KEY']}" in first.output

    again = runner.invoke(args=["vapid", "generate", "--subject", "mailto:other@example.org"])
    assert again.exit_code == 0 and "left as it is" in again.output
    assert path.read_text() == written

    # The next start reads it: push works with nothing set in the environment.
    restarted = instance_app()
    assert vapid.problem(restarted.config) is None
    assert vapid.keys(restarted.config).public == settings["VAPID_PUBLIC_KEY"]


def test_the_environment_replaces_the_file_entirely(instance_app, tmp_path, monkeypatch, vapid_keys):
    instance_app().test_cli_runner().invoke(args=["vapid", "generate", "--subject", "mailto:it@example-clinic.org"])
    # A key pair is never half from the environment and half from the file.
    monkeypatch.setenv("AFTERCARE_VAPID_PRIVATE_KEY", vapid_keys.private)
    monkeypatch.setenv("AFTERCARE_VAPID_SUBJECT", "https://example-clinic.org/contact")
    app = instance_app()
    assert app.config["VAPID_SUBJECT"] == "https://example-clinic.org/contact"
    assert app.config["VAPID_PUBLIC_KEY"] == ""
    assert vapid.keys(app.config).public == vapid_keys.public


def test_a_bad_subject_is_refused_on_the_command_line(instance_app, tmp_path):
    result = instance_app().test_cli_runner().invoke(args=["vapid", "generate", "--subject", "it@example.org"])
    assert result.exit_code != 0 and "mailto: address or an https URL" in result.output
    assert not os.path.exists(tmp_path / "instance" / "vapid.env")


def test_without_a_subject_the_keys_are_written_but_reminders_stay_off(instance_app):
    app = instance_app()
    result = app.test_cli_runner().invoke(args=["vapid", "generate"])
    assert result.exit_code == 0
    assert "Reminders stay off until AFTERCARE_VAPID_SUBJECT" in result.output
    assert "AFTERCARE_VAPID_SUBJECT" in vapid.problem(instance_app().config)


KEY = vapid.b64url(bytes(range(1, 33)))
PROBLEMS = [
    ({}, "there is no VAPID key"),
    ({"VAPID_PRIVATE_KEY": "not a key!", "VAPID_SUBJECT": "mailto:a@example.org"}, "not a P-256 key"),
    ({"VAPID_PRIVATE_KEY": KEY, "VAPID_SUBJECT": ""}, "mailto: address or an https URL"),
    ({"VAPID_PRIVATE_KEY": KEY, "VAPID_SUBJECT": "it@example.org"}, "mailto: address or an https URL"),
    ({"VAPID_PRIVATE_KEY": KEY, "VAPID_SUBJECT": "http://example.org"}, "mailto: address or an https URL"),
    ({"VAPID_PRIVATE_KEY": KEY, "VAPID_SUBJECT": "mailto:a@example.org", "VAPID_PUBLIC_KEY": "BAd"}, "does not belong"),
    ({"VAPID_PRIVATE_KEY": KEY, "VAPID_SUBJECT": "mailto:it@example-clinic.org"}, None),
    ({"VAPID_PRIVATE_KEY": KEY, "VAPID_SUBJECT": "https://example-clinic.org/push-contact"}, None),
]


@pytest.mark.parametrize(("settings", "message"), PROBLEMS)
def test_what_stops_sending_is_named(settings, message):
    problem = vapid.problem(settings)
    if message is None:
        assert problem is None
    else:
        assert message in problem


def test_start_up_says_when_reminders_cannot_be_sent(instance_app, caplog):
    with caplog.at_level(logging.WARNING):
        instance_app()
    assert "Reminders cannot be sent: there is no VAPID key" in caplog.text


def test_the_token_is_reused_per_push_service_until_near_its_end(vapid_keys):
    keys = vapid.keys({"VAPID_PRIVATE_KEY": vapid_keys.private, "VAPID_SUBJECT": vapid_keys.subject})
    now = [1_800_000_000.0]
    signer = vapid.Signer(keys, clock=lambda: now[0])
    first = signer.authorization("https://fcm.googleapis.com")
    assert signer.authorization("https://fcm.googleapis.com") == first
    assert signer.authorization("https://web.push.apple.com") != first  # one per audience
    now[0] += vapid.TOKEN_SECONDS - vapid.RENEW_SECONDS + 1
    assert signer.authorization("https://fcm.googleapis.com") != first
