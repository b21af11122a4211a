from django.urls import path

from . import views
from .personal import urls as personal_urls
from .setup import urls as setup_urls

app_name = "oncall"

urlpatterns = [
    path("", views.index, name="index"),
    path("calendar/", views.calendar, name="calendar"),
    path("gaps/", views.gaps, name="gaps"),
    path("contacts/", views.contacts, name="contacts"),
    path("contacts/<int:pk>/remove/", views.contact_remove, name="contact_remove"),
    path("rosters/<slug:slug>/", views.roster_detail, name="roster"),
    path("rosters/<slug:slug>/participants/", views.roster_participants, name="participants"),
    path("rosters/<slug:slug>/overrides/", views.override_add, name="override_add"),
    path(
        "rosters/<slug:slug>/overrides/<int:pk>/remove/",
        views.override_remove,
        name="override_remove",
    ),
    path("ack/<str:token>/", views.acknowledge_link, name="acknowledge_link"),
    path("pages/<int:pk>/acknowledge/", views.page_acknowledge, name="page_acknowledge"),
    path("incidents/<str:key>/page/", views.incident_page, name="incident_page"),
    path("feeds/rosters/<str:token>.ics", views.roster_feed, name="roster_feed"),
    path("feeds/people/<str:token>.ics", views.person_feed, name="person_feed"),
]

urlpatterns += setup_urls.urlpatterns
urlpatterns += personal_urls.urlpatterns
