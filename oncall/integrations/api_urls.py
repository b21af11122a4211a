from django.urls import path

from . import api, heartbeat_api, maintenance_api

urlpatterns = [
    path("", api.IntegrationListApi.as_view(), name="api-integrations"),
    path("<int:pk>/", api.IntegrationDetailApi.as_view(), name="api-integration"),
    path("<int:pk>/rotate/", api.IntegrationRotateApi.as_view(), name="api-integration-rotate"),
    path(
        "<int:pk>/heartbeat/",
        heartbeat_api.IntegrationHeartbeatApi.as_view(),
        name="api-integration-heartbeat",
    ),
    path("maintenance/", maintenance_api.MaintenanceListApi.as_view(), name="api-maintenance"),
    path(
        "maintenance/<int:pk>/",
        maintenance_api.MaintenanceDetailApi.as_view(),
        name="api-maintenance-window",
    ),
    path(
        "maintenance/<int:pk>/end/",
        maintenance_api.MaintenanceEndApi.as_view(),
        name="api-maintenance-end",
    ),
]
