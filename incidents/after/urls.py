"""Cleanup tasks and the review, in the ``incidents`` namespace (see config/urls.py)."""

from django.urls import path

from incidents.after import views

urlpatterns = [
    path("my-cleanup-tasks/", views.my_cleanup_tasks, name="my_cleanup"),
    path("<str:key>/cleanup/", views.cleanup_add, name="cleanup_add"),
    path("<str:key>/cleanup/<int:pk>/done/", views.cleanup_done, name="cleanup_done"),
    path("<str:key>/review/", views.incident_review, name="review"),
    path("<str:key>/review/start/", views.review_start, name="review_start"),
    path("<str:key>/review/complete/", views.review_complete, name="review_complete"),
    path("<str:key>/review/export.md", views.review_export, name="review_export"),
]
