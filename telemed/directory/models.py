"""The network: regions, institutions in four tiers, departments, practitioners, experts,
rooms and expert resource pools. Directory data is not patient data and is not scoped."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from telemed.core.i18n import BilingualName


class Region(BilingualName):
    """An administrative division. ``path`` holds the codes from the root down, so that a
    region's subtree is one indexed prefix match (``/410000/410100/``)."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County")
        TOWNSHIP = "township", _("Township")

    code = models.CharField(_("code"), max_length=12, unique=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False)

    class Meta:
        ordering = ["path"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def save(self, *args: Any, **kwargs: Any) -> None:
        prefix = self.parent.path if self.parent_id and self.parent else "/"
        self.path = f"{prefix}{self.code}/"
        super().save(*args, **kwargs)


class Tier(models.TextChoices):
    PROVINCE_CENTRE = "province", _("Province centre")
    CITY_SUBCENTRE = "city", _("City sub-centre")
    COUNTY_HOSPITAL = "county", _("County hospital")
    TOWNSHIP_CLINIC = "township", _("Township health centre")
    VILLAGE_CLINIC = "village", _("Village clinic")
    EXTERNAL_PARTNER = "external", _("External partner")


class Institution(BilingualName):
    code = models.CharField(_("code"), max_length=32, unique=True)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent institution"),
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="institutions"
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    active = models.BooleanField(_("active"), default=True)
    joined_on = models.DateField(_("joined on"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")


class Specialty(BilingualName):
    """A clinical specialty (cardiology, radiology, ...): what departments and experts are."""

    code = models.SlugField(_("code"), max_length=40, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")


class Disease(BilingualName):
    icd10 = models.CharField(_("ICD-10 code"), max_length=10, unique=True)
    specialty = models.ForeignKey(
        Specialty, on_delete=models.SET_NULL, null=True, blank=True, related_name="diseases"
    )

    class Meta:
        ordering = ["icd10"]
        verbose_name = _("disease")
        verbose_name_plural = _("diseases")


class Department(BilingualName):
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="departments"
    )
    specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, null=True, blank=True, related_name="departments"
    )
    code = models.SlugField(_("code"), max_length=40)

    class Meta:
        ordering = ["institution__code", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "code"], name="department_code_per_institution"
            )
        ]
        verbose_name = _("department")
        verbose_name_plural = _("departments")


class Title(models.TextChoices):
    CHIEF_PHYSICIAN = "chief", _("Chief physician (主任医师)")
    ASSOCIATE_CHIEF = "associate_chief", _("Associate chief physician (副主任医师)")
    ATTENDING = "attending", _("Attending physician (主治医师)")
    RESIDENT = "resident", _("Resident physician (住院医师)")
    CHIEF_PHARMACIST = "chief_pharmacist", _("Chief pharmacist (主任药师)")
    PHARMACIST = "pharmacist", _("Pharmacist (药师)")
    TECHNICIAN = "technician", _("Technician (技师)")
    NURSE = "nurse", _("Nurse (护士)")


class Practitioner(models.Model):
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="practitioners"
    )
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="practitioners"
    )
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=20, choices=Title.choices)
    specialties = models.ManyToManyField(Specialty, blank=True, related_name="practitioners")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["institution__code", "name"]
        indexes = [models.Index(fields=["name"])]
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_title_display()})"


class ExpertProfile(models.Model):
    """What makes a practitioner bookable as an expert: the diseases taken, a summary."""

    practitioner = models.OneToOneField(
        Practitioner, on_delete=models.CASCADE, related_name="expert_profile"
    )
    diseases = models.ManyToManyField(Disease, blank=True, related_name="experts")
    summary = models.TextField(_("summary"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    accepting = models.BooleanField(_("accepting cases"), default=True)
    daily_capacity = models.PositiveSmallIntegerField(_("cases a day"), default=8)

    class Meta:
        ordering = ["practitioner__name"]
        verbose_name = _("expert profile")
        verbose_name_plural = _("expert profiles")

    def __str__(self) -> str:
        return str(self.practitioner)


class ConsultationRoom(BilingualName):
    class Kind(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation room")
        IMAGING = "imaging", _("Imaging reading room")
        PATHOLOGY = "pathology", _("Pathology reading room")
        ECG = "ecg", _("ECG reading room")
        EDUCATION = "education", _("Education studio")

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="rooms")
    code = models.SlugField(_("code"), max_length=40)
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.CONSULTATION
    )
    capacity = models.PositiveSmallIntegerField(_("seats"), default=6)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["institution__code", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "code"], name="room_code_per_institution"
            )
        ]
        verbose_name = _("consultation room")
        verbose_name_plural = _("consultation rooms")


class ExpertPool(BilingualName):
    """An institution's configured pool of expert institutions and experts for one service
    (ECG reading pushes each new tracing to every expert of the requesting site's pool)."""

    class Service(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation")
        IMAGING = "imaging", _("Imaging")
        PATHOLOGY = "pathology", _("Pathology")
        ECG = "ecg", _("ECG")

    owner = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="expert_pools")
    service = models.CharField(_("service"), max_length=20, choices=Service.choices)
    member_institutions = models.ManyToManyField(
        Institution, blank=True, related_name="pool_memberships"
    )
    member_experts = models.ManyToManyField(
        ExpertProfile, blank=True, related_name="pool_memberships"
    )

    class Meta:
        ordering = ["owner__code", "service"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "service"], name="one_pool_per_service")
        ]
        verbose_name = _("expert resource pool")
        verbose_name_plural = _("expert resource pools")
