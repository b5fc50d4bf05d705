"""The case's viewer page and the pathology kind's QC checks."""

from __future__ import annotations

from pathlib import Path

from telemed.consultations.policies import policy_for
from telemed.pathology import testing
from telemed.testing import sign_in


def test_viewer_page_lists_the_slides(client, team, case, svs: Path) -> None:
    slide = testing.upload(team.requester, case, svs)
    sign_in(client, team.requester)
    page = client.get(f"/pathology/cases/{case.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    # With the tile token in its query: DeepZoom clients pass it on to every tile URL.
    assert f'data-dzi="/api/pathology/slides/{slide.pk}/slide.dzi?tt=' in html
    assert 'data-mpp="0.25"' in html and "openseadragon.min.js" in html


def test_viewer_page_is_404_outside_the_scope(client, charlie, case) -> None:
    sign_in(client, charlie)
    assert client.get(f"/pathology/cases/{case.pk}/").status_code == 404


def test_automatic_checks(team, case, svs: Path, generic: Path) -> None:
    checks = {check.code: check for check in policy_for("pathology").automatic_checks}
    assert not checks["slides_attached"].run(case)[0]
    testing.upload(team.requester, case, svs)
    assert checks["slides_attached"].run(case)[0]
    assert checks["slides_readable"].run(case)[0]
    assert checks["mpp_known"].run(case)[0]
    testing.upload(team.requester, case, generic)
    ok, message = checks["mpp_known"].run(case)
    assert not ok and "generic.tif" in message


def test_uploads_have_their_own_body_limit(settings) -> None:
    from telemed.core import body_limits

    settings.PATHOLOGY_MAX_BYTES = 12345
    assert body_limits.limit_for("/pathology/uploads/1/slides") == 12345
    assert body_limits.too_large("/pathology/uploads/1/slides", "12346") == 12345


def test_a_failed_slide_shows_its_reason(client, team, case, svs: Path) -> None:
    from telemed.pathology.models import Slide

    slide = testing.upload(team.requester, case, svs)
    Slide.objects.unscoped("test").filter(pk=slide.pk).update(
        state="failed", failure_reason="checksum mismatch after upload"
    )
    sign_in(client, team.requester)
    html = client.get(f"/pathology/cases/{case.pk}/").content.decode()
    assert "checksum mismatch after upload" in html and 'data-dzi="' not in html
