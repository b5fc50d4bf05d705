"""Every page, walked as charlie (another county) with alice's IDs: none shows her patient.

The routes come from telemed.web.urls, so a new page is walked without anyone adding it
here; a new URL parameter fails the test until it is given a sample value below.
"""

from __future__ import annotations

import re

from django.urls import URLPattern, reverse

from telemed.web import urls

SAMPLES = {"patient_id": lambda patient: patient.pk, "code": lambda patient: "COUNTY_A"}
PATIENT_PARAMS = {"patient_id"}


def test_charlie_never_sees_alices_patient(client, alice_patient, charlie):
    client.force_login(charlie)
    walked = 0
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        params = re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))
        unknown = set(params) - set(SAMPLES)
        assert not unknown, f"give a sample value for {unknown} in {pattern.pattern}"
        kwargs = {name: SAMPLES[name](alice_patient) for name in params}
        response = client.get(reverse(f"web:{pattern.name}", kwargs=kwargs))
        walked += 1
        assert response.status_code < 500, pattern.name
        assert alice_patient.name not in response.content.decode(), pattern.name
        if PATIENT_PARAMS & set(params):
            assert response.status_code == 404, pattern.name
    assert walked == len(urls.urlpatterns)
