"""``telemed demo``: a believable Henan-style network, loaded in a few seconds.

The province centre, 18 city sub-centres, the county hospitals, the townships and villages
of the demo city, out-of-province partners, departments, reading rooms, ~550 practitioners
with their experts and resource pools, ~300 synthetic patients, and one sign-in account per
role. Loading twice changes nothing: when the province centre exists the network is left
alone and only missing demo accounts are put back.
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from django.apps import apps
from django.db import models, transaction

from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.consultations.models import Consultation
from telemed.demo import cases, medicine, places, population, staff, users
from telemed.demo.accounts import DEMO_CITY, DEMO_COUNTY, DEMO_PROVINCE
from telemed.directory.models import (
    ConsultationRoom,
    Department,
    Disease,
    ExpertPool,
    ExpertProfile,
    Institution,
    Practitioner,
    Region,
    Specialty,
    Tier,
)
from telemed.patients.models import Consent, Patient, PatientRegistration

# One seed: every load makes the same people, names and numbers.
SEED = 2015

M = TypeVar("M", bound=models.Model)


class Writer(Protocol):
    def write(self, text: str, /) -> object: ...


def seeded(offset: int = 0) -> random.Random:
    # Reproducible demo data, not secrets: a seeded generator is the point.
    return random.Random(SEED + offset)  # noqa: S311


@dataclass
class Net:
    """The network as built, handed from one builder to the next."""

    province_region: Region
    province: Institution
    regions: dict[str, Region]
    cities: dict[str, Institution]  # by city region code
    counties: list[Institution]  # county tier, people's hospitals first
    townships: list[Institution]
    villages: list[Institution]
    externals: list[Institution]
    specialties: dict[str, Specialty]
    diseases: dict[str, Disease]
    departments: dict[tuple[int, str], Department] = field(default_factory=dict)
    # County-tier institution -> (city, county region) it belongs to.
    home: dict[int, tuple[places.City, places.County]] = field(default_factory=dict)


def load_demo(stdout: Writer | None = None) -> dict[str, Any]:
    """Load the demo network (or restore its accounts) and return the counts."""
    rng = seeded()
    with transaction.atomic():
        already = Institution.objects.filter(code=DEMO_PROVINCE).exists()
        if not already:
            net = build_network()
            staff.build_staff(net, rng)
            population.build_patients(net, rng)
        restored = users.ensure_accounts()
        if not already:
            # Cases go through the real services, which need the accounts above.
            cases.expert_accounts()
            cases.build_cases(seeded(7))
        summary: dict[str, Any] = {
            "loaded": not already,
            "accounts_created": len(restored),
            **counts(),
            **app_demos(),
        }
        if not already or restored:
            audit.record(None, Action.ADMIN, object_type="demo", actor_name="demo", detail=summary)
    if stdout is not None:
        _print(stdout, summary, restored)
    return summary


def app_demos() -> dict[str, int]:
    """Each business app's own demo data (``telemed/<app>/demo.py`` with ``load()``, safe to
    run again: a DICOM node for DEMO_COUNTY, ECG duty rosters); their counts."""
    loaded: dict[str, int] = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("telemed."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as missing:
            if missing.name != f"{config.name}.demo":
                raise
            continue
        loaded.update(module.load())
    return loaded


def counts() -> dict[str, int]:
    tiers = dict(Institution.objects.values_list("tier").annotate(n=models.Count("pk")).order_by())
    return {
        "regions": Region.objects.count(),
        "institutions": Institution.objects.count(),
        **{f"tier_{tier}": tiers.get(tier, 0) for tier in Tier.values},
        "specialties": Specialty.objects.count(),
        "diseases": Disease.objects.count(),
        "departments": Department.objects.count(),
        "practitioners": Practitioner.objects.count(),
        "experts": ExpertProfile.objects.count(),
        "rooms": ConsultationRoom.objects.count(),
        "expert_pools": ExpertPool.objects.count(),
        "patients": Patient.objects.unscoped("demo summary counts").count(),
        "registrations": PatientRegistration.objects.unscoped("demo summary counts").count(),
        "consents": Consent.objects.unscoped("demo summary counts").count(),
        "consultations": Consultation.objects.unscoped("demo summary counts").count(),
    }


def _print(stdout: Writer, summary: dict[str, Any], restored: list[str]) -> None:
    if summary["loaded"]:
        stdout.write("Demo network loaded.\n")
    else:
        stdout.write("Demo network already loaded; nothing changed.\n")
    if restored:
        stdout.write(f"Demo accounts created: {', '.join(restored)}\n")
    for key, value in summary.items():
        if key not in {"loaded", "accounts_created"}:
            stdout.write(f"  {key:<22} {value}\n")


def ensure(model: type[M], key: str, rows: Iterable[M]) -> dict[str, M]:
    """Create the rows whose ``key`` is not in the table yet; return all of them by key.

    Regions, specialties and diseases may already be there (entered by an administrator
    before the demo): those are reused, not duplicated.
    """
    wanted = {getattr(row, key): row for row in rows}
    existing = {
        getattr(obj, key): obj for obj in model._default_manager.filter(**{f"{key}__in": wanted})
    }
    missing = [row for value, row in wanted.items() if value not in existing]
    model._default_manager.bulk_create(missing)
    return {**existing, **{getattr(row, key): row for row in missing}}


def _region(code: str, name: str, name_en: str, level: str, parent: Region | None) -> Region:
    # bulk_create skips Region.save(), which is what fills the path.
    path = f"{parent.path if parent else '/'}{code}/"
    return Region(code=code, name=name, name_en=name_en, level=level, parent=parent, path=path)


def build_network() -> Net:
    province_region = ensure(
        Region, "code", [_region(places.PROVINCE_CODE, *places.PROVINCE_NAME, "province", None)]
    )[places.PROVINCE_CODE]
    regions = ensure(
        Region,
        "code",
        [
            _region(city.code, city.name, city.name_en, "city", province_region)
            for city in places.CITIES
        ],
    )
    regions |= ensure(
        Region,
        "code",
        [
            _region(county.code, county.name, county.name_en, "county", regions[city.code])
            for city in places.CITIES
            for county in city.counties
        ],
    )
    regions |= ensure(
        Region,
        "code",
        [
            _region(code, name, name_en, "township", regions[county_code])
            for county_code, code, name, name_en in _township_rows()
        ],
    )
    net = _build_institutions(province_region, regions)
    _build_departments(net)
    _build_rooms(net)
    return net


def _township_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for county_code, townships in places.TOWNSHIPS.items():
        towns = [t for t in townships if t[0].endswith("镇")]
        for index, (name, name_en) in enumerate(townships):
            number = 101 + index if index < len(towns) else 201 + index - len(towns)
            rows.append((county_code, f"{county_code}{number}", name, name_en))
    return rows


def _joined(rng: random.Random, first_year: int, last_year: int) -> dt.date:
    start = dt.date(first_year, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randint(start, dt.date(last_year, 12, 31).toordinal()))


def _build_institutions(province_region: Region, regions: dict[str, Region]) -> Net:
    rng = seeded(1)
    name, name_en, address = places.PROVINCE_CENTRE
    province = Institution(
        code=DEMO_PROVINCE,
        name=name,
        name_en=name_en,
        tier=Tier.PROVINCE_CENTRE,
        region=province_region,
        address=address,
        joined_on=dt.date(2013, 10, 1),
    )
    province.save()
    cities = {
        city.code: Institution(
            code=DEMO_CITY if city.code == places.DEMO_CITY_REGION else f"HN{city.code}",
            name=city.hospital,
            name_en=city.hospital_en,
            tier=Tier.CITY_SUBCENTRE,
            parent=province,
            region=regions[city.code],
            address=f"河南省{city.name}",
            joined_on=_joined(rng, 2014, 2014),
        )
        for city in places.CITIES
    }
    Institution.objects.bulk_create(cities.values())
    counties: list[Institution] = []
    home: dict[str, tuple[places.City, places.County]] = {}
    for city in places.CITIES:
        for county in city.counties:
            code = DEMO_COUNTY if county.code == places.DEMO_COUNTY_REGION else f"HN{county.code}"
            variants = [(code, "人民医院", " People's Hospital")]
            if county.code in places.TCM_HOSPITAL_COUNTIES:
                variants.append((f"HN{county.code}-TCM", "中医院", " Hospital of TCM"))
            for inst_code, suffix, suffix_en in variants:
                home[inst_code] = (city, county)
                counties.append(
                    Institution(
                        code=inst_code,
                        name=county.name + suffix,
                        name_en=county.name_en + suffix_en,
                        tier=Tier.COUNTY_HOSPITAL,
                        parent=cities[city.code],
                        region=regions[county.code],
                        address=f"河南省{city.name}{county.name}",
                        joined_on=_joined(rng, 2014, 2016),
                    )
                )
    # People's hospitals first: they are the main requesters and get the most staff.
    counties.sort(key=lambda inst: (inst.code.endswith("-TCM"), inst.code))
    Institution.objects.bulk_create(counties)
    county_by_region = {c.region_id: c for c in counties if not c.code.endswith("-TCM")}
    townships, villages = [], []
    stems = seeded(2)
    for county_code, code, name, name_en in _township_rows():
        county_region = regions[county_code]
        county_hospital = county_by_region[county_region.pk]
        townships.append(
            Institution(
                code=f"HN{code}",
                name=f"{county_region.name}{name}卫生院",
                name_en=f"{name_en} Health Centre, {county_region.name_en}",
                tier=Tier.TOWNSHIP_CLINIC,
                parent=county_hospital,
                region=regions[code],
                address=f"{county_hospital.address}{name}",
                joined_on=_joined(rng, 2015, 2018),
            )
        )
        for number, (stem, stem_en) in enumerate(
            stems.sample(places.VILLAGE_STEMS, places.VILLAGES_PER_TOWNSHIP[county_code]), 1
        ):
            villages.append(
                Institution(
                    code=f"HN{code}-{number:02d}",
                    name=f"{name}{stem}村卫生室",
                    name_en=f"{stem_en} Village Clinic, {name_en}",
                    tier=Tier.VILLAGE_CLINIC,
                    parent=county_hospital,
                    region=regions[code],
                    address=f"{county_hospital.address}{name}{stem}村",
                    joined_on=_joined(rng, 2016, 2019),
                )
            )
    externals = [
        Institution(
            code=partner.code,
            name=partner.name,
            name_en=partner.name_en,
            tier=Tier.EXTERNAL_PARTNER,
            address=partner.address,
            joined_on=_joined(rng, 2015, 2017),
        )
        for partner in places.EXTERNAL_PARTNERS
    ]
    Institution.objects.bulk_create([*townships, *villages, *externals])
    specialties = ensure(
        Specialty,
        "code",
        [Specialty(code=c, name=n, name_en=e) for c, n, e in medicine.SPECIALTIES],
    )
    diseases = ensure(
        Disease,
        "icd10",
        [
            Disease(icd10=icd, name=n, name_en=e, specialty=specialties[s])
            for icd, n, e, s in medicine.DISEASES
        ],
    )
    net = Net(
        province_region=province_region,
        province=province,
        regions=regions,
        cities=cities,
        counties=counties,
        townships=townships,
        villages=villages,
        externals=externals,
        specialties=specialties,
        diseases=diseases,
    )
    net.home = {inst.pk: home[inst.code] for inst in counties}
    return net


EXTERNAL_DEPARTMENTS = ("cardiology", "oncology", "radiology", "pathology")


def _departments_of(net: Net) -> Iterable[tuple[Institution, Iterable[str]]]:
    every = [code for code, _n, _e in medicine.SPECIALTIES]
    yield net.province, every
    for city in net.cities.values():
        yield city, every
    for county in net.counties:
        tcm = county.code.endswith("-TCM")
        yield county, medicine.COUNTY_TCM_DEPARTMENTS if tcm else medicine.COUNTY_DEPARTMENTS
    for township in net.townships:
        yield township, medicine.TOWNSHIP_DEPARTMENTS
    for partner in net.externals:
        yield partner, EXTERNAL_DEPARTMENTS


def _build_departments(net: Net) -> None:
    rows = []
    for institution, codes in _departments_of(net):
        for code in codes:
            specialty = net.specialties[code]
            department = Department(
                institution=institution,
                specialty=specialty,
                code=code,
                name=specialty.name,
                name_en=specialty.name_en,
            )
            rows.append(department)
            net.departments[(institution.pk, code)] = department
    Department.objects.bulk_create(rows)


ROOMS = (
    ("consult-1", "第一远程会诊室", "Consultation Room 1", ConsultationRoom.Kind.CONSULTATION, 8),
    ("consult-2", "第二远程会诊室", "Consultation Room 2", ConsultationRoom.Kind.CONSULTATION, 6),
    ("imaging", "远程影像诊断室", "Imaging Reading Room", ConsultationRoom.Kind.IMAGING, 4),
    ("pathology", "远程病理诊断室", "Pathology Reading Room", ConsultationRoom.Kind.PATHOLOGY, 3),
    ("ecg", "远程心电诊断室", "ECG Reading Room", ConsultationRoom.Kind.ECG, 4),
)
PROVINCE_ROOMS = (
    ("consult-3", "第三远程会诊室", "Consultation Room 3", ConsultationRoom.Kind.CONSULTATION, 6),
    ("consult-4", "多学科会诊厅", "MDT Consultation Hall", ConsultationRoom.Kind.CONSULTATION, 20),
    ("studio", "远程教育演播室", "Education Studio", ConsultationRoom.Kind.EDUCATION, 30),
)


def _build_rooms(net: Net) -> None:
    rooms = [
        ConsultationRoom(
            institution=institution, code=code, name=name, name_en=name_en, kind=kind, capacity=n
        )
        for institution, specs in [
            (net.province, ROOMS + PROVINCE_ROOMS),
            *[(city, ROOMS[:1] + ROOMS[2:]) for city in net.cities.values()],
        ]
        for code, name, name_en, kind, n in specs
    ]
    ConsultationRoom.objects.bulk_create(rooms)
