"""The demo sign-in accounts (telemed/demo/accounts.py), made or put back one by one."""

from __future__ import annotations

from telemed.accounts.models import Role, User
from telemed.demo import places, population, staff
from telemed.demo.accounts import DEMO_ACCOUNTS, DEMO_COUNTY, DEMO_PASSWORD, DemoAccount
from telemed.directory.models import Institution, Region
from telemed.patients import services as patient_services
from telemed.patients.models import Patient

# How many of the demo county's patients the expert has been assigned, so that the expert's
# home page has cases to open.
EXPERT_ASSIGNED_PATIENTS = 3


def ensure_accounts() -> list[str]:
    """Create the demo accounts that do not exist; leave existing ones untouched (a changed
    password or role stays changed). Returns the usernames created."""
    existing = set(
        User.objects.filter(username__in=[a.username for a in DEMO_ACCOUNTS]).values_list(
            "username", flat=True
        )
    )
    created = []
    for account in DEMO_ACCOUNTS:
        if account.username in existing:
            continue
        user = _create(account)
        if account.role == Role.EXPERT:
            _assign_patients(user)
        created.append(account.username)
    return created


def _create(account: DemoAccount) -> User:
    institution = Institution.objects.get(code=account.institution)
    user = User(
        username=account.username,
        role=account.role,
        institution=institution,
        last_name=account.name[0],
        first_name=account.name[1:],
        email=f"{account.username}@demo.invalid",
        is_staff=account.role == Role.ADMINISTRATOR,
        is_superuser=account.role == Role.ADMINISTRATOR,
        practitioner=staff.persona_practitioner(account.username),
    )
    if account.role == Role.SUPERVISOR:
        user.supervised_region = _supervised_region(institution)
    if account.role == Role.PATIENT:
        user.patient = (
            Patient.objects.unscoped("demo loader: link the patient account to its record")
            .filter(resident_id=population.persona_resident_id())
            .first()
        )
    # The only password hashing of the load (argon2 is slow by design).
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


def _supervised_region(institution: Institution) -> Region | None:
    if institution.region is not None and institution.region.level == Region.Level.CITY:
        return institution.region
    return Region.objects.filter(code=places.PROVINCE_CODE).first()


def _assign_patients(expert: User) -> None:
    patients = (
        Patient.objects.unscoped("demo loader: pick the expert's assigned cases")
        .filter(registrations__institution__code=DEMO_COUNTY)
        .exclude(resident_id=population.persona_resident_id())
        .order_by("-created_at")[:EXPERT_ASSIGNED_PATIENTS]
    )
    for number, patient in enumerate(patients, 1):
        patient_services.grant_access(
            None,
            patient,
            expert,
            reason="demo: consultation assigned to the expert",
            source=f"demo:consultation:{number}",
        )
