"""Settings: parsed from the environment, and a bad one is one clear sentence."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time

import pytest

from dispatch.core.settings import DEMO_SECRET_KEY, SettingsError, load_settings

URL = "postgresql+asyncpg://u@127.0.0.1:5432/d"
SECRET = "s" * 40


def test_defaults_and_env_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/d")
    monkeypatch.setenv("DISPATCH_SECRET_KEY", SECRET)
    monkeypatch.setenv("DISPATCH_ACK_TIMEOUT_S", "5,10,15,20")
    monkeypatch.setenv("DISPATCH_SHIFTS", "malam=21:00,pagi=07:00,siang=14:00")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://u@h/d"
    assert settings.ack_timeout_s == [5, 10, 15, 20]
    assert settings.ack_timeout_for(2) == 10
    assert [(s.name, s.start) for s in settings.shift_list] == [
        ("pagi", time(7)), ("siang", time(14)), ("malam", time(21))
    ]
    assert settings.port == 8112


@pytest.mark.parametrize(("env", "message"), [
    ({}, "DATABASE_URL is not set."),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be a postgresql:// or "
     "postgresql+asyncpg:// URL."),
    ({"DATABASE_URL": URL, "DISPATCH_ACK_TIMEOUT_S": "60,abc"},
     "DISPATCH_ACK_TIMEOUT_S must be four whole numbers of seconds, e.g. 60,120,300,600."),
    ({"DATABASE_URL": URL, "DISPATCH_ACK_TIMEOUT_S": "60,120"},
     "DISPATCH_ACK_TIMEOUT_S must be four positive seconds, one per priority 1..4."),
    ({"DATABASE_URL": URL, "DISPATCH_PORT": "99999"},
     "DISPATCH_PORT Input should be less than or equal to 65535."),
    ({"DATABASE_URL": URL, "DISPATCH_TIMEZONE": "Mars/Olympus"},
     "DISPATCH_TIMEZONE 'Mars/Olympus' is not an IANA time zone such as Asia/Jakarta."),
    ({"DATABASE_URL": URL, "DISPATCH_SHIFTS": "pagi=7"},
     "DISPATCH_SHIFTS shift start '7' is not HH:MM."),
])
def test_bad_setting_is_one_sentence(monkeypatch, env, message) -> None:
    for name in list(os.environ):
        if name.startswith("DISPATCH_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("DISPATCH_SECRET_KEY", SECRET)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == message


def test_secret_key_required_outside_demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", URL)
    monkeypatch.delenv("DISPATCH_SECRET_KEY", raising=False)
    monkeypatch.delenv("DISPATCH_DEMO_MODE", raising=False)
    with pytest.raises(SettingsError, match="DISPATCH_SECRET_KEY is not set"):
        load_settings()
    monkeypatch.setenv("DISPATCH_SECRET_KEY", "short")
    with pytest.raises(SettingsError, match="at least 32 characters"):
        load_settings()
    monkeypatch.delenv("DISPATCH_SECRET_KEY")
    monkeypatch.setenv("DISPATCH_DEMO_MODE", "1")
    assert load_settings().secret_key == DEMO_SECRET_KEY


def test_cli_reports_bad_setting_without_traceback() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DISPATCH_") and k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "dispatch.tools.cli", "db", "upgrade"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "Configuration error: DATABASE_URL is not set." in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
