"""The 403, 404 and 500 pages: styled like the rest of the portal (``base.html``), the
403 and 404 ones with the navigation and the reason (the ``PermissionDenied`` or
``Http404`` message), with DEBUG on or off. Under ``/api/`` they answer JSON, as DRF does.

Django renders ``handler403`` with DEBUG on too, but answers a 404 with its debug page
then; ``DebugNotFoundMiddleware`` gives people the real page in development as well.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.translation import gettext


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _message(exception: Exception | None) -> str:
    """The exception's own message: ``Resolver404`` carries a dict of tried patterns,
    which is not a reason to show."""
    message = exception.args[0] if exception is not None and exception.args else ""
    return str(message) if isinstance(message, str | Promise) else ""


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = _message(exception) or gettext("You may not see this page.")
    if _wants_json(request):
        return JsonResponse({"detail": reason}, status=403)
    return render(request, "403.html", {"reason": reason}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = _message(exception)
    if _wants_json(request):
        return JsonResponse({"detail": reason or gettext("Not found.")}, status=404)
    context = {"reason": reason, "request_path": request.path}
    return render(request, "404.html", context, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request: no context processor reads the database or the
    cache, which may be what failed (no navigation, no signed-in user)."""
    if _wants_json(request):
        return JsonResponse({"detail": gettext("Something went wrong on our side.")}, status=500)
    return HttpResponse(render_to_string("500.html"), status=500)


class DebugNotFoundMiddleware:
    """With DEBUG on, Django answers every 404 with its debug page, whatever
    ``handler404`` says: answer with ours instead (a no-op with DEBUG off, where Django
    calls ``handler404`` itself)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No view was found for the path (``resolver_match`` is set once one is): the
        # 404 is the URL resolver's, that is Django's debug page.
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return page_not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
