from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_create, name="create"),
    path("similar/", views.incident_similar, name="similar"),
    path("severity-matrix/", views.severity_matrix, name="severity_matrix"),
    path("<str:key>/", views.incident_detail, name="detail"),
    path("<str:key>/edit/", views.incident_edit, name="edit"),
    path("<str:key>/claim/", views.incident_claim, name="claim"),
    path("<str:key>/transition/", views.incident_transition, name="transition"),
    path("<str:key>/severity/", views.incident_severity, name="severity"),
    path("<str:key>/timeline/", views.incident_timeline, name="timeline"),
]
