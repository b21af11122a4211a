"""API errors in one shape: 400 names the field, 409 says who was first."""

from typing import Any

from django.db.models import ProtectedError
from django.utils.translation import gettext
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from incidents.actions import ActionRefused


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ActionRefused):
        body: dict[str, object] = (
            {exc.field: [exc.message]} if exc.field else {"detail": exc.message}
        )
        return Response(body, status=exc.status_code)
    if isinstance(exc, ProtectedError):
        return Response(
            {"detail": gettext("Still in use by incidents; it cannot be deleted.")},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
