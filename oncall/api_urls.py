from django.urls import path

from . import api
from .personal import api_urls as personal_api_urls
from .setup import api_urls as setup_api_urls

urlpatterns = [
    path("rosters/", api.RosterListApi.as_view(), name="api-oncall-rosters"),
    path("rosters/<slug:slug>/", api.RosterDetailApi.as_view(), name="api-oncall-roster"),
    path(
        "rosters/<slug:slug>/participants/",
        api.RosterParticipantsApi.as_view(),
        name="api-oncall-participants",
    ),
    path(
        "rosters/<slug:slug>/overrides/",
        api.RosterOverridesApi.as_view(),
        name="api-oncall-overrides",
    ),
    path(
        "rosters/<slug:slug>/overrides/<int:pk>/",
        api.OverrideDeleteApi.as_view(),
        name="api-oncall-override",
    ),
    path("now/", api.OnCallNowApi.as_view(), name="api-oncall-now"),
    path("gaps/", api.CoverageGapsApi.as_view(), name="api-oncall-gaps"),
    path("incidents/<str:key>/pages/", api.IncidentPagesApi.as_view(), name="api-oncall-pages"),
    path(
        "pages/<int:pk>/acknowledge/",
        api.PageAcknowledgeApi.as_view(),
        name="api-oncall-acknowledge",
    ),
]

urlpatterns += setup_api_urls.urlpatterns
urlpatterns += personal_api_urls.urlpatterns
