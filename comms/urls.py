from django.urls import path

from . import atom, public, views
from .maintenance import urls as maintenance_urls

app_name = "comms"

urlpatterns = [
    # The portal (login).
    path("comms/status/", views.internal_status, name="internal_status"),
    path("comms/incidents/<str:key>/draft/", views.draft_create, name="draft"),
    path("comms/communications/<int:pk>/", views.communication_detail, name="communication"),
    path(
        "comms/communications/<int:pk>/checklist/",
        views.communication_checklist,
        name="checklist",
    ),
    path("comms/communications/<int:pk>/review/", views.communication_review, name="review"),
    # The customers' page (no login).
    path("status/", public.public_status, name="public_status"),
    path("status/feed.atom", atom.status_feed, name="public_feed"),
    path("status/subscribe/", public.public_subscribe, name="subscribe"),
    path("status/confirm/<str:token>/", public.public_confirm, name="confirm"),
    path("status/unsubscribe/<str:token>/", public.public_unsubscribe, name="unsubscribe"),
    # Statuspage-compatible JSON, where status aggregators look for it.
    path("api/v2/status.json", public.api_status, name="api_v2_status"),
    path("api/v2/summary.json", public.api_summary, name="api_v2_summary"),
    path("api/v2/components.json", public.api_components, name="api_v2_components"),
    path("api/v2/incidents/unresolved.json", public.api_unresolved, name="api_v2_unresolved"),
    path("api/v2/incidents.json", public.api_incidents, name="api_v2_incidents"),
    *maintenance_urls.urlpatterns,
]
