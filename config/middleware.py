import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from incidents.models import Preferences


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class PreferencesMiddleware:
    """Speak to each person in their chosen language and time zone.

    Runs after ``LocaleMiddleware`` (which follows the browser) and authentication: a
    signed-in person's own language wins over the browser's. Their time zone wins over
    the one the browser reports in the ``tz`` cookie; without either, the portal's. The
    preferences come with the user in one query (``config.auth``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        preferences: Preferences | None = None
        if request.user.is_authenticated:
            preferences = getattr(request.user, "preferences", None)
        if preferences is not None and preferences.language:
            translation.activate(preferences.language)
            request.LANGUAGE_CODE = preferences.language
        zone = _zone(preferences.time_zone if preferences else "") or _zone(
            request.COOKIES.get("tz", "")
        )
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        return self.get_response(request)
