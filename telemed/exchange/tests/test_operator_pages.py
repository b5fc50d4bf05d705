"""The operators' pages of the exchange hub (not the Django admin): the outbox with each
message's delivery log, the dead letters with their "retry" button (POST, CSRF, audited),
and the unmapped-codes queue with a form to map one. In scope, audited, in Chinese."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from telemed.audit.models import AuditEvent
from telemed.core.errors import PermissionDenied
from telemed.exchange import codes, outbound
from telemed.exchange.models import (
    CodeKind,
    CodeMapping,
    DeliveryState,
    OutboundMessage,
)
from telemed.testing import make_user, sign_in


def signed_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf, HTTP_ACCEPT_LANGUAGE="en")
    sign_in(client, user)
    return client


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_the_outbox_and_a_messages_delivery_log(dead_letter, operator):
    client = signed_in(operator)
    page = client.get("/exchange/outbox/?state=dead")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="outbox-row"') == 1
    assert f'data-testid="choose-{dead_letter.pk}"' in html
    assert (
        client.get("/exchange/outbox/?state=delivered")
        .content.decode()
        .count('data-testid="outbox-row"')
        == 0
    )
    detail = client.get(f"/exchange/outbox/{dead_letter.pk}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert str(dead_letter.idempotency_key) in html
    assert html.count('data-testid="attempt"') == 1 and "unreachable" in html
    assert 'data-testid="retry"' in html
    events = AuditEvent.objects.filter(actor="ops", object_type="outbound_message")
    assert set(events.values_list("action", flat=True)) == {"search", "read"}
    read = events.get(action="read")
    assert read.object_id == str(dead_letter.pk) and read.patient_id is not None
    # An odd filter shows the form's error over an empty list, not everything.
    odd = client.get("/exchange/outbox/?state=lost")
    assert odd.status_code == 400 and 'data-testid="error-state"' in odd.content.decode()


def test_the_retry_button_sends_a_dead_letter_again(dead_letter, operator):
    client = signed_in(operator, csrf=True)
    html = client.get("/exchange/outbox/?state=dead").content.decode()
    # Without the CSRF token the press is refused and nothing changes.
    refused = client.post("/exchange/outbox/retry/", {"message": [dead_letter.pk]})
    assert refused.status_code == 403
    dead_letter.refresh_from_db()
    assert dead_letter.state == DeliveryState.DEAD
    answer = client.post(
        "/exchange/outbox/retry/",
        {
            "message": [dead_letter.pk],
            "csrfmiddlewaretoken": csrf_token(html),
            "next": "/exchange/outbox/?state=dead",
        },
        follow=True,
    )
    assert answer.status_code == 200
    assert answer.redirect_chain[-1][0] == "/exchange/outbox/?state=dead"
    assert "1 message will be delivered again." in answer.content.decode()
    dead_letter.refresh_from_db()
    assert (dead_letter.state, dead_letter.attempts) == (DeliveryState.PENDING, 0)
    assert AuditEvent.objects.filter(
        actor="ops", action="admin", object_type="outbound_message", object_id=str(dead_letter.pk)
    ).exists()
    # Pressed again for a row that is pending already: retried again (fresh attempts).
    # A delivered one is left alone, and an empty choice is told so.
    OutboundMessage.objects.filter(pk=dead_letter.pk).update(state=DeliveryState.DELIVERED)
    token = csrf_token(html)
    again = client.post(
        "/exchange/outbox/retry/",
        {"message": [dead_letter.pk], "csrfmiddlewaretoken": token},
        follow=True,
    )
    assert "None of these messages is waiting for delivery." in again.content.decode()
    empty = client.post(
        "/exchange/outbox/retry/", {"message": ["x"], "csrfmiddlewaretoken": token}, follow=True
    )
    assert "Choose the messages to deliver again." in empty.content.decode()
    # An outside address in "next" is not followed.
    away = client.post(
        "/exchange/outbox/retry/",
        {"message": [dead_letter.pk], "csrfmiddlewaretoken": token, "next": "https://x.test/"},
    )
    assert away.status_code == 302 and away["Location"] == "/exchange/outbox/?state=dead"


def test_others_cannot_open_or_press(dead_letter, alice, network):
    outsider = make_user("ops_b", "administrator", network.city_b)
    client = signed_in(outsider)
    html = client.get("/exchange/outbox/").content.decode()
    assert 'data-testid="outbox-row"' not in html
    assert client.get(f"/exchange/outbox/{dead_letter.pk}/").status_code == 404
    assert AuditEvent.objects.filter(
        actor="ops_b", object_type="outbound_message", outcome="denied"
    ).exists()
    client.post("/exchange/outbox/retry/", {"message": [dead_letter.pk]}, follow=True)
    dead_letter.refresh_from_db()
    assert dead_letter.state == DeliveryState.DEAD  # outside their region: left alone
    doctor = signed_in(alice)
    for url in ("/exchange/outbox/", f"/exchange/outbox/{dead_letter.pk}/", "/exchange/codes/"):
        assert doctor.get(url).status_code == 404, url
    assert doctor.post("/exchange/outbox/retry/", {"message": [dead_letter.pk]}).status_code == 404
    dead_letter.refresh_from_db()
    assert dead_letter.state == DeliveryState.DEAD
    with pytest.raises(PermissionDenied):
        outbound.retry(alice, [dead_letter.pk])


def test_an_operator_maps_a_queued_code(queued, operator, network):
    client = signed_in(operator, csrf=True)
    page = client.get("/exchange/codes/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="code-{queued.pk}"' in html and "GXY01" in html and "seen 2 times" in html
    url = f"/exchange/codes/{queued.pk}/map/"
    token = csrf_token(html)
    bad = client.post(
        url,
        {f"code{queued.pk}-standard_code": "hypertension", "csrfmiddlewaretoken": token},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 422
    assert "is not a valid Diagnosis (ICD-10) code" in bad.content.decode()
    assert not CodeMapping.objects.exists()
    missing = client.post(url, {"csrfmiddlewaretoken": token}, HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 422 and not CodeMapping.objects.exists()
    done = client.post(
        url,
        {
            f"code{queued.pk}-standard_code": "I10",
            f"code{queued.pk}-standard_name": "特发性（原发性）高血压",
            "csrfmiddlewaretoken": token,
        },
        follow=True,
    )
    assert done.status_code == 200
    mapping = CodeMapping.objects.get()
    assert (mapping.institution, mapping.local_code, mapping.standard_code) == (
        network.county_a,
        "GXY01",
        "I10",
    )
    assert mapping.local_name == "高血压"
    queued.refresh_from_db()
    assert queued.resolved_at is not None and queued.mapping == mapping
    assert 'data-testid="codes-empty"' in done.content.decode()
    assert AuditEvent.objects.filter(actor="ops", object_type="code_mapping").exists()
    standard = codes.translate(network.county_a, CodeKind.DIAGNOSIS, "GXY01")
    assert standard is not None and standard.code == "I10"
    # Mapped already: the form of the old page finds nothing waiting.
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 404


def test_another_regions_operator_does_not_see_or_map_the_code(queued, network):
    client = signed_in(make_user("ops_b", "administrator", network.city_b))
    assert "GXY01" not in client.get("/exchange/codes/").content.decode()
    answer = client.post(
        f"/exchange/codes/{queued.pk}/map/", {f"code{queued.pk}-standard_code": "I10"}
    )
    assert answer.status_code == 404
    assert not CodeMapping.objects.exists()


def test_the_pages_speak_chinese(dead_letter, queued, operator):
    from telemed.web.tests.catalog import ensure_compiled

    ensure_compiled()
    client = signed_in(operator)
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "/exchange/outbox/" in home and "数据交换" in home
    outbox = client.get("/exchange/outbox/?state=dead", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = outbox.content.decode()
    assert "死信" in html and "重新投递所选消息" in html and "1 条消息" in html
    detail = client.get(f"/exchange/outbox/{dead_letter.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "投递日志" in detail.content.decode() and "立即重新投递" in detail.content.decode()
    queue = client.get("/exchange/codes/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "未映射代码" in queue and "出现 2 次" in queue and "标准代码" in queue
