"""``telemed ecg analyze RECORD``: the intake analysis of one file, printed as JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telemed.ecg.signal.errors import EcgFormatError
from telemed.ecg.signal.readers import read_path

#: Exit status for a file that is not a readable ECG (argparse uses 2 for bad usage too).
BAD_INPUT = 2


class Command(BaseCommand):
    help = "ECG tools."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        analyze_parser = sub.add_parser(
            "analyze",
            help="Read an ECG file (WFDB by its .hea, DICOM, aECG XML, CSV, FHIR JSON) and "
            "print the measurements, rhythm, statements, flags and detected beats as JSON",
        )
        analyze_parser.add_argument("record", help="path of the file (a WFDB record's .hea)")
        analyze_parser.add_argument(
            "--indent", type=int, default=None, help="indent the JSON by this many spaces"
        )

    def handle(
        self, *args: Any, action: str, record: str, indent: int | None, **options: Any
    ) -> None:
        try:
            ecg = read_path(record)
        except EcgFormatError as exc:
            # One line: the reason, as a person reads it.
            raise CommandError(" ".join(exc.message.split()), returncode=BAD_INPUT) from None
        # Imported here: neurokit2 takes seconds to import, which a refused file need not pay.
        from telemed.ecg.signal.analysis import analyze

        analysis = analyze(ecg)
        out = {
            "record": {
                "source_format": ecg.source_format,
                "sampling_rate": ecg.sampling_rate,
                "leads": list(ecg.leads),
                "n_samples": ecg.n_samples,
                "duration_s": round(ecg.duration_s, 3),
            },
            **analysis.to_json(),
        }
        self.stdout.write(json.dumps(out, indent=indent, ensure_ascii=False))
