"""Team set-up pages, under the ``oncall`` namespace (``oncall/urls.py`` adds them)."""

from django.urls import path

from . import views

urlpatterns = [
    path("teams/", views.team_list, name="teams"),
    path("teams/<slug:slug>/", views.team_detail, name="team"),
    path("teams/<slug:slug>/members/", views.team_members, name="team_members"),
    path("teams/<slug:slug>/admins/", views.team_admins, name="team_admins"),
    path("teams/<slug:slug>/chat/", views.team_chat, name="team_chat"),
    path("teams/<slug:slug>/webhooks/", views.team_webhook_add, name="team_webhook_add"),
    path("teams/<slug:slug>/webhooks/<int:pk>/", views.team_webhook, name="team_webhook"),
    path(
        "teams/<slug:slug>/lists/",
        views.team_distribution_list_add,
        name="team_distribution_list_add",
    ),
    path(
        "teams/<slug:slug>/lists/<int:pk>/",
        views.team_distribution_list,
        name="team_distribution_list",
    ),
    path("teams/<slug:slug>/rosters/", views.team_roster_create, name="team_roster_create"),
    path("teams/<slug:slug>/escalation/", views.escalation_policy, name="escalation"),
    path("rosters/<slug:slug>/archive/", views.roster_archive, name="roster_archive"),
    path("rosters/<slug:slug>/restore/", views.roster_restore, name="roster_restore"),
]
