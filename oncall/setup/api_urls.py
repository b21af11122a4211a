"""Team set-up API routes, under /api/oncall/ (``oncall/api_urls.py`` adds them)."""

from django.urls import path

from . import api

urlpatterns = [
    path("teams/", api.TeamListApi.as_view(), name="api-oncall-teams"),
    path("teams/<slug:slug>/", api.TeamDetailApi.as_view(), name="api-oncall-team"),
    path("teams/<slug:slug>/admins/", api.TeamAdminsApi.as_view(), name="api-oncall-team-admins"),
    path(
        "teams/<slug:slug>/chat-webhook/",
        api.TeamChatWebhookApi.as_view(),
        name="api-oncall-team-chat",
    ),
    path(
        "teams/<slug:slug>/webhooks/",
        api.TeamWebhookListApi.as_view(),
        name="api-oncall-team-webhooks",
    ),
    path(
        "teams/<slug:slug>/webhooks/<int:pk>/",
        api.TeamWebhookApi.as_view(),
        name="api-oncall-team-webhook",
    ),
    path(
        "teams/<slug:slug>/distribution-lists/",
        api.TeamDistributionListListApi.as_view(),
        name="api-oncall-team-distribution-lists",
    ),
    path(
        "teams/<slug:slug>/distribution-lists/<int:pk>/",
        api.TeamDistributionListApi.as_view(),
        name="api-oncall-team-distribution-list",
    ),
    path(
        "teams/<slug:slug>/members/", api.TeamMembersApi.as_view(), name="api-oncall-team-members"
    ),
    path(
        "teams/<slug:slug>/rosters/", api.TeamRostersApi.as_view(), name="api-oncall-team-rosters"
    ),
    path(
        "teams/<slug:slug>/escalation-policy/",
        api.EscalationPolicyApi.as_view(),
        name="api-oncall-escalation-policy",
    ),
    path(
        "teams/<slug:slug>/escalation-policy/preview/",
        api.EscalationPreviewApi.as_view(),
        name="api-oncall-escalation-preview",
    ),
    path(
        "rosters/<slug:slug>/archive/",
        api.RosterArchiveApi.as_view(),
        name="api-oncall-roster-archive",
    ),
    path(
        "rosters/<slug:slug>/restore/",
        api.RosterRestoreApi.as_view(),
        name="api-oncall-roster-restore",
    ),
]
