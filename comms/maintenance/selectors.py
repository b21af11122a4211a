"""Reads of maintenances shared by the portal, the API, the public page and its JSON."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from incidents.models import Product

from ..models import Maintenance, MaintenanceStatus, MaintenanceUpdate

# Statuspage's scheduled-maintenances.json: "the 50 most recent".
RECENT_LIMIT = 50


def products_under_maintenance(product_ids: Iterable[int]) -> set[int]:
    """Which of these products a running maintenance names."""
    return set(
        Maintenance.products.through.objects.filter(
            product_id__in=list(product_ids),
            maintenance__status=MaintenanceStatus.IN_PROGRESS,
        ).values_list("product_id", flat=True)
    )


def _with_relations(maintenances: QuerySet[Maintenance], *, public: bool) -> QuerySet[Maintenance]:
    products = Product.objects.select_related("component").order_by("name")
    if public:
        products = products.filter(shown_on_status_page=True)
    return maintenances.select_related("created_by").prefetch_related(
        Prefetch("products", queryset=products),
        Prefetch(
            "updates",
            queryset=MaintenanceUpdate.objects.select_related("by").order_by("-created_at", "-id"),
        ),
    )


def portal_maintenances() -> dict[str, list[Maintenance]]:
    """The portal's list: running, upcoming (soonest first), and the recent finished ones."""
    rows = list(
        _with_relations(
            Maintenance.objects.filter(
                status__in=[MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS]
            ),
            public=False,
        ).order_by("starts_at", "id")
    )
    finished = _with_relations(
        Maintenance.objects.filter(
            status__in=[MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED]
        ),
        public=False,
    ).order_by("-ends_at", "-id")[:RECENT_LIMIT]
    return {
        "active": [m for m in rows if m.status == MaintenanceStatus.IN_PROGRESS],
        "upcoming": [m for m in rows if m.status == MaintenanceStatus.SCHEDULED],
        "finished": list(finished),
    }


def maintenance(pk: int) -> Maintenance:
    return _with_relations(Maintenance.objects.filter(pk=pk), public=False).get()


def public_maintenances(*statuses: str) -> QuerySet[Maintenance]:
    """Maintenances in these statuses (every one when none is given) as customers see
    them: only the products shown on the public page."""
    rows = Maintenance.objects.all()
    if statuses:
        rows = rows.filter(status__in=statuses)
    return _with_relations(rows, public=True)


def upcoming() -> QuerySet[Maintenance]:
    return public_maintenances(MaintenanceStatus.SCHEDULED).order_by("starts_at", "id")


def active() -> QuerySet[Maintenance]:
    return public_maintenances(MaintenanceStatus.IN_PROGRESS).order_by("starts_at", "id")


def open_maintenances() -> QuerySet[Maintenance]:
    """What summary.json and the status page list: running first, then upcoming
    ("in_progress" sorts before "scheduled")."""
    return public_maintenances(MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.SCHEDULED).order_by(
        "status", "starts_at", "id"
    )


def recent() -> list[Maintenance]:
    return list(public_maintenances().order_by("-starts_at", "-id")[:RECENT_LIMIT])


def all_maintenances() -> QuerySet[Maintenance]:
    """The API's list: every maintenance, the latest start first."""
    return _with_relations(Maintenance.objects.all(), public=False).order_by("-starts_at", "-id")
