from django.urls import path

from . import views

app_name = "integrations"

# Admin pages, under the on-call area (/oncall/integrations/).
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/rotate/", views.rotate, name="rotate"),
    path("<int:pk>/pause/", views.pause, name="pause"),
    path("<int:pk>/test/", views.test_alert, name="test"),
]

# Where tools send, under /integrations/ (no login: the key authenticates).
receiving = (
    [
        path("alertmanager/<str:key>/", views.alertmanager_webhook, name="alertmanager"),
        path("generic/<str:key>/", views.generic_webhook, name="generic"),
    ],
    "integrations_in",
)
