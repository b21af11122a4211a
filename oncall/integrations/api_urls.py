from django.urls import path

from . import api

urlpatterns = [
    path("", api.IntegrationListApi.as_view(), name="api-integrations"),
    path("<int:pk>/", api.IntegrationDetailApi.as_view(), name="api-integration"),
    path("<int:pk>/rotate/", api.IntegrationRotateApi.as_view(), name="api-integration-rotate"),
]
