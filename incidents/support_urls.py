from django.urls import path

from . import dashboard_views, support_views

app_name = "support"

urlpatterns = [
    path("", dashboard_views.support_dashboard, name="dashboard"),
    path("board/", dashboard_views.dashboard_board, name="board"),
    path("label/", support_views.dashboard_label, name="label"),
    path("cases/", support_views.case_list, name="cases"),
    path("cases/<int:pk>/unlabel/", support_views.case_unlabel, name="unlabel"),
    path("cases/<int:pk>/history/", support_views.case_history, name="case_history"),
    path("incidents/<str:key>/cases/", support_views.incident_cases, name="incident_cases"),
    path(
        "incidents/<str:key>/label-history/",
        support_views.incident_label_history,
        name="incident_label_history",
    ),
    path("metrics/", support_views.metrics_page, name="metrics"),
    path("metrics.csv", support_views.metrics_csv, name="metrics_csv"),
    path("follow-up/<str:key>/", support_views.follow_up_preview, name="follow_up"),
]
