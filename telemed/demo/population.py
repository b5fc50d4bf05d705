"""Synthetic patients registered at the county hospitals, with consents.

Everything is generated: names from the seeded name lists, resident ID numbers built for the
county of registration with a valid check character (the sequence digit's parity follows the
sex, as on a real card), no phone numbers.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING

from telemed.core import clock
from telemed.demo import places
from telemed.demo.accounts import DEMO_COUNTY
from telemed.demo.names import NameMaker
from telemed.directory.models import Institution
from telemed.patients import identifiers
from telemed.patients.models import Consent, ConsentKind, Patient, PatientRegistration, Sex

if TYPE_CHECKING:
    from telemed.demo.network import Net

DEMO_COUNTY_PATIENTS = 100
OTHER_COUNTY_PATIENTS = 200
# Share of county patients also registered at their city sub-centre (referred up once).
REFERRED_UP = 0.12


def persona_birth_date() -> dt.date:
    return dt.date(1957, 4, 16)


def persona_resident_id() -> str:
    """The record behind the ``patient`` demo account (male: odd sequence digit)."""
    return identifiers.make(places.DEMO_COUNTY_REGION, persona_birth_date(), 357)


def _birth_date(rng: random.Random, today: dt.date) -> dt.date:
    # County consultations are mostly about older adults, with some children.
    age = rng.choice((rng.randint(1, 14), rng.randint(18, 44), *[rng.randint(45, 88)] * 3))
    start = dt.date(today.year - age - 1, today.month, 1).toordinal() + 1
    return dt.date.fromordinal(rng.randint(start, start + 360))


class PatientBuilder:
    def __init__(self, net: Net, rng: random.Random) -> None:
        self.net = net
        self.rng = rng
        self.names = NameMaker(rng)
        self.now = clock.now()
        self.patients: list[Patient] = []
        self.registrations: list[PatientRegistration] = []
        self.consents: list[Consent] = []
        self.used_ids = {persona_resident_id()}
        self.next_record: dict[int, int] = {}

    def _record_number(self, institution: Institution, at: dt.datetime) -> str:
        number = self.next_record.get(institution.pk, 0) + 1
        self.next_record[institution.pk] = number
        return f"{at:%Y}{number:05d}"

    def _resident_id(self, area: str, birth: dt.date, sex: str) -> str:
        while True:
            sequence = self.rng.randrange(0, 500) * 2 + (1 if sex == Sex.MALE else 0)
            value = identifiers.make(area, birth, sequence)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def add(
        self,
        institution: Institution,
        *,
        name: tuple[str, str] | None = None,
        sex: str | None = None,
        birth: dt.date | None = None,
        resident_id: str | None = None,
        consent_telemedicine: bool | None = None,
        consent_external: bool | None = None,
    ) -> Patient:
        sex = sex or (Sex.MALE if self.rng.random() < 0.5 else Sex.FEMALE)
        name = name or self.names.person(sex)
        birth = birth or _birth_date(self.rng, self.now.date())
        _city, county = self.net.home[institution.pk]
        at = self.now - dt.timedelta(
            days=self.rng.randint(3, 720), minutes=self.rng.randint(0, 600)
        )
        patient = Patient(
            name=name[0],
            name_pinyin=name[1],
            sex=sex,
            birth_date=birth,
            resident_id=resident_id or self._resident_id(county.code, birth, sex),
            address=self._address(institution),
            created_at=at,
            updated_at=at,
        )
        self.patients.append(patient)
        self._register(patient, institution, at)
        if self.rng.random() < REFERRED_UP and institution.parent is not None:
            later = at + dt.timedelta(days=self.rng.randint(1, 3))
            self._register(patient, institution.parent, min(later, self.now))
        if consent_telemedicine is None:
            consent_telemedicine = self.rng.random() < 0.96
        self._consent(patient, ConsentKind.TELEMEDICINE, consent_telemedicine, institution, at)
        if consent_external is None:
            draw = self.rng.random()
            consent_external = True if draw < 0.75 else False if draw < 0.9 else None
        if consent_external is not None:
            self._consent(patient, ConsentKind.SHARE_EXTERNAL, consent_external, institution, at)
        return patient

    def _address(self, institution: Institution) -> str:
        _city, county = self.net.home[institution.pk]
        townships = places.TOWNSHIPS.get(county.code)
        if not townships:
            return institution.address
        township, _en = self.rng.choice(townships)
        village, _v = self.rng.choice(places.VILLAGE_STEMS)
        return f"{institution.address}{township}{village}村"

    def _register(self, patient: Patient, institution: Institution, at: dt.datetime) -> None:
        self.registrations.append(
            PatientRegistration(
                patient=patient,
                institution=institution,
                record_number=self._record_number(institution, at),
                registered_at=at,
            )
        )

    def _consent(
        self,
        patient: Patient,
        kind: str,
        granted: bool,
        institution: Institution,
        at: dt.datetime,
    ) -> None:
        self.consents.append(
            Consent(
                patient=patient,
                kind=kind,
                granted=granted,
                institution=institution,
                recorded_at=at,
            )
        )

    def save(self) -> None:
        # Resident IDs already in the index (entered before the demo) are left out.
        taken = set(
            Patient.objects.unscoped("demo loader: avoid resident ID clashes")
            .filter(resident_id__in=[p.resident_id for p in self.patients])
            .values_list("resident_id", flat=True)
        )
        keep = {id(p) for p in self.patients if p.resident_id not in taken}
        Patient.objects.bulk_create([p for p in self.patients if id(p) in keep])
        PatientRegistration.objects.bulk_create(
            [r for r in self.registrations if id(r.patient) in keep]
        )
        Consent.objects.bulk_create([c for c in self.consents if id(c.patient) in keep])


def build_patients(net: Net, rng: random.Random) -> None:
    builder = PatientBuilder(net, rng)
    demo_county = next(c for c in net.counties if c.code == DEMO_COUNTY)
    builder.add(
        demo_county,
        name=("陈患者", "Chen Huanzhe"),
        sex=Sex.MALE,
        birth=persona_birth_date(),
        resident_id=persona_resident_id(),
        consent_telemedicine=True,
        consent_external=True,
    )
    for _ in range(DEMO_COUNTY_PATIENTS - 1):
        builder.add(demo_county)
    others = [c for c in net.counties if c.code != DEMO_COUNTY]
    for _ in range(OTHER_COUNTY_PATIENTS):
        builder.add(rng.choice(others))
    builder.save()
