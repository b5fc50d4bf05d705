"""The refusals of the ECG readers."""

from __future__ import annotations

from telemed.core.errors import DomainError


class EcgFormatError(DomainError):
    """An upload that is not a readable ECG record. ``message`` says why, for a person.

    422 for an unreadable or invalid record; 413 (``oversized=True``) for one over
    ``ECG_MAX_BYTES``. Raised before anything is stored, so a refusal changes nothing.
    """

    status = 422
    code = "invalid_ecg"

    def __init__(
        self,
        message: str,
        *,
        oversized: bool = False,
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        if oversized:
            self.status = 413
            self.code = "ecg_too_large"
