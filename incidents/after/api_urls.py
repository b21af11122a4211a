from django.urls import path

from incidents.after import api

urlpatterns = [
    path(
        "incidents/<str:key>/cleanup-tasks/",
        api.CleanupTasksApi.as_view(),
        name="api-cleanup-tasks",
    ),
    path(
        "incidents/<str:key>/cleanup-tasks/<int:pk>/done/",
        api.CleanupTaskDoneApi.as_view(),
        name="api-cleanup-task-done",
    ),
    path("incidents/<str:key>/review/", api.ReviewApi.as_view(), name="api-review"),
    path(
        "incidents/<str:key>/review/complete/",
        api.ReviewCompleteApi.as_view(),
        name="api-review-complete",
    ),
]
