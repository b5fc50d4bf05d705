"""Operator screens of the exchange hub: member systems (who is sending), subscriptions, the
HL7 message log, and the outbox with its delivery log and the "retry" action for dead
letters. The log and the outbox hold patient data, so they are read through the same scope
as every other screen and cannot be edited here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from telemed.accounts.models import User
from telemed.audit import services as audit
from telemed.audit.models import Action
from telemed.core.errors import DomainError
from telemed.exchange import codes, queries, services
from telemed.exchange.models import (
    CodeMapping,
    DeliveryAttempt,
    DeliveryState,
    InboundMessage,
    MemberSystem,
    OutboundMessage,
    Subscription,
    UnmappedCode,
)


def _user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


class ReadOnly(admin.ModelAdmin):
    """A screen over rows that hold patient data: nothing is edited, and opening or listing
    them is audited like reading a patient."""

    audited_as = ""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if self.audited_as and request.method == "GET" and response.status_code == 200:
            audit.record(
                _user(request),
                Action.SEARCH,
                object_type=self.audited_as,
                detail={"query": request.GET.get("q", "")[:100], "via": "admin"},
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if self.audited_as and request.method == "GET" and response.status_code == 200:
            patient_id = getattr(self.get_object(request, object_id), "patient_id", None)
            audit.record(
                _user(request),
                Action.READ,
                object_type=self.audited_as,
                object_id=object_id,
                patient_id=patient_id,
                detail={"via": "admin"},
            )
        return response


@admin.register(MemberSystem)
class MemberSystemAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "institution",
        "sending_application",
        "sending_facility",
        "accepts_orders",
        "submit_orders",
        "active",
    ]
    list_filter = ["active", "accepts_orders"]
    search_fields = ["name", "sending_application", "sending_facility", "institution__code"]
    fields = [
        "name",
        "institution",
        "sending_application",
        "sending_facility",
        "accepts_orders",
        "submit_orders",
        "active",
        "service_user",
    ]
    readonly_fields = ["service_user"]
    autocomplete_fields = ["institution"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The system acts as its institution: moving it to another would hand the old
        # institution's patients to the new one's sender.
        return ["service_user", "institution"] if obj is not None else ["service_user"]

    def save_model(
        self, request: HttpRequest, obj: MemberSystem, form: ModelForm[MemberSystem], change: bool
    ) -> None:
        if not change:
            obj.service_user = services.service_user_for(obj.institution)
        super().save_model(request, obj, form, change)


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = [
            "member_system",
            "transport",
            "endpoint",
            "authorization",
            "receiving_application",
            "receiving_facility",
            "active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["endpoint"] = services.validate_endpoint(
                data.get("transport", ""), data.get("endpoint", "")
            )
        except DomainError as exc:
            self.add_error("endpoint", exc.message)
        return data


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["member_system", "transport", "endpoint", "active", "created_at"]
    list_filter = ["transport", "active"]
    fields = [
        "member_system",
        "transport",
        "endpoint",
        "authorization",
        "receiving_application",
        "receiving_facility",
        "active",
    ]


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnly):
    audited_as = "hl7_message"
    list_display = [
        "received_at",
        "sending_application",
        "sending_facility",
        "control_id",
        "message_type",
        "outcome",
        "times_received",
    ]
    list_filter = ["outcome", "message_type"]
    search_fields = ["=control_id", "sending_application"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "received_at",
        "member_system",
        "sending_application",
        "sending_facility",
        "control_id",
        "message_type",
        "charset",
        "outcome",
        "error",
        "times_received",
        "patient_id",
        "consultation_id",
        "raw",
        "ack",
    ]
    fields = list(readonly_fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMessage]:
        return queries.message_log(_user(request))


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "at", "succeeded", "status", "response"]
    fields = list(readonly_fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryAttempt]:
        return queries.delivery_log(_user(request))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnly):
    audited_as = "outbound_message"
    list_display = [
        "created_at",
        "subscription",
        "event_key",
        "state",
        "attempts",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["state", "subscription__transport"]
    search_fields = ["=idempotency_key", "=event_key"]
    readonly_fields = [
        "subscription",
        "event_key",
        "idempotency_key",
        "consultation_id",
        "conclusion_id",
        "state",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
        "content_type",
        "payload",
    ]
    fields = list(readonly_fields)
    inlines = [AttemptInline]
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboundMessage]:
        return queries.outbox(_user(request))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The retry action needs change permission; the fields stay read-only.
        return admin.ModelAdmin.has_change_permission(self, request, obj)

    @admin.action(description=_("Retry delivery now"))
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        user = _user(request)
        if user is None:
            return
        ids = list(queryset.exclude(state=DeliveryState.DELIVERED).values_list("pk", flat=True))
        count = services.retry_deliveries(user, ids)
        self.message_user(
            request,
            ngettext(
                "%(count)d message will be delivered again.",
                "%(count)d messages will be delivered again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


class CodeMappingForm(forms.ModelForm):
    class Meta:
        model = CodeMapping
        fields = [
            "institution",
            "kind",
            "local_code",
            "local_name",
            "standard_code",
            "standard_name",
            "factor",
            "offset",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problems = codes.check(
            data.get("kind", ""),
            data.get("local_code", ""),
            data.get("standard_code", ""),
            data.get("factor", 1.0),
            data.get("offset", 0.0),
        )
        for field, problem in problems.items():
            self.add_error(field if field in self.fields else None, problem)
        return data


@admin.register(CodeMapping)
class CodeMappingAdmin(admin.ModelAdmin):
    """Add a mapping from the queue's "map" link: the form arrives filled with the code."""

    form = CodeMappingForm

    list_display = ["institution", "kind", "local_code", "local_name", "standard_code", "factor"]
    list_filter = ["kind"]
    search_fields = ["local_code", "local_name", "standard_code", "institution__code"]
    fields = [
        "institution",
        "kind",
        "local_code",
        "local_name",
        "standard_code",
        "standard_name",
        "factor",
        "offset",
    ]
    autocomplete_fields = ["institution"]

    def save_model(
        self, request: HttpRequest, obj: CodeMapping, form: ModelForm[CodeMapping], change: bool
    ) -> None:
        user = _user(request)
        if user is None:
            return
        saved = codes.map_code(
            user,
            obj.institution,
            obj.kind,
            obj.local_code,
            obj.standard_code,
            obj.standard_name,
            local_name=obj.local_name,
            factor=obj.factor,
            offset=obj.offset,
        )
        obj.pk = saved.pk


@admin.register(UnmappedCode)
class UnmappedCodeAdmin(ReadOnly):
    """The operator's queue of local codes met without a mapping."""

    list_display = [
        "institution",
        "kind",
        "local_code",
        "local_name",
        "times_seen",
        "last_seen",
        "resolved_at",
        "map_link",
    ]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["local_code", "local_name", "institution__code"]
    readonly_fields = [
        "institution",
        "kind",
        "local_code",
        "local_name",
        "times_seen",
        "first_seen",
        "last_seen",
        "example",
        "mapping",
        "resolved_at",
    ]
    fields = list(readonly_fields)

    @admin.display(description=_("map"))
    def map_link(self, obj: UnmappedCode) -> str:
        if obj.resolved_at is not None:
            return "-"
        query = urlencode(
            {
                "institution": str(obj.institution_id),
                "kind": obj.kind,
                "local_code": obj.local_code,
                "local_name": obj.local_name,
            }
        )
        url = reverse("admin:exchange_codemapping_add")
        return format_html('<a href="{}?{}">{}</a>', url, query, _("Map this code"))
