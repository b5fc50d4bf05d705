"""Which pages each role may open, and so what its menu shows: the one place that decides.

A page not listed for a role answers 404 (not 403), as cross-scope reads do, so that the
shape of the site is not probed role by role. The menu of a role is its pages in this order.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from telemed.accounts.models import Role

PEOPLE = frozenset(role for role in Role if role != Role.SYSTEM)
PATIENT_READERS = frozenset(
    {
        Role.REQUESTING_DOCTOR,
        Role.EXPERT,
        Role.QUALITY_CONTROL,
        Role.CONSULTATION_MANAGER,
        Role.PHARMACIST,
        Role.SUPERVISOR,
        Role.ADMINISTRATOR,
    }
)
# The roles the patient service lets register, less the API-only system accounts.
REGISTRARS = frozenset({Role.REQUESTING_DOCTOR, Role.QUALITY_CONTROL, Role.ADMINISTRATOR})
AUDITORS = frozenset({Role.ADMINISTRATOR, Role.SUPERVISOR})


@dataclass(frozen=True)
class Page:
    url_name: str
    label: str | Promise
    roles: frozenset[str]
    in_menu: bool = True
    # The menu item a page sits under (a patient's record under "Patients").
    section: str = ""
    # Roles that get the page as a menu item, when fewer than may open it (a phone's menu
    # stays short; the others reach it from a button on the page that needs it).
    menu_roles: frozenset[str] | None = None

    def in_menu_of(self, role: str) -> bool:
        return self.in_menu and role in (self.menu_roles or self.roles)


PAGES: tuple[Page, ...] = (
    Page("web:home", _("Home"), PEOPLE),
    Page("web:patients", _("Patients"), PATIENT_READERS),
    # A patient reaches only their own record; the scoped query enforces that.
    Page(
        "web:patient_detail",
        _("Patient"),
        PATIENT_READERS | {Role.PATIENT},
        in_menu=False,
        section="web:patients",
    ),
    Page(
        "web:patient_new",
        _("Register patient"),
        REGISTRARS,
        menu_roles=frozenset({Role.REQUESTING_DOCTOR}),
    ),
    Page("web:experts", _("Find an expert"), PEOPLE),
    Page("web:network", _("Network"), PEOPLE),
    Page("web:institution", _("Institution"), PEOPLE, in_menu=False, section="web:network"),
    Page("web:audit", _("Audit trail"), AUDITORS),
    Page("admin:index", _("Administration"), frozenset({Role.ADMINISTRATOR})),
)
_BY_NAME = {page.url_name: page for page in PAGES}


def may_open(role: str | None, url_name: str) -> bool:
    page = _BY_NAME.get(url_name)
    return page is not None and role is not None and role in page.roles


def section_of(url_name: str) -> str:
    page = _BY_NAME.get(url_name)
    if page is None:
        return ""
    return page.section or page.url_name


def menu_for(role: str | None) -> list[Page]:
    if role is None:
        return []
    return [page for page in PAGES if role in page.roles and page.in_menu_of(role)]
