from django.urls import path

from incidents.workspace import api

urlpatterns = [
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
    path(
        "incidents/<str:key>/changes/", api.IncidentChangesApi.as_view(), name="api-changes-table"
    ),
    path(
        "incidents/<str:key>/changes/<int:pk>/undo/",
        api.IncidentChangeUndoApi.as_view(),
        name="api-change-undo",
    ),
    path("incidents/<str:key>/theories/", api.TheoriesApi.as_view(), name="api-theories"),
    path(
        "incidents/<str:key>/theories/<int:pk>/decide/",
        api.TheoryDecideApi.as_view(),
        name="api-theory-decide",
    ),
    path("incidents/<str:key>/experiments/", api.ExperimentsApi.as_view(), name="api-experiments"),
    path("incidents/<str:key>/workstreams/", api.WorkstreamsApi.as_view(), name="api-workstreams"),
    path(
        "incidents/<str:key>/workstreams/<int:pk>/",
        api.WorkstreamApi.as_view(),
        name="api-workstream",
    ),
    path(
        "incidents/<str:key>/timeline/<int:pk>/",
        api.TimelineEntryApi.as_view(),
        name="api-timeline-entry",
    ),
    path("incidents/<str:key>/fatigue/", api.FatigueApi.as_view(), name="api-fatigue"),
    path("incidents/<str:key>/breaks/", api.BreakApi.as_view(), name="api-breaks"),
]
