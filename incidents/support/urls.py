from django.urls import path

from incidents.support import board, views

app_name = "support"

urlpatterns = [
    path("", board.support_dashboard, name="dashboard"),
    path("board/", board.dashboard_board, name="board"),
    path("label/", views.dashboard_label, name="label"),
    path("cases/", views.case_list, name="cases"),
    path("cases/<int:pk>/unlabel/", views.case_unlabel, name="unlabel"),
    path("cases/<int:pk>/relabel/", views.case_relabel, name="relabel"),
    path("cases/<int:pk>/history/", views.case_history, name="case_history"),
    path("incidents/<str:key>/cases/", views.incident_cases, name="incident_cases"),
    path(
        "incidents/<str:key>/label-history/",
        views.incident_label_history,
        name="incident_label_history",
    ),
    path("metrics/", views.metrics_page, name="metrics"),
    path("metrics.csv", views.metrics_csv, name="metrics_csv"),
    path("follow-up/<str:key>/", views.follow_up_preview, name="follow_up"),
]
