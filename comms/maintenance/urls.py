"""Included by ``comms.urls``: names live in the ``comms`` namespace."""

from django.urls import path

from . import public, views

urlpatterns = [
    path("comms/maintenances/", views.maintenance_list, name="maintenances"),
    path("comms/maintenances/new/", views.maintenance_create, name="maintenance_create"),
    path("comms/maintenances/<int:pk>/", views.maintenance_detail, name="maintenance"),
    path(
        "comms/maintenances/<int:pk>/cancel/",
        views.maintenance_cancel,
        name="maintenance_cancel",
    ),
    # Statuspage's public JSON, beside the other /api/v2/ documents.
    path(
        "api/v2/scheduled-maintenances.json",
        public.api_all,
        name="api_v2_scheduled_maintenances",
    ),
    path(
        "api/v2/scheduled-maintenances/upcoming.json",
        public.api_upcoming,
        name="api_v2_scheduled_maintenances_upcoming",
    ),
    path(
        "api/v2/scheduled-maintenances/active.json",
        public.api_active,
        name="api_v2_scheduled_maintenances_active",
    ),
]
