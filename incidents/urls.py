"""The incident record's pages. ``config/urls.py`` puts the subpackages' pages in the
same ``incidents`` namespace, before these (``<key>/`` would shadow a fixed path)."""

from django.urls import path

from incidents import views

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
    path("<str:key>/roles/", views.incident_roles, name="roles"),
    path("<str:key>/roles/<int:pk>/hand-over/", views.role_hand_over, name="role_hand_over"),
    path("<str:key>/roles/<int:pk>/release/", views.role_release, name="role_release"),
]
