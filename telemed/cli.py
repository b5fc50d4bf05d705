"""The ``telemed`` console command: ``manage.py`` plus the platform's own commands
(``telemed demo``, ``telemed serve``, ``telemed client create``, ``telemed audit verify``)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemed.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["telemed", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
