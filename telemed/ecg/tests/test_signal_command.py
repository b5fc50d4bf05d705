"""``telemed ecg analyze RECORD`` prints the analysis as JSON; bad input exits 2.

Runs on MIT-BIH Arrhythmia Database record 100 (Moody & Mark 2001, PhysioNet: Goldberger
et al. 2000), read in place from ``../shared/data/ecg/``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from telemed.ecg.tests import signal_fixtures as sf

ROOT = Path(__file__).resolve().parents[3]


def test_it_prints_the_analysis_of_a_wfdb_record(tmp_path) -> None:
    record, _ = sf.synthetic(heart_rate=36, duration_s=12)
    for name, data in sf.wfdb_files(record, name="slow").items():
        (tmp_path / name).write_bytes(data)
    out = io.StringIO()
    call_command("ecg", "analyze", str(tmp_path / "slow.hea"), stdout=out)
    result = json.loads(out.getvalue())
    assert result["record"]["source_format"] == "wfdb"
    assert result["record"]["leads"][:2] == ["I", "II"]
    assert result["heart_rate_bpm"] == pytest.approx(36, abs=1)
    assert result["flags"] == ["low_rate_critical"]
    assert result["critical"] is True
    assert len(result["beats"]) >= 6
    assert all(isinstance(b, int) for b in result["beats"])


@pytest.mark.parametrize("writer,name", [(sf.dicom_bytes, "e.dcm"), (sf.aecg_bytes, "e.xml")])
def test_it_reads_single_file_formats(tmp_path, writer, name) -> None:
    (tmp_path / name).write_bytes(writer(sf.synthetic()[0]))
    out = io.StringIO()
    call_command("ecg", "analyze", str(tmp_path / name), stdout=out)
    assert json.loads(out.getvalue())["rhythm"] == "sinus_rhythm"


def test_bad_input_is_one_line_and_status_2(tmp_path) -> None:
    (tmp_path / "bad.csv").write_bytes(b"# sampling_rate=500\nI,II\n1,2\n")
    with pytest.raises(CommandError) as caught:
        call_command("ecg", "analyze", str(tmp_path / "bad.csv"))
    assert caught.value.returncode == 2
    assert "\n" not in str(caught.value)
    assert "2.5" in str(caught.value)


def test_a_missing_file_is_status_2(tmp_path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("ecg", "analyze", str(tmp_path / "none.hea"))
    assert caught.value.returncode == 2


def _telemed() -> str:
    here = Path(sys.executable).with_name("telemed")
    return str(here if here.exists() else ROOT / ".venv" / "bin" / "telemed")


def test_the_console_command_on_mitbih_100() -> None:
    done = subprocess.run(
        [_telemed(), "ecg", "analyze", "../shared/data/ecg/100.hea"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "telemed.settings"},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["record"]["leads"] == ["MLII", "V5"]
    assert result["analysed_lead"] == "MLII"
    assert result["rhythm"] == "sinus_rhythm"
    assert 2250 <= len(result["beats"]) <= 2290


def test_the_console_command_on_garbage(tmp_path) -> None:
    (tmp_path / "x.dcm").write_bytes(b"not dicom at all" * 20)
    done = subprocess.run(
        [_telemed(), "ecg", "analyze", str(tmp_path / "x.dcm")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "telemed.settings"},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "DICOM" in done.stderr
