"""Compile the Chinese catalogue for tests run without `make messages` first.

The .mo files are build outputs (git ignores them); tests that read Chinese text need them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.utils.translation.reloader import translation_file_changed

PACKAGE = Path(__file__).resolve().parents[2]


def ensure_compiled() -> None:
    changed = None
    # The platform's catalogue and each app's own (telemed/<app>/locale).
    for po in [
        *PACKAGE.glob("locale/*/LC_MESSAGES/*.po"),
        *PACKAGE.glob("*/locale/*/LC_MESSAGES/*.po"),
    ]:
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        # Written aside and renamed, so parallel test workers never read half a file.
        handle, temporary = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        with os.fdopen(handle, "wb") as target:
            write_mo(target, catalog, use_fuzzy=True)  # as the Makefile compiles
        os.replace(temporary, mo)
        changed = mo
    if changed is not None:
        # Catalogues already loaded in this process would otherwise stay stale.
        translation_file_changed(None, changed)
