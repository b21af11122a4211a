from django.urls import path

from . import heartbeat_views, maintenance_views, receivers, views

app_name = "integrations"

# Admin pages, under the on-call area (/oncall/integrations/).
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/rotate/", views.rotate, name="rotate"),
    path("<int:pk>/pause/", views.pause, name="pause"),
    path("<int:pk>/test/", views.test_alert, name="test"),
    path("<int:pk>/storms/", views.storm_threshold, name="storms"),
    path("<int:pk>/heartbeat/", heartbeat_views.edit, name="heartbeat"),
    path("<int:pk>/heartbeat/remove/", heartbeat_views.remove, name="heartbeat_remove"),
    path("incidents/<str:key>/alerts/", views.incident_alerts, name="incident_alerts"),
    path("maintenance/", maintenance_views.index, name="maintenance"),
    path("maintenance/new/", maintenance_views.create, name="maintenance_create"),
    path("maintenance/<int:pk>/end/", maintenance_views.end, name="maintenance_end"),
]

# Where tools send, under /integrations/ (no login: the key authenticates).
receiving = (
    [
        path(
            "alertmanager/<str:key>/",
            receivers.AlertmanagerReceiverApi.as_view(),
            name="alertmanager",
        ),
        # The key in Authorization: Bearer, kept out of URLs and their logs.
        path(
            "alertmanager/",
            receivers.AlertmanagerBearerReceiverApi.as_view(),
            name="alertmanager_bearer",
        ),
        path("generic/<str:key>/", receivers.GenericReceiverApi.as_view(), name="generic"),
        path("generic/", receivers.GenericBearerReceiverApi.as_view(), name="generic_bearer"),
        path("heartbeat/<str:key>/", heartbeat_views.ping, name="heartbeat"),
    ],
    "integrations_in",
)
