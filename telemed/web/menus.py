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
BOARD_VIEWERS = frozenset(
    {
        Role.REQUESTING_DOCTOR,
        Role.EXPERT,
        Role.QUALITY_CONTROL,
        Role.CONSULTATION_MANAGER,
        Role.SUPERVISOR,
        Role.ADMINISTRATOR,
    }
)
# Consultations: who may open a case page (what they see is the case query's scope, and what
# they may do the workflow's parts); the action pages belong to one role each.
CASE_READERS = frozenset(
    {
        Role.REQUESTING_DOCTOR,
        Role.EXPERT,
        Role.QUALITY_CONTROL,
        Role.CONSULTATION_MANAGER,
        Role.SUPERVISOR,
        Role.ADMINISTRATOR,
    }
)
REQUESTERS = frozenset({Role.REQUESTING_DOCTOR})
QUALITY_CONTROL = frozenset({Role.QUALITY_CONTROL})
MANAGERS = frozenset({Role.CONSULTATION_MANAGER})
EXPERTS = frozenset({Role.EXPERT})
OVERDUE_READERS = frozenset({Role.CONSULTATION_MANAGER, Role.SUPERVISOR, Role.QUALITY_CONTROL})
# Imaging studies: the sending institution's staff, regional staff, and experts (who see
# only the studies of cases assigned to them; the study query decides).
IMAGING_STUDY_READERS = frozenset(
    {
        Role.REQUESTING_DOCTOR,
        Role.EXPERT,
        Role.QUALITY_CONTROL,
        Role.CONSULTATION_MANAGER,
        Role.SUPERVISOR,
        Role.ADMINISTRATOR,
    }
)

ECG_READERS = frozenset(
    {
        Role.REQUESTING_DOCTOR,
        Role.EXPERT,
        Role.CONSULTATION_MANAGER,
        Role.SUPERVISOR,
        Role.ADMINISTRATOR,
    }
)

# Who keeps the ECG pools' duty rosters (telemed.ecg.roster decides whose experts).
ROSTER_KEEPERS = frozenset({Role.CONSULTATION_MANAGER, Role.ADMINISTRATOR})

# The exchange hub's operator pages (telemed.exchange.views).
EXCHANGE_OPERATORS = frozenset({Role.ADMINISTRATOR})


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
    Page("consultations:qc_queue", _("Quality control"), QUALITY_CONTROL),
    Page("consultations:triage_queue", _("Triage"), MANAGERS),
    Page("consultations:scheduling_queue", _("Scheduling"), MANAGERS),
    Page(
        "consultations:overdue",
        _("Overdue"),
        OVERDUE_READERS,
        # Managers see overdue cases flagged on their home page and in their queues.
        menu_roles=frozenset({Role.SUPERVISOR}),
    ),
    Page("consultations:worklist", _("Worklist"), EXPERTS),
    Page("consultations:list", _("Consultations"), CASE_READERS),
    # A case and what is done on it sit under "Consultations".
    *(
        Page(f"consultations:{name}", label, roles, in_menu=False, section="consultations:list")
        for name, label, roles in (
            ("new_pick", _("New consultation"), REQUESTERS),
            ("new", _("New consultation"), REQUESTERS),
            ("picker", _("Experts and times"), REQUESTERS),
            ("diseases", _("Diseases"), REQUESTERS),
            ("detail", _("Consultation"), CASE_READERS),
            ("history", _("History"), CASE_READERS),
            ("messages", _("Messages"), CASE_READERS),
            ("act", _("Consultation"), CASE_READERS),
            ("edit", _("Edit request"), REQUESTERS),
            ("feedback", _("Feedback"), REQUESTERS),
            ("review", _("Quality check"), QUALITY_CONTROL),
            ("triage", _("Triage"), MANAGERS),
            ("schedule", _("Schedule"), MANAGERS),
            ("conclude", _("Conclusion"), EXPERTS),
            ("amend", _("Amend the conclusion"), EXPERTS),
        )
    ),
    # Imaging: the received studies (the scoped study query decides the rows), and the
    # imaging pages of a case, under "Consultations".
    Page(
        "imaging:studies",
        _("Received studies"),
        IMAGING_STUDY_READERS,
        menu_roles=REQUESTERS,
    ),
    *(
        Page(f"imaging:{name}", label, roles, in_menu=False, section=section)
        for name, label, roles, section in (
            ("upload", _("Upload files"), REQUESTERS, "imaging:studies"),
            ("study", _("Study"), IMAGING_STUDY_READERS, "imaging:studies"),
            ("study_viewer", _("Viewer"), IMAGING_STUDY_READERS, "imaging:studies"),
            ("case", _("Imaging"), CASE_READERS, "consultations:list"),
            ("case_panel", _("Imaging"), CASE_READERS, "consultations:list"),
            ("case_viewer", _("Viewer"), CASE_READERS, "consultations:list"),
            ("report", _("Imaging report"), EXPERTS, "consultations:list"),
            ("amend", _("Amend the report"), EXPERTS, "consultations:list"),
            ("report_pdf", _("Imaging report"), CASE_READERS, "consultations:list"),
        )
    ),
    # ECG: the pool worklist for experts on duty, the sent ECGs of a requesting site, and
    # the region's view for managers and supervisors; the case pages under it.
    Page("ecg:worklist", _("ECG"), ECG_READERS),
    *(
        Page(f"ecg:{name}", label, roles, in_menu=False, section="ecg:worklist")
        for name, label, roles in (
            ("new", _("Send an ECG"), REQUESTERS),
            ("case", _("ECG"), ECG_READERS),
            ("claim", _("ECG"), EXPERTS),
            ("release", _("ECG"), EXPERTS),
            ("report", _("ECG report"), EXPERTS),
            ("amend", _("Amend the ECG report"), EXPERTS),
            ("roster", _("ECG duty roster"), ROSTER_KEEPERS),
            ("roster_end", _("ECG duty roster"), ROSTER_KEEPERS),
            ("report_fragment", _("ECG report"), ECG_READERS),
            ("report_pdf", _("ECG report"), ECG_READERS),
        )
    ),
    # The day's board (今日会诊安排; the scoped board query decides its rows) and the
    # notifications list, which the navbar's bell opens.
    Page("board:board", _("Today's board"), BOARD_VIEWERS),
    Page("notifications:list", _("Notifications"), PEOPLE, in_menu=False),
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
    # The exchange hub's operators: the outbox with its delivery log and dead letters, and
    # the queue of unmapped codes.
    Page("exchange:outbox", _("Data exchange"), EXCHANGE_OPERATORS),
    *(
        Page(
            f"exchange:{name}", label, EXCHANGE_OPERATORS, in_menu=False, section="exchange:outbox"
        )
        for name, label in (
            ("message", _("Outbound message")),
            ("retry", _("Dead letters")),
            ("codes", _("Unmapped codes")),
            ("map_code", _("Unmapped codes")),
        )
    ),
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
