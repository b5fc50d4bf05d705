"""Builders for tests: a small network and the named personas.

alice and bob are requesting doctors at the same county hospital (Anyang county); charlie is
a requesting doctor at another county in another city and should see none of their patients.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from telemed.accounts.models import Role, User
from telemed.directory.models import Department, Institution, Practitioner, Region, Specialty, Tier
from telemed.patients import services as patient_services

PASSWORD = "correct-horse-battery"


@dataclass
class Network:
    province_region: Region
    city_a_region: Region
    city_b_region: Region
    province: Institution
    city_a: Institution
    city_b: Institution
    county_a: Institution
    county_b: Institution
    cardiology: Specialty


def build_network() -> Network:
    province_region = Region.objects.create(
        code="410000", name="河南省", name_en="Henan", level="province"
    )
    city_a_region = Region.objects.create(
        code="410500", name="安阳市", name_en="Anyang", level="city", parent=province_region
    )
    city_b_region = Region.objects.create(
        code="411100", name="漯河市", name_en="Luohe", level="city", parent=province_region
    )
    county_a_region = Region.objects.create(
        code="410522", name="安阳县", name_en="Anyang County", level="county", parent=city_a_region
    )
    county_b_region = Region.objects.create(
        code="411121", name="舞阳县", name_en="Wuyang County", level="county", parent=city_b_region
    )
    province = Institution.objects.create(
        code="PROV",
        name="省远程医学中心",
        name_en="Province Centre",
        tier=Tier.PROVINCE_CENTRE,
        region=province_region,
    )
    city_a = Institution.objects.create(
        code="CITY_A",
        name="安阳市人民医院",
        name_en="Anyang People's Hospital",
        tier=Tier.CITY_SUBCENTRE,
        region=city_a_region,
        parent=province,
    )
    city_b = Institution.objects.create(
        code="CITY_B",
        name="漯河市中心医院",
        name_en="Luohe Central Hospital",
        tier=Tier.CITY_SUBCENTRE,
        region=city_b_region,
        parent=province,
    )
    county_a = Institution.objects.create(
        code="COUNTY_A",
        name="安阳县人民医院",
        name_en="Anyang County Hospital",
        tier=Tier.COUNTY_HOSPITAL,
        region=county_a_region,
        parent=city_a,
    )
    county_b = Institution.objects.create(
        code="COUNTY_B",
        name="舞阳县人民医院",
        name_en="Wuyang County Hospital",
        tier=Tier.COUNTY_HOSPITAL,
        region=county_b_region,
        parent=city_b,
    )
    cardiology = Specialty.objects.create(
        code="cardiology", name="心血管内科", name_en="Cardiology"
    )
    return Network(
        province_region,
        city_a_region,
        city_b_region,
        province,
        city_a,
        city_b,
        county_a,
        county_b,
        cardiology,
    )


def make_user(username: str, role: str, institution: Institution | None, **extra: object) -> User:
    user = User.objects.create(username=username, role=role, institution=institution, **extra)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def make_expert(username: str, institution: Institution, specialty: Specialty) -> User:
    department = Department.objects.get_or_create(
        institution=institution,
        code=specialty.code,
        defaults={"name": specialty.name, "specialty": specialty},
    )[0]
    practitioner = Practitioner.objects.create(
        institution=institution, department=department, name=f"{username}医生", title="chief"
    )
    return make_user(username, Role.EXPERT, institution, practitioner=practitioner)


def register(
    user: User,
    name: str,
    record_number: str,
    *,
    birth_date: dt.date | None = None,
    resident_id: str | None = None,
    sex: str = "female",
) -> patient_services.Registered:
    return patient_services.register_patient(
        user,
        patient_services.NewPatient(
            name=name,
            sex=sex,
            birth_date=birth_date or dt.date(1960, 5, 17),
            record_number=record_number,
            resident_id=resident_id,
            consent_telemedicine=True,
        ),
    )


def sign_in(client, user: User) -> None:
    """Sign ``user`` in on a test client as a person who also gave their TOTP code."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    if user.needs_second_factor:
        device = TOTPDevice.objects.filter(
            user=user, confirmed=True
        ).first() or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
