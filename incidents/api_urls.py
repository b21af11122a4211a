from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter()
router.register("teams", api.TeamApi)
router.register("services", api.ServiceApi)
router.register("products", api.ProductApi)

urlpatterns = [
    path("incidents/", api.IncidentListCreateApi.as_view(), name="api-incidents"),
    path("incidents/<str:key>/", api.IncidentDetailApi.as_view(), name="api-incident"),
    path("incidents/<str:key>/claim/", api.IncidentClaimApi.as_view(), name="api-incident-claim"),
    path(
        "incidents/<str:key>/transition/",
        api.IncidentTransitionApi.as_view(),
        name="api-incident-transition",
    ),
    path(
        "incidents/<str:key>/timeline/",
        api.IncidentTimelineApi.as_view(),
        name="api-incident-timeline",
    ),
    path("", include(router.urls)),
]
