from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from incidents import api_urls as record_api_urls
from incidents import preferences
from incidents import urls as record_urls
from incidents import views as incident_views
from incidents.after import api_urls as after_api_urls
from incidents.after import urls as after_urls
from incidents.support import api_urls as support_api_urls
from incidents.workspace import api_urls as workspace_api_urls
from incidents.workspace import urls as workspace_urls
from oncall.integrations import receivers as alert_receivers
from oncall.integrations import urls as integration_urls

from .health import healthz

# Styled error pages with the navigation and the reason (config/error_pages.py).
handler403 = "config.error_pages.permission_denied"
handler404 = "config.error_pages.page_not_found"
handler500 = "config.error_pages.server_error"

urlpatterns = [
    path("", incident_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("preferences/language/", preferences.language_switch, name="language_switch"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # One "incidents" namespace for the record and its subpackages; the subpackages
    # first, so the record's "<key>/" never shadows a fixed path like "my-cleanup-tasks/".
    path(
        "incidents/",
        include(
            (
                [*workspace_urls.urlpatterns, *after_urls.urlpatterns, *record_urls.urlpatterns],
                "incidents",
            )
        ),
    ),
    path("support/", include("incidents.support.urls")),
    path("api/comms/", include("comms.api_urls")),
    path("api/integrations/", include("oncall.integrations.api_urls")),
    path(
        "api/",
        include(
            [
                *support_api_urls.urlpatterns,
                *workspace_api_urls.urlpatterns,
                *after_api_urls.urlpatterns,
                *record_api_urls.urlpatterns,
            ]
        ),
    ),
    path("oncall/integrations/", include("oncall.integrations.urls")),
    path("oncall/", include("oncall.urls")),
    path("integrations/", include(integration_urls.receiving)),
    # PagerDuty's path, so a tool that pages PagerDuty only changes the host.
    path("v2/enqueue", alert_receivers.PagerDutyEnqueueApi.as_view(), name="pagerduty_enqueue"),
    path("v2/enqueue/", alert_receivers.PagerDutyEnqueueSlashApi.as_view()),
    path(
        "v2/change/enqueue",
        alert_receivers.PagerDutyChangeApi.as_view(),
        name="pagerduty_change_enqueue",
    ),
    path("v2/change/enqueue/", alert_receivers.PagerDutyChangeSlashApi.as_view()),
    path("api/oncall/", include("oncall.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # A signed-out browser goes to the login page, not to a bare 401.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="swagger-ui",
    ),
    path("", include("comms.urls")),
    path("new", RedirectView.as_view(pattern_name="incidents:create"), name="new"),
    # Short links last, so they never shadow a real page: /HOT-12 or /hot-12.
    re_path(r"^(?P<key>[A-Za-z][A-Za-z0-9]*-[0-9]+)/?$", incident_views.short_link, name="short"),
]
