import pytest

from telemed.ecg.testing import build_world


@pytest.fixture
def world(network, alice):
    return build_world(network)


@pytest.fixture(autouse=True)
def _tmp_analysis(monkeypatch):  # TEMPORARY until signal.analysis lands
    import importlib.util

    if importlib.util.find_spec("telemed.ecg.signal.analysis") is None:
        from telemed.ecg import analysis_view

        monkeypatch.setattr(
            analysis_view,
            "analyze_to_json",
            lambda record: {
                "rhythm": "sinus_rhythm",
                "flags": [],
                "measurements": {"heart_rate_bpm": 70},
            },
        )
