"""FHIR resources as an external HIS sends them (synthetic patients)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from telemed.consultations.fhir import EXT_CONSENT, EXT_NOTE_KIND, SPECIALTY
from telemed.fhir.systems import RESIDENT_ID, mrn_system
from telemed.patients.identifiers import make


def patient(
    record: str = "H-0001",
    name: str = "王淑芬",
    *,
    code: str = "COUNTY_A",
    resident: bool = True,
    birth: str = "1958-03-09",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": mrn_system(code), "value": record}],
        "name": [
            {"use": "official", "family": name[0], "given": [name[1:]]},
            {"use": "usual", "text": "Wang Shufen"},
        ],
        "gender": "female",
        "birthDate": birth,
        "telecom": [{"system": "phone", "value": "13800000000"}],
        "address": [{"text": "河南省安阳县城关镇"}],
    }
    if resident:
        data["identifier"].append(
            {
                "system": RESIDENT_ID,
                "value": make("410522", dt.date.fromisoformat(birth), int(record[-3:])),
            }
        )
    return data


def service_request(subject: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "subject": {"reference": subject},
        "category": [
            {"coding": [{"system": "urn:telemed:consultation-kind", "code": "multidisciplinary"}]}
        ],
        "performerType": {"coding": [{"system": SPECIALTY, "code": "cardiology"}]},
        "note": [
            {
                "text": "胸闷两周，活动后加重。",
                "extension": [{"url": EXT_NOTE_KIND, "valueCode": "clinical-summary"}],
            },
            {
                "text": "是否需要冠脉造影？",
                "extension": [{"url": EXT_NOTE_KIND, "valueCode": "question"}],
            },
        ],
        "extension": [{"url": EXT_CONSENT, "valueBoolean": True}],
    }


def task(focus: str, subject: str, status: str = "requested") -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "status": status,
        "intent": "order",
        "focus": {"reference": focus},
        "for": {"reference": subject},
    }


def consultation_bundle(record: str = "H-0001", name: str = "王淑芬") -> dict[str, Any]:
    p, s, t = (
        "urn:uuid:0f0e9a52-0000-4000-8000-000000000001",
        "urn:uuid:0f0e9a52-0000-4000-8000-000000000002",
        "urn:uuid:0f0e9a52-0000-4000-8000-000000000003",
    )
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            # The Task first: the server orders creates by their references.
            {"fullUrl": t, "resource": task(s, p), "request": {"method": "POST", "url": "Task"}},
            {
                "fullUrl": p,
                "resource": patient(record, name),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": s,
                "resource": service_request(p),
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
        ],
    }
