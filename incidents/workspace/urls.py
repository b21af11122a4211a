"""The response workspace's pages, in the ``incidents`` namespace (see config/urls.py)."""

from django.urls import path

from incidents.workspace import views

urlpatterns = [
    path("<str:key>/assessment/", views.incident_assessment, name="assessment"),
    path("<str:key>/breaks/", views.incident_break, name="break"),
    path("<str:key>/document/", views.incident_document, name="document"),
    path("<str:key>/document/changes/", views.document_change, name="document_change"),
    path("<str:key>/document/changes/<int:pk>/undo/", views.change_undo, name="change_undo"),
    path("<str:key>/document/theories/", views.document_theory, name="document_theory"),
    path(
        "<str:key>/document/theories/<int:pk>/",
        views.theory_decide,
        name="theory_decide",
    ),
    path(
        "<str:key>/document/experiments/",
        views.document_experiment,
        name="document_experiment",
    ),
    path("<str:key>/document/workstreams/", views.workstream_save, name="workstreams"),
    path(
        "<str:key>/document/workstreams/<int:pk>/",
        views.workstream_save,
        name="workstream",
    ),
    path(
        "<str:key>/nearby-changes/<int:pk>/suspect/",
        views.service_change_suspect,
        name="service_change_suspect",
    ),
    path(
        "<str:key>/nearby-changes/<int:pk>/rollback/",
        views.service_change_rollback,
        name="service_change_rollback",
    ),
    path("<str:key>/timeline/<int:pk>/edit/", views.entry_edit, name="entry_edit"),
]
