"""Personal on-call API, included by ``oncall.api_urls`` under /api/oncall/."""

from django.urls import path

from . import api

urlpatterns = [
    path("rules/", api.RuleListApi.as_view(), name="api-oncall-rules"),
    path("rules/<int:pk>/", api.RuleDeleteApi.as_view(), name="api-oncall-rule"),
    path("test-pages/", api.TestPageSendApi.as_view(), name="api-oncall-test-pages"),
    path("test-pages/<int:pk>/", api.TestPageDetailApi.as_view(), name="api-oncall-test-page"),
    path("swaps/", api.SwapListApi.as_view(), name="api-oncall-swaps"),
    path("swaps/<int:pk>/take/", api.SwapTakeApi.as_view(), name="api-oncall-swap-take"),
    path(
        "swaps/<int:pk>/withdraw/", api.SwapWithdrawApi.as_view(), name="api-oncall-swap-withdraw"
    ),
    path("load/", api.LoadReportApi.as_view(), name="api-oncall-load"),
]
