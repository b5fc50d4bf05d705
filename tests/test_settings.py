"""Settings are parsed strictly: a malformed value stops the process with the variable's name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from telemed import conf

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("value", ["True", "true", "1", "yes", "on"])
def test_env_bool_accepts_true(monkeypatch, value):
    monkeypatch.setenv("X_FLAG", value)
    assert conf.env_bool("X_FLAG", False) is True


@pytest.mark.parametrize("value", ["ture", "2", "enabled"])
def test_env_bool_refuses_anything_else(monkeypatch, value):
    monkeypatch.setenv("X_FLAG", value)
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        conf.env_bool("X_FLAG", False)


def test_env_port_range(monkeypatch):
    monkeypatch.setenv("X_PORT", "70000")
    with pytest.raises(ImproperlyConfigured, match="X_PORT"):
        conf.env_port("X_PORT", 1)
    monkeypatch.setenv("X_PORT", "abc")
    with pytest.raises(ImproperlyConfigured, match="integer"):
        conf.env_port("X_PORT", 1)


def test_secret_from_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert conf.env_secret("X_SECRET") == "s3cret"
    monkeypatch.setenv("X_SECRET", "direct")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        conf.env_secret("X_SECRET")


def test_unreadable_secret_file(monkeypatch, tmp_path):
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        conf.env_secret("X_SECRET")


def _settings_with(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TELEMED_VAR_DIR": str(tmp_path), **env}
    environment.pop("DATABASE_URL", None) if "DATABASE_URL" not in env else None
    code = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], settings.PORT, settings.DICOM_PORT, settings.MLLP_PORT)"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_defaults_are_sqlite_and_standard_ports(tmp_path):
    result = _settings_with(tmp_path, DJANGO_SETTINGS_MODULE="telemed.settings")
    assert result.stdout.split() == ["django.db.backends.sqlite3", "8000", "11112", "2575"], (
        result.stderr
    )


def test_ports_come_from_the_environment(tmp_path):
    result = _settings_with(
        tmp_path,
        DJANGO_SETTINGS_MODULE="telemed.settings",
        PORT="9001",
        DICOM_PORT="11113",
        MLLP_PORT="2576",
    )
    assert result.stdout.split()[1:] == ["9001", "11113", "2576"], result.stderr


def test_a_malformed_setting_stops_with_its_name(tmp_path):
    result = _settings_with(
        tmp_path, DJANGO_SETTINGS_MODULE="telemed.settings", REQUIRE_SECOND_FACTOR="maybe"
    )
    assert result.returncode != 0
    assert "REQUIRE_SECOND_FACTOR must be true or false" in result.stderr


def test_production_hasher_is_argon2():
    from telemed import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
