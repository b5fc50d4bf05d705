"""Every error of the FHIR API is an OperationOutcome with the status that fits it."""

from __future__ import annotations

from typing import Any

from telemed.core.errors import DomainError

# OperationOutcome.issue.code for each of our domain error codes.
_ISSUE_CODES = {
    "not_found": "not-found",
    "forbidden": "forbidden",
    "conflict": "conflict",
    "invalid_transition": "business-rule",
    "possible_duplicate": "duplicate",
    "validation_failed": "invalid",
    "invalid": "invalid",
}


class FhirError(Exception):
    """An answer other than success: ``status``, an issue ``code`` from FHIR's IssueType,
    the sentence for a person (already translated), and where (``expression``)."""

    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        *,
        expression: list[str] | None = None,
        headers: dict[str, str] | None = None,
        issues: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression or []
        self.headers = headers or {}
        self.extra_issues = issues or []

    def outcome(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "severity": "error",
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = self.expression
        return {"resourceType": "OperationOutcome", "issue": [issue, *self.extra_issues]}

    def at(self, where: str) -> FhirError:
        """The same error, located in a transaction entry (``Bundle.entry[1]``)."""
        self.expression = [where, *self.expression]
        return self


def from_domain(error: DomainError, *, where: str = "") -> FhirError:
    """A service's typed error as an OperationOutcome; field errors become extra issues."""
    code = _ISSUE_CODES.get(error.code, "processing")
    fields = error.details.get("fields")
    extra: list[dict[str, Any]] = []
    if isinstance(fields, dict):
        for name, problem in fields.items():
            extra.append(
                {
                    "severity": "error",
                    "code": code,
                    "diagnostics": f"{name}: {problem}",
                    "expression": [f"{where}.{name}" if where else str(name)],
                }
            )
    elif isinstance(fields, list):
        extra.extend(
            {"severity": "error", "code": code, "diagnostics": str(name)} for name in fields
        )
    return FhirError(
        error.status,
        code,
        error.message,
        expression=[where] if where else None,
        issues=extra,
    )


def outcome_ok(message: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": message}],
    }


# The issue type of a refusal made at the platform's border, before the FHIR views run.
_BORDER_CODES = {413: "too-costly", 400: "invalid"}


def border_outcome(status: int, refusal: dict[str, Any]) -> tuple[str, bytes]:
    """A border refusal (a body over the limit, a NUL character) as an OperationOutcome;
    registered for /fhir with ``telemed.core.body_limits.register_renderer``."""
    import json

    error = FhirError(status, _BORDER_CODES.get(status, "processing"), str(refusal["message"]))
    return "application/fhir+json", json.dumps(error.outcome()).encode()
