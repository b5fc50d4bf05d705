"""``make bench``: every benchmark under ``bench/``, or the ones named
(``python -m bench consultations ecg``).

A benchmark is a module ``bench/<name>.py`` with a ``run()`` that returns its figures (and
may start its peer, e.g. Orthanc or IIPImage, side by side). The foundation's own:

- scoping: a requesting doctor's patient search through ``visible_to`` against the same
  filter written by hand (what the choke point costs over a hand-rolled institution filter);
- audit_chain: appending to the hash chain against inserting the same rows without the chain;
- consultations: full workflow cycles through the JSON API, and the live board under load.

Runs on a throwaway database (SQLite under a temp dir, or DATABASE_URL when set).
Figures go to stdout and to var/bench/<name>.json.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Older names still accepted on the command line.
ALIASES = {"audit": "audit_chain"}


def available() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules([str(HERE)])
        if not module.name.startswith("_") and hasattr(_load(module.name), "run")
    )


def _load(name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"bench.{name}")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="telemed-bench-"))
    os.environ.setdefault("TELEMED_VAR_DIR", str(workdir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemed.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    names = [ALIASES.get(name, name) for name in sys.argv[1:]] or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(available())}")
    out = HERE.parent / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names:
        results[name] = _load(name).run()
        (out / f"{name}.json").write_text(json.dumps(results[name], indent=2, default=str))
    json.dump(results, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Best of three runs of ``repeat`` calls, in seconds per call."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


if __name__ == "__main__":
    main()
