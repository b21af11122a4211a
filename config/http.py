"""Request types for the signed-in portal and API, so views type-check what they use."""

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request


class PortalRequest(HttpRequest):
    """Every portal page needs login (LoginRequiredMiddleware), so ``user`` is a User."""

    user: User  # narrowed: never anonymous behind login
    htmx: HtmxDetails


class ApiRequest(Request):
    user: User  # narrowed: the API requires authentication


def redirect_back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """To the form's ``next`` when it is a page of this site (never an open redirect),
    else to ``fallback``."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = fallback
    return redirect(back)


def parse_id(value: str) -> int | None:
    """A positive database id typed into a URL, or None: ASCII digits only ("²" is a
    digit to ``isdigit`` but not to ``int``) and short enough for a bigint."""
    if value.isascii() and value.isdigit() and len(value) < 19 and int(value) > 0:
        return int(value)
    return None
