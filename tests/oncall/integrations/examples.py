"""Payloads from the tools' own documentation."""

import copy


def alertmanager(status="firing", group_key='{}:{alertname="HighErrorRate"}', severity="critical"):
    """Alertmanager's webhook_config example (payload version 4)."""
    return copy.deepcopy(
        {
            "version": "4",
            "groupKey": group_key,
            "truncatedAlerts": 0,
            "status": status,
            "receiver": "hotline",
            "groupLabels": {"alertname": "HighErrorRate"},
            "commonLabels": {"alertname": "HighErrorRate", "severity": severity, "job": "checkout"},
            "commonAnnotations": {
                "summary": "High request error rate on checkout",
                "description": "5xx above 5% for 10 minutes.",
            },
            "externalURL": "http://alertmanager.example.com:9093",
            "alerts": [
                {
                    "status": status,
                    "labels": {
                        "alertname": "HighErrorRate",
                        "severity": severity,
                        "instance": "checkout-1:9100",
                    },
                    "annotations": {"summary": "High request error rate on checkout"},
                    "startsAt": "2026-03-02T09:55:00Z",
                    "endsAt": "0001-01-01T00:00:00Z"
                    if status == "firing"
                    else "2026-03-02T10:30:00Z",
                    "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up",
                    "fingerprint": "c4ee9a2c5cd2a4b5",
                }
            ],
        }
    )


def pagerduty(routing_key, action="trigger", dedup_key="srv01/mysql", severity="critical"):
    """PagerDuty Events API v2's trigger example."""
    event = {
        "payload": {
            "summary": "DISK at 99% on machine prod-datapipe03.example.com",
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "severity": severity,
            "source": "prod-datapipe03.example.com",
            "component": "mysql",
            "group": "prod-datapipe",
            "class": "disk",
            "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75},
        },
        "routing_key": routing_key,
        "event_action": action,
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.service.com",
    }
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    if action != "trigger":
        event.pop("payload")
    return event


def event(dedup_key="srv01/mysql"):
    """A parsed trigger, as the formats make them."""
    from oncall.integrations.formats import TRIGGER, Event

    return Event(action=TRIGGER, dedup_key=dedup_key, summary="Disk full", severity="critical")
