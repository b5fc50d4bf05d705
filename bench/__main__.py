"""``make bench``: the foundation's own costs, each as a ratio against the plain equivalent.

- scoping: a requesting doctor's patient search through ``visible_to`` against the same
  filter written by hand (what the choke point costs over a hand-rolled institution filter);
- audit: appending to the hash chain against inserting the same rows without the chain.

Runs on a throwaway database (SQLite under a temp dir, or DATABASE_URL when set).
Figures go to stdout and to var/bench/foundation.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="telemed-bench-"))
    os.environ.setdefault("TELEMED_VAR_DIR", str(workdir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemed.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench import audit_chain, consultations, scoping

    # `python -m bench consultations` runs only the named benchmarks.
    wanted = set(sys.argv[1:]) or {"scoping", "audit", "consultations"}
    results = {}
    if "scoping" in wanted:
        results["scoping"] = scoping.run()
    if "audit" in wanted:
        results["audit"] = audit_chain.run()
    out = Path(__file__).resolve().parent.parent / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    if results:
        (out / "foundation.json").write_text(json.dumps(results, indent=2))
    if "consultations" in wanted:
        # Writes var/bench/consultations.json itself.
        results["consultations"] = consultations.run()
    json.dump(results, sys.stdout, indent=2)
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
