"""One guard for input the database cannot store or the parser cannot bear: a 400 that
names the field, never a 500.

- A NUL character (``\\x00``) anywhere: PostgreSQL refuses it in text (and ``\\u0000`` in
  jsonb), so a NUL in a slug, a username or a search term, looked up or stored, was a
  ``DataError``. The middleware refuses it in the path, the query, the headers, cookies
  and form fields of every request (the unauthenticated ones included); the API's
  parsers refuse it in any JSON string or key and in form fields DRF parses itself
  (PUT and PATCH); ``load_json`` does the same for the alert receivers' raw bodies.
- JSON nested deeper than ``MAX_JSON_DEPTH``: Python's decoder recurses once a level, so
  50,000 levels were a ``RecursionError``; anything past a hundred levels is no payload
  any of our endpoints expects, and is refused before a serializer walks it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

NUL = "\x00"
MAX_JSON_DEPTH = 100
# Lazy: read in the language of the request that meets them.
NUL_MESSAGE = _("Null characters are not allowed.")
DEPTH_MESSAGE = _("JSON nested too deeply.")
# Answered in JSON (else plain text): the API, the alert receivers, PagerDuty's path.
JSON_PREFIXES = ("/api/", "/integrations/", "/v2/")


class InputRefused(ValueError):
    """The input cannot be taken; ``field`` names where it is at fault, if anywhere."""

    def __init__(self, message: str | Promise, *, field: str | None = None) -> None:
        # Read now: raised while a request is served, in that request's language.
        self.message = str(message)
        super().__init__(f"{field}: {self.message}" if field else self.message)
        self.field = field


def shown(name: str) -> str:
    """A name as an error may show it: a NUL in the name itself, escaped."""
    return name.replace(NUL, "\\u0000")


def check_json(data: Any) -> None:
    """Refuse a NUL in any string or key, or nesting past ``MAX_JSON_DEPTH``. The field
    named is the top-level key the fault is under (the serializer's field). Iterative, so
    it never recurses itself."""
    stack: list[tuple[Any, int, str | None]] = [(data, 1, None)]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_JSON_DEPTH:
                raise InputRefused(DEPTH_MESSAGE)
            for key, item in value.items():
                name = field if field is not None else shown(str(key))
                if isinstance(key, str) and NUL in key:
                    raise InputRefused(NUL_MESSAGE, field=name)
                stack.append((item, depth + 1, name))
        elif isinstance(value, list):
            if depth > MAX_JSON_DEPTH:
                raise InputRefused(DEPTH_MESSAGE)
            stack.extend((item, depth + 1, field) for item in value)
        elif isinstance(value, str) and NUL in value:
            raise InputRefused(NUL_MESSAGE, field=field)


def load_json(raw: bytes | str) -> Any:
    """``json.loads`` for raw bodies, refusing what ``check_json`` refuses; a body that is
    not JSON still raises ``ValueError`` (``InputRefused`` is one too)."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise InputRefused(DEPTH_MESSAGE) from None
    check_json(data)
    return data


def check_fields(fields: Mapping[str, Any]) -> None:
    """Refuse a NUL in a form field's name or any of its values (a QueryDict's lists)."""
    for key in fields:
        values = fields.getlist(key) if hasattr(fields, "getlist") else [fields[key]]
        if NUL in key or any(isinstance(value, str) and NUL in value for value in values):
            raise InputRefused(NUL_MESSAGE, field=shown(key))


# The API ------------------------------------------------------------------------------


def _api_error(refused: InputRefused) -> Exception:
    # DRF's shapes: {"field": ["..."]} when a field is at fault, else {"detail": "..."}.
    if refused.field is None:
        return ParseError(refused.message)
    return ValidationError({refused.field: [refused.message]})


def _guarded(parse: Callable[[], Any], check: Callable[[Any], None]) -> Any:
    try:
        data = parse()
    except RecursionError:
        raise ParseError(DEPTH_MESSAGE) from None
    try:
        check(data)
    except InputRefused as refused:
        raise _api_error(refused) from None
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return _guarded(lambda: self._decode(stream, media_type, parser_context), check_json)

    def _decode(self, stream: Any, media_type: Any, parser_context: Any) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError as error:
            # DRF words a body that is no JSON in English only; the decoder's own detail
            # (where the JSON breaks) is quoted as it is.
            cause = error.__context__
            if not isinstance(cause, ValueError):
                raise
            raise ParseError(
                gettext("The body is not valid JSON: %(error)s.") % {"error": cause}
            ) from None


class FormParser(parsers.FormParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return _guarded(
            lambda: super(FormParser, self).parse(stream, media_type, parser_context), check_fields
        )


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        def check(parsed: Any) -> None:
            check_fields(parsed.data)
            check_fields(parsed.files)

        return _guarded(
            lambda: super(MultiPartParser, self).parse(stream, media_type, parser_context), check
        )


# Every request ------------------------------------------------------------------------


def _is_form(request: HttpRequest) -> bool:
    return request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    )


def _problem(request: HttpRequest) -> tuple[str, str] | None:
    """Where a NUL is, as (kind, name), or None."""
    if NUL in request.path_info or NUL in request.path:
        return "path", ""
    parts: Iterable[tuple[str, Mapping[str, Any]]] = (
        ("header", dict(request.headers)),
        ("cookie", request.COOKIES),
        ("query", request.GET),
    )
    for kind, fields in parts:
        try:
            check_fields(fields)
        except InputRefused as refused:
            return kind, refused.field or ""
    if _is_form(request):
        try:
            check_fields(request.POST)
        except InputRefused as refused:
            return "form", refused.field or ""
    return None


_REFUSALS = {
    "path": _("Null characters are not allowed in the path."),
    "header": _("Null characters are not allowed in the header “%(name)s”."),
    "cookie": _("Null characters are not allowed in the cookie “%(name)s”."),
    "query": _("Null characters are not allowed in the query parameter “%(name)s”."),
    "form": _("Null characters are not allowed in the field “%(name)s”."),
}


def _refuse(request: HttpRequest, kind: str, name: str) -> HttpResponse:
    # This runs before the session and the person's own language are known (a NUL may
    # be in the session cookie itself): the browser's language it is.
    with translation.override(translation.get_language_from_request(request)):
        return _refusal(request, kind, name)


def _refusal(request: HttpRequest, kind: str, name: str) -> HttpResponse:
    message = str(_REFUSALS[kind]) if kind == "path" else _REFUSALS[kind] % {"name": name}
    if not (request.path_info.startswith(JSON_PREFIXES) or "json" in (request.content_type or "")):
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
    # The API's shapes: a form field is named as DRF names it, the rest in "detail".
    body: dict[str, object] = {name: [str(NUL_MESSAGE)]} if kind == "form" else {"detail": message}
    return JsonResponse(body, status=400)


class InputGuardMiddleware:
    """First in MIDDLEWARE: nothing (static files, sessions, tokens, views) sees a NUL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = _problem(request)
        if problem is not None:
            return _refuse(request, *problem)
        return self.get_response(request)
