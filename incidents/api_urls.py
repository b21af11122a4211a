from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import api, support_api
from . import workspace_api as ws

router = DefaultRouter()
router.register("teams", api.TeamApi)
router.register("services", api.ServiceApi)
router.register("products", api.ProductApi)

urlpatterns = [
    path("cases/", support_api.CaseListUpsertApi.as_view(), name="api-cases"),
    path(
        "incidents/<str:key>/cases/",
        support_api.IncidentCasesApi.as_view(),
        name="api-incident-cases",
    ),
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
    path(
        "incidents/<str:key>/assessments/",
        api.IncidentAssessmentsApi.as_view(),
        name="api-incident-assessments",
    ),
    path("changes/", api.ServiceChangeReportApi.as_view(), name="api-changes"),
    path(
        "incidents/<str:key>/nearby-changes/",
        api.IncidentNearbyChangesApi.as_view(),
        name="api-incident-nearby-changes",
    ),
    path(
        "incidents/<str:key>/nearby-changes/<int:pk>/suspect/",
        api.ServiceChangeSuspectApi.as_view(),
        name="api-service-change-suspect",
    ),
    path(
        "incidents/<str:key>/nearby-changes/<int:pk>/rollback/",
        api.ServiceChangeRollbackApi.as_view(),
        name="api-service-change-rollback",
    ),
    path("incidents/<str:key>/changes/", ws.IncidentChangesApi.as_view(), name="api-changes-table"),
    path(
        "incidents/<str:key>/changes/<int:pk>/undo/",
        ws.IncidentChangeUndoApi.as_view(),
        name="api-change-undo",
    ),
    path("incidents/<str:key>/theories/", ws.TheoriesApi.as_view(), name="api-theories"),
    path(
        "incidents/<str:key>/theories/<int:pk>/decide/",
        ws.TheoryDecideApi.as_view(),
        name="api-theory-decide",
    ),
    path("incidents/<str:key>/experiments/", ws.ExperimentsApi.as_view(), name="api-experiments"),
    path("incidents/<str:key>/workstreams/", ws.WorkstreamsApi.as_view(), name="api-workstreams"),
    path(
        "incidents/<str:key>/workstreams/<int:pk>/",
        ws.WorkstreamApi.as_view(),
        name="api-workstream",
    ),
    path(
        "incidents/<str:key>/timeline/<int:pk>/",
        ws.TimelineEntryApi.as_view(),
        name="api-timeline-entry",
    ),
    path(
        "incidents/<str:key>/cleanup-tasks/",
        ws.CleanupTasksApi.as_view(),
        name="api-cleanup-tasks",
    ),
    path(
        "incidents/<str:key>/cleanup-tasks/<int:pk>/done/",
        ws.CleanupTaskDoneApi.as_view(),
        name="api-cleanup-task-done",
    ),
    path("incidents/<str:key>/review/", ws.ReviewApi.as_view(), name="api-review"),
    path(
        "incidents/<str:key>/review/complete/",
        ws.ReviewCompleteApi.as_view(),
        name="api-review-complete",
    ),
    path("incidents/<str:key>/fatigue/", ws.FatigueApi.as_view(), name="api-fatigue"),
    path("incidents/<str:key>/breaks/", ws.BreakApi.as_view(), name="api-breaks"),
    path("", include(router.urls)),
]
