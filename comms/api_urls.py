from django.urls import path

from . import api
from .maintenance import api as maintenance_api

urlpatterns = [
    path(
        "incidents/<str:key>/communications/",
        api.CommunicationListCreateApi.as_view(),
        name="api-comms-incident",
    ),
    path(
        "communications/<int:pk>/", api.CommunicationDetailApi.as_view(), name="api-communication"
    ),
    path(
        "communications/<int:pk>/review/",
        api.CommunicationReviewApi.as_view(),
        name="api-communication-review",
    ),
    path(
        "communications/<int:pk>/publish/",
        api.CommunicationPublishApi.as_view(),
        name="api-communication-publish",
    ),
    path(
        "status-page-incidents/",
        api.StatusPageIncidentListApi.as_view(),
        name="api-status-page-incidents",
    ),
    path(
        "maintenances/",
        maintenance_api.MaintenanceListCreateApi.as_view(),
        name="api-maintenances",
    ),
    path(
        "maintenances/<int:pk>/",
        maintenance_api.MaintenanceDetailApi.as_view(),
        name="api-maintenance",
    ),
    path(
        "maintenances/<int:pk>/cancel/",
        maintenance_api.MaintenanceCancelApi.as_view(),
        name="api-maintenance-cancel",
    ),
    path("components/", api.ComponentListApi.as_view(), name="api-components"),
    path("components/<slug:slug>/", api.ComponentStatusApi.as_view(), name="api-component"),
    path("subscribers/", api.SubscribeApi.as_view(), name="api-subscribe"),
    path("distribution-lists/", api.DistributionListApi.as_view(), name="api-distribution-lists"),
    path(
        "distribution-lists/<int:pk>/",
        api.DistributionListDetailApi.as_view(),
        name="api-distribution-list",
    ),
]
