from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import DefaultRouter

from incidents import api

router = DefaultRouter()
router.register("teams", api.TeamApi)
router.register("services", api.ServiceApi)
router.register("products", api.ProductApi)

urlpatterns: list[URLPattern | URLResolver] = [
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
    path("incidents/<str:key>/roles/", api.IncidentRolesApi.as_view(), name="api-incident-roles"),
    path(
        "incidents/<str:key>/roles/<int:pk>/hand-over/",
        api.RoleHandOverApi.as_view(),
        name="api-role-hand-over",
    ),
    path(
        "incidents/<str:key>/roles/<int:pk>/release/",
        api.RoleReleaseApi.as_view(),
        name="api-role-release",
    ),
    path("", include(router.urls)),
]
