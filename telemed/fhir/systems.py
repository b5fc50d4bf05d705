"""Identifier systems of the facade, beside those of ``telemed.consultations.fhir``."""

from __future__ import annotations

from telemed.consultations.fhir import INSTITUTION_ID, NUMBER, PATIENT_ID, USER_ID

# The resident identity card number (居民身份证号).
RESIDENT_ID = "urn:telemed:resident-id"
# A record number (病案号) at one institution: the system names the institution's code.
MRN_PREFIX = "urn:telemed:mrn:"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
PRACTITIONER_ID = "urn:telemed:practitioner"
ROOM_ID = "urn:telemed:room"

__all__ = [
    "INSTITUTION_ID",
    "MRN_PREFIX",
    "NUMBER",
    "PATIENT_ID",
    "PRACTITIONER_ID",
    "RESIDENT_ID",
    "ROOM_ID",
    "USER_ID",
    "V2_0203",
]


def mrn_system(institution_code: str) -> str:
    return f"{MRN_PREFIX}{institution_code}"
