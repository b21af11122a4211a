"""The generic JSON format, for tools that speak neither Alertmanager nor PagerDuty.

POST a JSON object to ``/integrations/generic/<key>/``::

    {
      "title": "Checkout error rate above 5%",   # required on firing, max 200 characters
      "status": "firing",                        # "firing" (default) or "resolved"
      "dedup_key": "checkout-5xx",               # optional; alerts with the same key
                                                 # group together (default: the title)
      "severity": "critical",                    # optional: critical/error/warning/info
                                                 # (mapped per integration) or 1, 2, 3
      "description": "…",                        # optional text
      "source": "grafana.example.com",           # optional: where it comes from
      "details": {}                              # optional object, kept with the payload
    }

A resolve needs the ``dedup_key`` (or the ``title``) of the alert it resolves.
"""

from __future__ import annotations

from typing import Any

from . import MAX_DEDUP_KEY, MAX_SUMMARY, RESOLVE, TRIGGER, Event, Malformed, text

NAME = "generic"


def parse(body: Any) -> list[Event]:
    if not isinstance(body, dict):
        raise Malformed(["The body must be a JSON object."])
    errors = []
    status = body.get("status", "firing")
    if status not in ("firing", "resolved"):
        errors.append('\'status\' must be "firing" or "resolved".')
    title = body.get("title")
    if title is not None and not isinstance(title, str):
        errors.append("'title' must be a string.")
        title = ""
    title = text(title)
    if len(title) > MAX_SUMMARY:
        errors.append(f"'title' is longer than {MAX_SUMMARY} characters.")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string.")
        dedup_key = ""
    dedup_key = text(dedup_key) or title
    if len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' is longer than {MAX_DEDUP_KEY} characters.")
    if status == "firing" and not title:
        errors.append("'title' is required.")
    elif not dedup_key:
        errors.append("'dedup_key' or 'title' is required to resolve.")
    severity = body.get("severity")
    if severity is not None and not (
        isinstance(severity, str) or (type(severity) is int and severity in (1, 2, 3))
    ):
        errors.append("'severity' must be a label (critical, error, warning, info) or 1, 2, 3.")
    for name in ("description", "source"):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            errors.append(f"'{name}' must be a string.")
    details = body.get("details", {})
    if not isinstance(details, dict):
        errors.append("'details' must be an object.")
    if errors:
        raise Malformed(errors)
    return [
        Event(
            action=TRIGGER if status == "firing" else RESOLVE,
            dedup_key=dedup_key,
            summary=title,
            severity=severity,
            source=text(body.get("source")),
            description=text(body.get("description")),
            details=details,
        )
    ]
