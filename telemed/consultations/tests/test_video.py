from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from jwcrypto import jwk, jwt
from jwcrypto.common import base64url_encode

from telemed.audit.models import AuditEvent
from telemed.consultations import video
from telemed.consultations.models import ConsultationEvent, VideoJoin, VideoSession
from telemed.consultations.testing import advance, draft
from telemed.core.errors import Conflict, NotFound, PermissionDenied
from telemed.testing import make_user, sign_in

BASE = "https://meet.example-hospital.cn"
SECRET = "a-long-shared-secret-for-the-jitsi-prosody-token-plugin"


@pytest.fixture(autouse=True)
def jitsi(settings):
    settings.JITSI_BASE_URL = BASE
    settings.JITSI_JWT_SECRET = ""
    settings.JITSI_APP_ID = ""
    return settings


@pytest.fixture
def case(team):
    return advance(team, draft(team), "scheduled")


def history(team, case, action):
    return list(
        ConsultationEvent.objects.visible_to(team.manager).filter(consultation=case, action=action)
    )


def test_room_name_is_unguessable_and_unique(team, case):
    session = video.open_room(team.requester, case.pk)
    assert re.fullmatch(r"tm[0-9a-f]{40}", session.room_name)  # 160 random bits, lowercase
    names = {video.new_room_name() for _ in range(2000)}
    assert len(names) == 2000
    # Never in the history or the audit trail: the name lets one into the room.
    assert session.room_name not in json.dumps(
        [e.detail for e in history(team, case, "video_open")]
    )
    assert not AuditEvent.objects.filter(detail__icontains=session.room_name).exists()


def test_one_open_room_per_case(team, case):
    first = video.open_room(team.requester, case.pk)
    again = video.open_room(team.expert, case.pk)
    by_manager = video.open_room(team.manager, case.pk)
    assert first.pk == again.pk == by_manager.pk
    assert VideoSession.objects.visible_to(team.manager).filter(consultation=case).count() == 1
    assert len(history(team, case, "video_open")) == 1
    assert AuditEvent.objects.filter(object_type="consultation_video", action="create").count() == 1


