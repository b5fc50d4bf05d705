"""API routes for a case's files, video and documents (attachments, video rooms, PDF)."""

from ninja import Router

router = Router(tags=["consultations"])
