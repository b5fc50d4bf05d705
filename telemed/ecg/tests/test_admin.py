"""The roster screens: a shift for a pool member is saved, one for an outsider is refused."""

from __future__ import annotations

import pytest

from telemed.ecg.models import DutyShift
from telemed.testing import make_expert, make_user, sign_in


@pytest.fixture
def operator(network):
    return make_user("ops", "administrator", network.province, is_staff=True, is_superuser=True)


def _post(client, world, expert):
    return client.post(
        "/admin/ecg/dutyshift/add/",
        {
            "pool": world.pool.pk,
            "expert": expert.pk,
            "starts_at_0": "2026-12-02",
            "starts_at_1": "08:00:00",
            "ends_at_0": "2026-12-02",
            "ends_at_1": "20:00:00",
        },
    )


def test_it_works(client, world, operator):
    sign_in(client, operator)
    before = DutyShift.objects.count()
    assert client.get("/admin/ecg/dutyshift/").status_code == 200
    assert _post(client, world, world.off_duty).status_code == 302
    assert DutyShift.objects.count() == before + 1


def test_it_refuses_an_expert_outside_the_pool(client, world, operator, network):
    outsider = make_expert("city_b_dr", network.city_b, network.cardiology)
    sign_in(client, operator)
    before = DutyShift.objects.count()
    response = _post(client, world, outsider)
    assert response.status_code == 200 and "expert" in response.context["adminform"].form.errors
    assert DutyShift.objects.count() == before
