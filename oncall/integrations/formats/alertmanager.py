"""Prometheus Alertmanager's webhook receiver, payload ``version: "4"``.

One delivery is one alert group as Alertmanager grouped it: its ``groupKey`` is our
dedup key, its ``status`` (firing while any alert fires, resolved when all are) the
action. The impact started at the group's earliest ``startsAt`` and, once resolved,
ended at its latest ``endsAt``: a delivery arrives later by ``group_wait`` or
``group_interval``. Every alert's labels, annotations and ``generatorURL`` are kept for
the alert group's page. See https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
"""

from __future__ import annotations

from typing import Any

from . import (
    MAX_SUMMARY,
    RESOLVE,
    TRIGGER,
    Event,
    Malformed,
    bounded_context,
    clip,
    fitted_key,
    real_time,
    text,
    web_url,
)

NAME = "alertmanager"

# Worst first, so a group with one critical alert is critical.
_RANK = {"critical": 0, "error": 1, "warning": 2, "info": 3}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse(body: Any) -> list[Event]:
    if not isinstance(body, dict):
        raise Malformed(["The body must be a JSON object."])
    errors = []
    if body.get("version") != "4":
        errors.append("'version' must be \"4\" (Alertmanager webhook payload version 4).")
    group_key = text(body.get("groupKey"))
    if not group_key:
        errors.append("'groupKey' is missing.")
    status = body.get("status")
    if status not in ("firing", "resolved"):
        errors.append('\'status\' must be "firing" or "resolved".')
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        errors.append("'alerts' must be a list of objects.")
        alerts = []
    for name in ("commonLabels", "commonAnnotations", "groupLabels"):
        if not isinstance(body.get(name, {}), dict):
            errors.append(f"'{name}' must be an object.")
    if errors:
        raise Malformed(errors)

    labels: dict[str, Any] = body.get("commonLabels") or {}
    annotations: dict[str, Any] = body.get("commonAnnotations") or {}
    firing = [a for a in alerts if a.get("status") == "firing"] or alerts
    severities = [
        text((a.get("labels") or {}).get("severity")).lower()
        for a in firing
        if isinstance(a.get("labels"), dict)
    ]
    known = sorted((s for s in severities if s in _RANK), key=_RANK.__getitem__)
    severity = known[0] if known else text(labels.get("severity")) or None
    first: dict[str, Any] = alerts[0] if alerts else {}
    first_labels: dict[str, Any] = _object(first.get("labels"))
    first_annotations: dict[str, Any] = _object(first.get("annotations"))
    summary = (
        text(annotations.get("summary"))
        or text(first_annotations.get("summary"))
        or text(labels.get("alertname"))
        or text(first_labels.get("alertname"))
        or "Alert from Alertmanager"
    )
    description = text(annotations.get("description")) or text(first_annotations.get("description"))
    starts = [t for a in alerts if (t := real_time(a.get("startsAt"))) is not None]
    ends = [t for a in alerts if (t := real_time(a.get("endsAt"))) is not None]
    return [
        Event(
            action=TRIGGER if status == "firing" else RESOLVE,
            dedup_key=fitted_key(group_key),
            summary=clip(summary, MAX_SUMMARY),
            severity=severity,
            source=text(body.get("externalURL")),
            description=description,
            details={"alerts": len(alerts), "firing": len(firing) if status == "firing" else 0},
            started_at=min(starts).isoformat() if starts else "",
            # A firing alert's endsAt is Alertmanager's resolve timeout, not an end.
            ended_at=max(ends).isoformat() if ends and status == "resolved" else "",
            context=bounded_context(_context(body, alerts)),
        )
    ]


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _context(body: dict[str, Any], alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "alerts": [
            {
                "status": text(alert.get("status")),
                "labels": _strings(alert.get("labels")),
                "annotations": _strings(alert.get("annotations")),
                "starts_at": text(alert.get("startsAt")),
                "ends_at": text(alert.get("endsAt"))
                if alert.get("status") == "resolved" and real_time(alert.get("endsAt"))
                else "",
                "generator_url": web_url(alert.get("generatorURL")),
            }
            for alert in alerts
        ],
        "external_url": web_url(body.get("externalURL")),
    }
