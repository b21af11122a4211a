"""Request types for the signed-in portal and API, so views type-check what they use."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request


class PortalRequest(HttpRequest):
    """Every portal page needs login (LoginRequiredMiddleware), so ``user`` is a User."""

    user: User  # narrowed: never anonymous behind login
    htmx: HtmxDetails


class ApiRequest(Request):
    user: User  # narrowed: the API requires authentication
