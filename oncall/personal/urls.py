"""Personal on-call pages, included by ``oncall.urls`` (names in the ``oncall`` namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("rules/", views.rules_page, name="rules"),
    path("rules/<int:pk>/remove/", views.rule_remove, name="rule_remove"),
    path("test-pages/", views.test_page_send, name="test_page_send"),
    path("test-pages/<int:pk>/", views.test_page_detail, name="test_page"),
    path("swaps/", views.swaps_page, name="swaps"),
    path("swaps/<int:pk>/take/", views.swap_take, name="swap_take"),
    path("swaps/<int:pk>/withdraw/", views.swap_withdraw, name="swap_withdraw"),
    path("load/", views.load_report, name="load"),
]
