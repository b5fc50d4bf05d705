"""Append-only, hash-chained audit events.

Each event stores the hash of its predecessor and its own hash over its content and that
predecessor hash, so that editing, deleting or reordering any event breaks the chain at that
point (``telemed audit verify``). The database also refuses UPDATE and DELETE on the table
(triggers created by the migration), so tampering needs deliberate DDL, which the chain then
exposes. ``AuditChainHead`` is the single row writers lock to append in order.
"""

from __future__ import annotations

import hashlib
import json

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class Action(models.TextChoices):
    READ = "read", _("Read")
    SEARCH = "search", _("Search")
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    LOGIN = "login", _("Sign-in")
    LOGOUT = "logout", _("Sign-out")
    ADMIN = "admin", _("Administration")


class Outcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    DENIED = "denied", _("Denied")
    FAILURE = "failure", _("Failure")


class AuditEvent(models.Model):
    seq = models.PositiveBigIntegerField(_("sequence"), unique=True)
    at = models.DateTimeField(_("time"), db_index=True)
    actor_id = models.BigIntegerField(_("actor ID"), null=True, blank=True)
    actor = models.CharField(_("actor"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=24, blank=True)
    institution = models.CharField(_("institution"), max_length=32, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object ID"), max_length=80, blank=True)
    patient_id = models.BigIntegerField(_("patient ID"), null=True, blank=True, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    source_ip = models.CharField(_("source address"), max_length=45, blank=True)
    channel = models.CharField(_("channel"), max_length=10, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id} {self.outcome}"

    def content(self) -> str:
        """The canonical text the hash covers: every field but the hashes, fixed order."""
        return json.dumps(
            [
                self.seq,
                self.at.isoformat(timespec="microseconds"),
                self.actor_id,
                self.actor,
                self.role,
                self.institution,
                self.action,
                self.object_type,
                self.object_id,
                self.patient_id,
                self.outcome,
                self.source_ip,
                self.channel,
                self.detail,
            ],
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )

    def compute_hash(self) -> str:
        return hashlib.sha256((self.prev_hash + self.content()).encode("utf-8")).hexdigest()


class AuditChainHead(models.Model):
    """The chain's tip: last sequence number and hash. Locked by every append."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain at #{self.seq}"
