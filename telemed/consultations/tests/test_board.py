"""The day's board (今日会诊安排): rows in time order, counts, scope, the pages."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from telemed.accounts.models import Role
from telemed.consultations import services
from telemed.consultations.board import board_for
from telemed.consultations.testing import CONCLUSION, Team, advance, draft
from telemed.testing import make_user, sign_in


def today_at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(
        timezone.localdate(), dt.time(hour, minute), tzinfo=timezone.get_current_timezone()
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rendered boards are cached per scope; a test's database is new, the process cache not.
    cache.clear()


@pytest.fixture
def day(team: Team, charlie):
    """Four cases today: two from alice's county (city A), one from charlie's (city B), one
    tomorrow; and one case only accepted (not on any board)."""
    charlie_team = dataclasses.replace(team, requester=charlie)
    first = advance(
        team, draft(team, patient_name="张一", record="A-1"), "scheduled", start=today_at(9)
    )
    second = advance(
        team, draft(team, patient_name="张二", record="A-2"), "scheduled", start=today_at(8)
    )
    services.conclude(team.expert, second.pk, CONCLUSION)
    other_city = advance(
        charlie_team,
        draft(charlie_team, patient_name="李一", record="B-1"),
        "scheduled",
        start=today_at(10),
    )
    services.start_session(team.expert, other_city.pk)
    tomorrow = advance(
        team,
        draft(team, patient_name="张三", record="A-3"),
        "scheduled",
        start=today_at(9) + dt.timedelta(days=1),
    )
    waiting = advance(team, draft(team, patient_name="张四", record="A-4"), "accepted")
    return {
        "first": first,
        "second": second,
        "other_city": other_city,
        "tomorrow": tomorrow,
        "waiting": waiting,
    }


def test_province_board_in_time_order_with_counts(team, day):
    board = board_for(team.manager)
    assert [row.number for row in board.rows] == [
        day["second"].number,
        day["first"].number,
        day["other_city"].number,
    ]
    assert (board.total, board.done, board.in_session, board.waiting) == (3, 1, 1, 1)
    row = board.rows[1]
    assert row.start == today_at(9)
    assert row.requesting_institution == "安阳县人民医院"
    assert row.expert and row.room == "第一会诊室" and row.department
    assert row.state == "scheduled"


def test_city_subcentre_sees_its_region_only(team, day, network):
    city_a_manager = make_user("city_a_mgr", Role.CONSULTATION_MANAGER, network.city_a)
    board = board_for(city_a_manager)
    assert [row.number for row in board.rows] == [day["second"].number, day["first"].number]
    assert (board.total, board.done, board.waiting) == (2, 1, 1)
    city_b_qc = make_user("city_b_qc", Role.QUALITY_CONTROL, network.city_b)
    assert [row.number for row in board_for(city_b_qc).rows] == [day["other_city"].number]


def test_requester_and_expert_see_their_own(team, day, charlie, network):
    assert {row.number for row in board_for(team.requester).rows} == {
        day["first"].number,
        day["second"].number,
    }
    assert [row.number for row in board_for(charlie).rows] == [day["other_city"].number]
    assert board_for(team.expert).total == 3  # all three are assigned to dr_wang


def test_another_day(team, day):
    board = board_for(team.manager, timezone.localdate() + dt.timedelta(days=1))
    assert [row.number for row in board.rows] == [day["tomorrow"].number]


@pytest.fixture
def pages(settings):
    settings.REQUIRE_SECOND_FACTOR = False


def test_board_page_and_rows(client, team, day, pages):
    sign_in(client, team.manager)
    page = client.get("/board/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="board-total">3<' in html
    assert 'data-ws-path="/ws/board/"' in html
    assert 'data-testid="navbar"' in html
    assert day["first"].number in html
    # No patient is named on the board.
    assert day["first"].patient.name not in html
    assert "no-store" in page["Cache-Control"]
    rows = client.get("/board/rows")
    assert rows.status_code == 200
    assert 'data-testid="board-table"' in rows.content.decode()
    assert "<html" not in rows.content.decode()


def test_wall_mode_has_no_navigation(client, team, day, pages):
    sign_in(client, team.manager)
    html = client.get("/board/?wall=1").content.decode()
    assert 'data-testid="board-wall"' in html
    assert 'data-testid="navbar"' not in html
    assert 'data-bs-theme="dark"' in html
    assert "/board/rows?wall=1" in html
    # The wall's rows are not links.
    assert f'href="/consultations/{day["first"].pk}/"' not in html


def test_city_board_page_shows_city_only(client, team, day, network, pages):
    city_a_manager = make_user("city_a_mgr", Role.CONSULTATION_MANAGER, network.city_a)
    sign_in(client, city_a_manager)
    html = client.get("/board/rows").content.decode()
    assert day["first"].number in html and day["other_city"].number not in html


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.CONSULTATION_MANAGER, 200),
        (Role.QUALITY_CONTROL, 200),
        (Role.SUPERVISOR, 200),
        (Role.ADMINISTRATOR, 200),
        (Role.REQUESTING_DOCTOR, 200),
        (Role.PHARMACIST, 404),
        (Role.EDUCATION_MANAGER, 404),
    ],
)
def test_who_may_open_the_board(client, network, pages, role, status):
    sign_in(client, make_user(f"u-{role}", role, network.province))
    assert client.get("/board/").status_code == status
    assert client.get("/board/rows").status_code == status


def test_anonymous_is_sent_to_sign_in(client, db):
    for url in ("/board/", "/board/rows", "/board/?wall=1"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_board_is_in_the_menu(client, team, pages):
    sign_in(client, team.manager)
    assert 'href="/board/"' in client.get("/").content.decode()


def test_a_change_redraws_the_cached_board(
    client, team, day, pages, django_capture_on_commit_callbacks
):
    sign_in(client, team.manager)
    assert 'data-testid="board-in-session">1<' in client.get("/board/rows").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.start_session(team.expert, day["first"].pk)
    assert 'data-testid="board-in-session">2<' in client.get("/board/rows").content.decode()


def test_equal_scopes_share_a_rendered_board_and_others_do_not(team, day, network):
    from telemed.accounts.scoping import scope_for
    from telemed.consultations.board import scope_key

    city_a = make_user("city_a_mgr", Role.CONSULTATION_MANAGER, network.city_a)
    city_a_qc = make_user("city_a_qc", Role.QUALITY_CONTROL, network.city_a)
    city_b = make_user("city_b_mgr", Role.CONSULTATION_MANAGER, network.city_b)
    assert scope_key(scope_for(city_a)) == scope_key(scope_for(city_a_qc))
    assert scope_key(scope_for(city_a)) != scope_key(scope_for(city_b))
    assert scope_key(scope_for(team.manager)) == "all"
    assert scope_key(scope_for(team.expert)) != scope_key(scope_for(team.requester))
