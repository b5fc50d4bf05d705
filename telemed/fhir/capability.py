"""The CapabilityStatement at /fhir/metadata, built from the registry: it lists exactly the
types, interactions, search parameters and includes that have code behind them."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from telemed import __version__
from telemed.core import clock
from telemed.fhir.resources import served

# The shapes emitted are R4's: every type served has the same structure in R4 and R4B, and
# nothing R4B-only (e.g. Citation, SubscriptionTopic) is emitted.
FHIR_VERSION = "4.0.1"


def statement(base: str) -> dict[str, Any]:
    resources = []
    for name, kind in served().items():
        entry: dict[str, Any] = {
            "type": name,
            "interaction": [{"code": code} for code in kind.interactions],
            "versioning": "versioned-update" if "update" in kind.interactions else "versioned",
            "readHistory": True,
            "updateCreate": False,
            "conditionalCreate": kind.conditional_create,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchParam": [
                {"name": param, "type": param_type}
                for param, param_type in kind.search_params.items()
            ],
        }
        if kind.includes:
            entry["searchInclude"] = sorted(kind.includes)
        resources.append(entry)
    data = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": clock.now().isoformat(),
        "publisher": "telemed",
        "kind": "instance",
        "software": {"name": "telemed", "version": __version__},
        "implementation": {"description": "telemed FHIR facade", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "application/json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ],
                            "text": "OAuth2 client credentials (bearer tokens); SMART system scopes",
                        }
                    ],
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }
    return dict(CapabilityStatement.model_validate(data).model_dump(mode="json", exclude_none=True))
