"""The ``telemed`` console command wraps manage.py and adds the platform's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _telemed(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TELEMED_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "telemed.settings",
    }
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "telemed.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def test_it_lists_the_platform_commands(tmp_path):
    result = _telemed(tmp_path, "help")
    assert result.returncode == 0
    for command in ("demo", "serve", "client", "audit", "storage", "migrate"):
        assert command in result.stdout


def test_client_create_on_a_fresh_database(tmp_path):
    assert _telemed(tmp_path, "migrate", "-v0").returncode == 0
    missing = _telemed(tmp_path, "client", "create", "--institution", "NOWHERE")
    assert missing.returncode != 0 and "No institution" in missing.stderr
    assert _telemed(tmp_path, "audit", "verify").returncode == 0
