from django.urls import path

from . import after_views, document_views, views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_create, name="create"),
    path("similar/", views.incident_similar, name="similar"),
    path("severity-matrix/", views.severity_matrix, name="severity_matrix"),
    path("my-cleanup-tasks/", after_views.my_cleanup_tasks, name="my_cleanup"),
    path("<str:key>/", views.incident_detail, name="detail"),
    path("<str:key>/edit/", views.incident_edit, name="edit"),
    path("<str:key>/claim/", views.incident_claim, name="claim"),
    path("<str:key>/transition/", views.incident_transition, name="transition"),
    path("<str:key>/severity/", views.incident_severity, name="severity"),
    path("<str:key>/timeline/", views.incident_timeline, name="timeline"),
    path("<str:key>/roles/", views.incident_roles, name="roles"),
    path("<str:key>/roles/<int:pk>/hand-over/", views.role_hand_over, name="role_hand_over"),
    path("<str:key>/roles/<int:pk>/release/", views.role_release, name="role_release"),
    path("<str:key>/assessment/", views.incident_assessment, name="assessment"),
    path("<str:key>/breaks/", views.incident_break, name="break"),
    path("<str:key>/document/", document_views.incident_document, name="document"),
    path("<str:key>/document/changes/", document_views.document_change, name="document_change"),
    path(
        "<str:key>/document/changes/<int:pk>/undo/", document_views.change_undo, name="change_undo"
    ),
    path("<str:key>/document/theories/", document_views.document_theory, name="document_theory"),
    path(
        "<str:key>/document/theories/<int:pk>/",
        document_views.theory_decide,
        name="theory_decide",
    ),
    path(
        "<str:key>/document/experiments/",
        document_views.document_experiment,
        name="document_experiment",
    ),
    path("<str:key>/document/workstreams/", document_views.workstream_save, name="workstreams"),
    path(
        "<str:key>/document/workstreams/<int:pk>/",
        document_views.workstream_save,
        name="workstream",
    ),
    path("<str:key>/cleanup/", after_views.cleanup_add, name="cleanup_add"),
    path("<str:key>/cleanup/<int:pk>/done/", after_views.cleanup_done, name="cleanup_done"),
    path("<str:key>/review/", after_views.incident_review, name="review"),
    path("<str:key>/review/start/", after_views.review_start, name="review_start"),
    path("<str:key>/review/complete/", after_views.review_complete, name="review_complete"),
    path("<str:key>/review/export.md", after_views.review_export, name="review_export"),
    path(
        "<str:key>/nearby-changes/<int:pk>/suspect/",
        document_views.service_change_suspect,
        name="service_change_suspect",
    ),
    path(
        "<str:key>/nearby-changes/<int:pk>/rollback/",
        document_views.service_change_rollback,
        name="service_change_rollback",
    ),
    path("<str:key>/timeline/<int:pk>/edit/", document_views.entry_edit, name="entry_edit"),
]
