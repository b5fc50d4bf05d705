"""Practitioners, experts and the expert resource pools of the demo network."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telemed.demo import medicine
from telemed.demo.accounts import DEMO_COUNTY, DEMO_PROVINCE
from telemed.demo.names import NameMaker
from telemed.directory.models import (
    Department,
    ExpertPool,
    ExpertProfile,
    Institution,
    Practitioner,
    Specialty,
    Title,
)

if TYPE_CHECKING:
    from telemed.demo.network import Net

TITLE_WORDS: dict[str, tuple[str, str]] = {
    Title.CHIEF_PHYSICIAN: ("主任医师", "Chief physician"),
    Title.ASSOCIATE_CHIEF: ("副主任医师", "Associate chief physician"),
}
READING_WORDS = {"radiology": "影像", "pathology": "病理", "electrocardiography": "心电"}
DAILY_CAPACITY = {"electrocardiography": 40, "radiology": 25, "pathology": 12}


@dataclass(frozen=True)
class Persona:
    """A practitioner behind a demo account, made with the network so it joins the pools."""

    username: str
    institution: str
    name: str
    name_en: str
    title: str
    department: str | None
    specialties: tuple[str, ...] = ()
    expert: bool = False


PERSONAS = (
    # The provincial cardiologist also reads ECGs, so the expert account is in every ECG pool.
    Persona(
        "expert",
        DEMO_PROVINCE,
        "王专家",
        "Wang Zhuanjia",
        Title.CHIEF_PHYSICIAN,
        "cardiology",
        ("cardiology", "electrocardiography"),
        expert=True,
    ),
    Persona(
        "doctor", DEMO_COUNTY, "李县医", "Li Xianyi", Title.ATTENDING, "cardiology", ("cardiology",)
    ),
    Persona("pharmacist", DEMO_COUNTY, "孙药师", "Sun Yaoshi", Title.PHARMACIST, None),
)


@dataclass
class Draft:
    practitioner: Practitioner
    specialties: list[str]
    expert: bool = False
    diseases: list[str] = field(default_factory=list)


def mid_sentence(text: str) -> str:
    """Lower-case a name for the middle of a sentence, keeping acronyms (COPD, ENT) and
    eponyms (Parkinson's, Graves')."""

    def word(w: str) -> str:
        keep = len(w) == 1 or any(c.isupper() for c in w[1:]) or "'" in w
        return w if keep else w.lower()

    return " ".join(word(w) for w in text.split(" "))


def summary_for(
    title: str, specialty: Specialty, diseases: list[tuple[str, str]], years: int
) -> tuple[str, str]:
    title_zh, title_en = TITLE_WORDS.get(title, ("主任医师", "Chief physician"))
    names_zh = "、".join(name for name, _en in diseases[:2])
    names_en = " and ".join(mid_sentence(name_en) for _n, name_en in diseases[:2])
    reading = READING_WORDS.get(specialty.code)
    if reading:
        skill = f"擅长{names_zh}等的远程{reading}诊断。"
    else:
        skill = f"擅长{names_zh}等疾病的诊治及疑难病例会诊。"
    return (
        f"{title_zh}，从事{specialty.name}临床工作{years}年。{skill}",
        f"{title_en}, {years} years in {mid_sentence(specialty.name_en)}; "
        f"special interest in {names_en}.",
    )


class StaffBuilder:
    def __init__(self, net: Net, rng: random.Random) -> None:
        self.net = net
        self.rng = rng
        self.names = NameMaker(rng)
        self.drafts: list[Draft] = []

    def add(
        self, institution: Institution, code: str | None, title: str, *, expert: bool = False
    ) -> None:
        sex = "male" if self.rng.random() < 0.55 else "female"
        name, name_en = self.names.person(sex)
        department = self.net.departments.get((institution.pk, code)) if code else None
        practitioner = Practitioner(
            institution=institution,
            department=department,
            name=name,
            name_en=name_en,
            title=title,
        )
        diseases = [*self._diseases_of(code)] if expert and code else []
        self.drafts.append(Draft(practitioner, [code] if code else [], expert, diseases))

    def _diseases_of(self, code: str) -> list[str]:
        own = [icd for icd, _n, _e, s in medicine.DISEASES if s == code]
        return own + list(medicine.READING_DISEASES.get(code, ()))

    def add_persona(self, persona: Persona) -> None:
        institution = Institution.objects.get(code=persona.institution)
        department = (
            self.net.departments.get((institution.pk, persona.department))
            if persona.department
            else None
        )
        practitioner = Practitioner(
            institution=institution,
            department=department,
            name=persona.name,
            name_en=persona.name_en,
            title=persona.title,
        )
        diseases = [d for code in persona.specialties for d in self._diseases_of(code)]
        self.drafts.append(Draft(practitioner, list(persona.specialties), persona.expert, diseases))

    def save(self) -> dict[tuple[int, str], list[int]]:
        """Write the drafts; return expert profile ids by (institution id, specialty)."""
        Practitioner.objects.bulk_create([d.practitioner for d in self.drafts])
        specialties = self.net.specialties
        Practitioner.specialties.through.objects.bulk_create(
            Practitioner.specialties.through(
                practitioner_id=d.practitioner.pk, specialty_id=specialties[code].pk
            )
            for d in self.drafts
            for code in d.specialties
        )
        experts = [d for d in self.drafts if d.expert]
        profiles = []
        for draft in experts:
            p = draft.practitioner
            specialty = specialties[draft.specialties[0]]
            senior = p.title == Title.CHIEF_PHYSICIAN
            years = self.rng.randint(20, 32) if senior else self.rng.randint(11, 19)
            named = [
                (self.net.diseases[icd].name, self.net.diseases[icd].name_en)
                for icd in draft.diseases
            ]
            self.rng.shuffle(named)
            summary, summary_en = summary_for(p.title, specialty, named, years)
            profiles.append(
                ExpertProfile(
                    practitioner=p,
                    summary=summary,
                    summary_en=summary_en,
                    daily_capacity=DAILY_CAPACITY.get(specialty.code, 8),
                )
            )
        ExpertProfile.objects.bulk_create(profiles)
        ExpertProfile.diseases.through.objects.bulk_create(
            ExpertProfile.diseases.through(
                expertprofile_id=profile.pk, disease_id=self.net.diseases[icd].pk
            )
            for profile, draft in zip(profiles, experts, strict=True)
            for icd in dict.fromkeys(draft.diseases)
        )
        by_place: dict[tuple[int, str], list[int]] = {}
        for profile, draft in zip(profiles, experts, strict=True):
            for code in draft.specialties:
                key = (draft.practitioner.institution_id, code)
                by_place.setdefault(key, []).append(profile.pk)
        return by_place


def build_staff(net: Net, rng: random.Random) -> None:
    builder = StaffBuilder(net, rng)
    senior = (Title.CHIEF_PHYSICIAN, Title.ASSOCIATE_CHIEF)
    junior = (Title.ATTENDING, Title.RESIDENT)
    for code in medicine.PROVINCE_EXPERT_SPECIALTIES:
        for title in senior:
            builder.add(net.province, code, title, expert=True)
        for title in junior:
            builder.add(net.province, code, title)
    for code in ("general-practice", "tcm"):
        builder.add(net.province, code, Title.CHIEF_PHYSICIAN)
        builder.add(net.province, code, Title.ATTENDING)
    for city in net.cities.values():
        for code in medicine.CITY_EXPERT_SPECIALTIES:
            builder.add(city, code, rng.choice(senior), expert=True)
        builder.add(city, rng.choice(medicine.PROVINCE_EXPERT_SPECIALTIES), Title.ATTENDING)
    for partner in net.externals:
        for code in ("cardiology", "oncology", "radiology", "pathology"):
            builder.add(partner, code, Title.CHIEF_PHYSICIAN, expert=True)
    for county in net.counties:
        tcm = county.code.endswith("-TCM")
        departments = medicine.COUNTY_TCM_DEPARTMENTS if tcm else medicine.COUNTY_DEPARTMENTS
        staffed = 6 if county.code == DEMO_COUNTY else 1 if tcm else rng.choice((1, 2, 2))
        for code in rng.sample(departments, min(staffed, len(departments))):
            title = (
                Title.TECHNICIAN
                if code == "electrocardiography"
                else rng.choice((Title.ASSOCIATE_CHIEF, Title.ATTENDING, Title.ATTENDING))
            )
            builder.add(county, code, title)
    for township in net.townships:
        builder.add(township, "general-practice", rng.choice(junior))
    for persona in PERSONAS:
        builder.add_persona(persona)
    experts = builder.save()
    build_pools(net, experts)


POOL_WORDS = {
    ExpertPool.Service.ECG: ("心电诊断资源池", "ECG reading pool"),
    ExpertPool.Service.IMAGING: ("影像诊断资源池", "Imaging reading pool"),
    ExpertPool.Service.PATHOLOGY: ("病理诊断资源池", "Pathology reading pool"),
}


def build_pools(net: Net, experts: dict[tuple[int, str], list[int]]) -> None:
    """Each county hospital reads through its city sub-centre and the province centre;
    townships send ECGs only, to the same two."""
    owners: list[tuple[Institution, Institution, tuple[ExpertPool.Service, ...]]] = []
    for county in net.counties:
        city = net.cities[net.home[county.pk][0].code]
        owners.append((county, city, tuple(POOL_WORDS)))
    for township in net.townships:
        city = net.cities[net.home[township.parent_id][0].code]  # type: ignore[index]
        owners.append((township, city, (ExpertPool.Service.ECG,)))
    pools, members = [], []
    for owner, city, services in owners:
        for service in services:
            words, words_en = POOL_WORDS[service]
            pool = ExpertPool(
                owner=owner,
                service=service,
                name=f"{owner.name}{words}",
                name_en=f"{words_en} of {owner.name_en}",
            )
            pools.append(pool)
            members.append((pool, [city, net.province], medicine.SERVICE_SPECIALTY[service]))
    ExpertPool.objects.bulk_create(pools)
    ExpertPool.member_institutions.through.objects.bulk_create(
        ExpertPool.member_institutions.through(expertpool_id=pool.pk, institution_id=inst.pk)
        for pool, institutions, _code in members
        for inst in institutions
    )
    ExpertPool.member_experts.through.objects.bulk_create(
        ExpertPool.member_experts.through(expertpool_id=pool.pk, expertprofile_id=expert_id)
        for pool, institutions, code in members
        for inst in institutions
        for expert_id in experts.get((inst.pk, code), [])
    )


def persona_practitioner(username: str) -> Practitioner | None:
    """The practitioner behind a demo account, made again if it was deleted."""
    persona = next((p for p in PERSONAS if p.username == username), None)
    if persona is None:
        return None
    institution = Institution.objects.get(code=persona.institution)
    found = Practitioner.objects.filter(institution=institution, name=persona.name).first()
    if found is not None:
        return found
    department = Department.objects.filter(
        institution=institution, code=persona.department or ""
    ).first()
    practitioner = Practitioner.objects.create(
        institution=institution,
        department=department,
        name=persona.name,
        name_en=persona.name_en,
        title=persona.title,
    )
    practitioner.specialties.set(Specialty.objects.filter(code__in=persona.specialties))
    if persona.expert:
        ExpertProfile.objects.create(
            practitioner=practitioner,
            summary="主任医师，从事心血管内科临床工作25年。",
            summary_en="Chief physician, 25 years in cardiology.",
        )
    return practitioner