def test_join_is_recorded_and_names_the_participant(team, case):
    team.expert.first_name, team.expert.last_name = "建华", "王"
    team.expert.save()
    session = video.open_room(team.requester, case.pk)
    link = video.join(team.expert, case.pk)
    assert link.session.pk == session.pk
    url = urlsplit(link.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{BASE}/{session.room_name}"
    assert url.query == ""  # no secret, no token
    display = "王建华 (省远程医学中心)"
    assert url.fragment == "userInfo.displayName=" + quote(
        json.dumps(display, ensure_ascii=False), safe=""
    )
    assert json.loads(unquote(url.fragment.split("=", 1)[1])) == display
    joined = VideoJoin.objects.get(session=session)
    assert joined.user == team.expert
    assert [e.actor for e in history(team, case, "video_join")] == [team.expert]
    assert AuditEvent.objects.filter(
        object_type="consultation_video", actor="dr_wang", action="read"
    ).exists()


def test_join_link_carries_a_valid_hs256_token(team, case, jitsi):
    jitsi.JITSI_JWT_SECRET = SECRET
    jitsi.JITSI_APP_ID = "telemed-henan"
    team.requester.email = "alice@county-a.example.cn"
    team.requester.save()
    video.open_room(team.requester, case.pk)
    link = video.join(team.requester, case.pk)
    token = parse_qs(urlsplit(link.url).query)["jwt"][0]
    key = jwk.JWK(kty="oct", k=base64url_encode(SECRET.encode()))
    verified = jwt.JWT(jwt=token, key=key, algs=["HS256"])  # checks signature, exp and nbf
    claims = json.loads(verified.claims)
    assert json.loads(verified.header)["alg"] == "HS256"
    assert claims["room"] == link.session.room_name
    assert claims["aud"] == "jitsi"
    assert claims["iss"] == "telemed-henan"
    assert claims["sub"] == "meet.example-hospital.cn"
    assert claims["exp"] > claims["iat"]
    user = claims["context"]["user"]
    assert user["id"] == str(team.requester.pk)
    assert user["email"] == "alice@county-a.example.cn"
    assert user["name"] == "alice (安阳县人民医院)"
    assert user["moderator"] is False
    wrong = jwk.JWK(kty="oct", k=base64url_encode(b"another secret entirely, same length...."))
    with pytest.raises(Exception):
        jwt.JWT(jwt=token, key=wrong, algs=["HS256"])


def test_who_takes_part(team, case, charlie, network):
    assert video.open_room(team.manager, case.pk)  # a manager in scope
    with pytest.raises(NotFound):
        video.join(charlie, case.pk)
    county_qc = make_user("qc_a", "quality_control", network.county_a)
    with pytest.raises(PermissionDenied):
        video.join(county_qc, case.pk)
    other_expert = make_user("dr_li", "expert", network.province)
    with pytest.raises(NotFound):
        video.open_room(other_expert, case.pk)
    assert AuditEvent.objects.filter(actor="qc_a", outcome="denied").exists()


def test_a_draft_or_an_ended_case_has_no_room(team):
    case = draft(team)
    with pytest.raises(Conflict):
        video.open_room(team.requester, case.pk)


def test_join_needs_an_open_room(team, case):
    with pytest.raises(Conflict):
        video.join(team.requester, case.pk)
    link = video.join(team.requester, case.pk, open_if_needed=True)
    assert link.opened
    assert not video.join(team.expert, case.pk, open_if_needed=True).opened


def test_not_configured(team, case, jitsi, client):
    jitsi.JITSI_BASE_URL = ""
    with pytest.raises(Conflict) as raised:
        video.open_room(team.requester, case.pk)
    assert "JITSI_BASE_URL" in raised.value.message
    sign_in(client, team.requester)
    response = client.post(f"/api/consultations/{case.pk}/video")
    assert response.status_code == 409
    panel = client.get(f"/consultations/{case.pk}/media")
    assert b'data-testid="video-not-configured"' in panel.content


def test_page_join_redirects_to_jitsi(client, team, case):
    sign_in(client, team.requester)
    # No room yet: back to the case page with the reason, or a plain 409.
    assert client.get(f"/consultations/{case.pk}/video/join").status_code == 409
    back = client.get(
        f"/consultations/{case.pk}/video/join",
        HTTP_REFERER=f"http://testserver/consultations/{case.pk}/",
    )
    assert back.status_code == 302 and back["Location"].endswith(f"/consultations/{case.pk}/")

    opened = client.post(f"/consultations/{case.pk}/video/open")
    assert opened.status_code == 302
    session = VideoSession.objects.visible_to(team.requester).get(consultation=case)
    assert opened["Location"].startswith(f"{BASE}/{session.room_name}#userInfo.displayName=")
    assert opened["Referrer-Policy"] == "no-referrer"

    sign_in(client, team.expert)
    joined = client.get(f"/consultations/{case.pk}/video/join")
    assert joined.status_code == 302
    assert joined["Location"].startswith(f"{BASE}/{session.room_name}")
    assert [j.user for j in VideoJoin.objects.filter(session=session).order_by("at", "pk")] == [
        team.requester,
        team.expert,
    ]


def test_page_join_of_another_county_is_404(client, team, case, charlie):
    video.open_room(team.requester, case.pk)
    sign_in(client, charlie)
    assert client.get(f"/consultations/{case.pk}/video/join").status_code == 404
    assert client.post(f"/consultations/{case.pk}/video/open").status_code == 404


def test_api_opens_and_reports_the_room(client, team, case):
    sign_in(client, team.requester)
    opened = client.post(f"/api/consultations/{case.pk}/video")
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["open"] and body["room"] and body["join_url"].startswith(f"{BASE}/{body['room']}")
    sign_in(client, team.expert)
    again = client.post(f"/api/consultations/{case.pk}/video")
    assert again.status_code == 200 and again.json()["room"] == body["room"]
    sign_in(client, team.qc)
    state = client.get(f"/api/consultations/{case.pk}/video").json()
    assert state["open"] and state["room"] is None and state["join_url"] is None
    assert [j["user"]["username"] for j in state["joins"]] == ["alice", "dr_wang"]


def test_the_case_shows_who_joined(client, team, case):
    video.join(team.requester, case.pk, open_if_needed=True)
    video.join(team.expert, case.pk)
    sign_in(client, team.manager)
    panel = client.get(f"/consultations/{case.pk}/media")
    assert panel.status_code == 200
    text = panel.content.decode()
    assert 'data-testid="video-join"' in text
    joins = text.split('data-testid="video-joins"', 1)[1]
    assert "alice" in joins and "dr_wang" in joins and "安阳县人民医院" in joins


def test_the_room_closes_when_the_case_concludes(team, case, django_capture_on_commit_callbacks):
    video.connect()
    session = video.open_room(team.requester, case.pk)
    from telemed.consultations import services
    from telemed.consultations.testing import CONCLUSION

    with django_capture_on_commit_callbacks(execute=True):
        services.conclude(team.expert, case.pk, CONCLUSION)
    session.refresh_from_db()
    assert session.closed_at is not None
    assert [e.actor for e in history(team, case, "video_close")] == [None]
    # A new room may be opened for a follow-up; the closed one stays on record.
    assert video.open_room(team.requester, case.pk).pk != session.pk


def test_close_by_a_participant(team, case):
    assert video.close(team.requester, case.pk) is None
    session = video.open_room(team.requester, case.pk)
    closed = video.close(team.expert, case.pk)
    assert closed is not None and closed.pk == session.pk and closed.closed_at is not None
    with pytest.raises(Conflict):
        video.join(team.requester, case.pk)
