from django.urls import path

from incidents.support import api

urlpatterns = [
    path("cases/", api.CaseListUpsertApi.as_view(), name="api-cases"),
    path(
        "incidents/<str:key>/cases/",
        api.IncidentCasesApi.as_view(),
        name="api-incident-cases",
    ),
]
