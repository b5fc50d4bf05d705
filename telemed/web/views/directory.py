from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from telemed.directory import queries
from telemed.directory.models import Institution, Tier
from telemed.web.access import page, render_live
from telemed.web.dashboards import by_tier
from telemed.web.forms import ExpertSearchForm, NetworkForm

PER_PAGE = 25
# The network's own order (province first), not the alphabetical order of the tier codes.
_TIER_ORDER = Case(
    *(When(tier=tier.value, then=Value(index)) for index, tier in enumerate(Tier)),
    output_field=IntegerField(),
)


@page("web:experts")
def experts(request: HttpRequest) -> HttpResponse:
    form = ExpertSearchForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    searched = any(filters.values())
    found = queries.search_experts(
        filters.get("q", ""),
        department=filters.get("department", ""),
        disease=filters.get("disease", ""),
    ).prefetch_related("diseases")
    pager = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "pager": pager, "experts": pager.object_list, "searched": searched}
    return render_live(
        request, "web/directory/experts.html", "web/directory/experts_results.html", context
    )


@page("web:network")
def network(request: HttpRequest) -> HttpResponse:
    form = NetworkForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    found = queries.institutions(tier=filters.get("tier", ""), text=filters.get("q", "")).order_by(
        _TIER_ORDER, "code"
    )
    pager = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "tier": filters.get("tier", ""),
        "tiers": by_tier(Institution.objects.filter(active=True)),
        "pager": pager,
        "institutions": pager.object_list,
    }
    return render(request, "web/directory/network.html", context)


@page("web:institution")
def institution(request: HttpRequest, code: str) -> HttpResponse:
    found = get_object_or_404(
        Institution.objects.select_related("parent", "region"), code=code, active=True
    )
    context = {
        "institution": found,
        # A city sub-centre's counties, a county's township clinics.
        "children": queries.institutions(parent=found.code).order_by(_TIER_ORDER, "code"),
        "departments": found.departments.select_related("specialty"),
        "experts": queries.search_experts(institution=found.code)[:50],
    }
    return render(request, "web/directory/institution.html", context)
